package org.vhdkit.stack.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real guest's worker process may stop or resume its guest by itself (a guest or qemu pausing, a
 * {@code stop} typed on its monitor): the VM's state follows, so that a user is never told Running
 * while the guest stands still. A worker process that reports as qemu does, its STOP and RESUME
 * events, stands in for qemu.
 */
class WorkerProcessRunStateTest {
    @TempDir
    Path dir;

    private final AtomicReference<WorkerProcess.ExitListener> listener = new AtomicReference<>();
    private final ReportingProcess process = new ReportingProcess();
    private Hypervisor hypervisor;
    private VirtualMachine vm;

    /** Reports each pause and resume as qemu does (its event before the command's answer). */
    private final class ReportingProcess implements WorkerProcess {
        volatile boolean stopsAgainOnResume;

        @Override
        public void pause() {
            listener.get().ranOrStopped(this, false);
        }

        @Override
        public void resume() {
            listener.get().ranOrStopped(this, true);
            if (stopsAgainOnResume) {
                listener.get().ranOrStopped(this, false);
            }
        }

        @Override
        public void powerButton() {
        }

        @Override
        public void saveTo(Path file, Duration timeout) throws IOException {
            throw new IOException("not saved in this test");
        }

        @Override
        public void close() {
        }
    }

    @BeforeEach
    void setUp() throws Exception {
        hypervisor = Hypervisor.open(dir.resolve("vms"), HypervisorOptions.defaults().withWorkerLauncher(
                (config, folder, saved, exits) -> {
                    listener.set(exits);
                    return process;
                }));
        vm = hypervisor.create(VmConfiguration.create("real", 64L << 20, 1).withEngine(GuestEngine.qemu()
                .withKernel(dir.resolve("vmlinux"))));
        vm.start(guest -> { });
        assertEquals(VmState.RUNNING, vm.state());
    }

    @AfterEach
    void tearDown() {
        hypervisor.close();
    }

    @Test
    void aGuestStoppedByItsProcessIsPausedAndResumesFromThere() throws Exception {
        listener.get().ranOrStopped(process, false);
        assertEquals(VmState.PAUSED, vm.state(), "qemu stopped the guest: the VM is not Running");
        assertThrows(VmStateException.class, vm::pause, "a paused VM is not paused again");
        vm.resume();
        assertEquals(VmState.RUNNING, vm.state());

        vm.pause();
        assertEquals(VmState.PAUSED, vm.state());
        listener.get().ranOrStopped(process, true);
        assertEquals(VmState.RUNNING, vm.state(), "qemu let the guest run on: the VM is Running");
    }

    @Test
    void anOperationEndsInTheStateTheProcessReportedLast() throws Exception {
        vm.pause();
        process.stopsAgainOnResume = true; // stopped again (by the guest, say) right after the resume
        vm.resume();
        assertEquals(VmState.PAUSED, vm.state());
    }

    @Test
    void reportsOfAnEndedRunChangeNothing() throws Exception {
        vm.turnOff();
        listener.get().ranOrStopped(process, true);
        assertEquals(VmState.OFF, vm.state());
    }
}
