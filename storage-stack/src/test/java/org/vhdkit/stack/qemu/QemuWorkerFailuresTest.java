package org.vhdkit.stack.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.partition.GuestProgram;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.GuestEngine;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.HypervisorOptions;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmConfiguration;
import org.vhdkit.stack.vm.VmException;
import org.vhdkit.stack.vm.VmState;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.testing.ExternalTools;

/**
 * The engine's answers when qemu itself fails a save, a load or a quit, shown with a stand-in qemu
 * ({@code fake-qemu.py}, which speaks QMP and runs no guest) so that each failure happens on
 * purpose: the user gets qemu's reason, the VM is left in a state it really is in, and no disk stays
 * held.
 */
class QemuWorkerFailuresTest {
    private static final GuestProgram UNUSED = guest -> { };

    @TempDir
    Path dir;

    private Hypervisor hypervisor;
    private Path disk;

    @BeforeEach
    void open() throws IOException {
        ExternalTools.assumeAvailable("python3");
        hypervisor = Hypervisor.open(dir.resolve("vms"), HypervisorOptions.defaults()
                .withWorkerLauncher(QemuEngine.create()).withDeviceTimeout(Duration.ofSeconds(2)));
        disk = dir.resolve("data.vhd");
        Vhd.create(disk, CreateOptions.dynamic(8L << 20)).close();
    }

    @AfterEach
    void close() {
        if (hypervisor != null) {
            hypervisor.close();
        }
        System.clearProperty("vhdkit.qemu");
    }

    /** Makes the engine start the stand-in qemu playing {@code scenario}. */
    private void qemu(String scenario) throws IOException {
        Path fake = dir.resolve("fake-qemu.py");
        if (!Files.exists(fake)) {
            try (InputStream in = QemuWorkerFailuresTest.class.getResourceAsStream("fake-qemu.py")) {
                Files.copy(in, fake);
            }
        }
        Path wrapper = dir.resolve("qemu-" + scenario);
        Files.writeString(wrapper, "#!/bin/sh\nexec python3 '" + fake + "' " + scenario + " \"$@\"\n",
                StandardCharsets.US_ASCII);
        Files.setPosixFilePermissions(wrapper, PosixFilePermissions.fromString("rwx------"));
        System.setProperty("vhdkit.qemu", wrapper.toString());
    }

    private VirtualMachine vm(String name) throws IOException {
        return hypervisor.create(VmConfiguration.create(name, 128L << 20, 1)
                .withEngine(GuestEngine.qemu().withAccel(GuestEngine.Accelerator.TCG))
                .withAttachment(Attachment.disk(Slot.scsi(0, 0), disk)));
    }

    private void assertDiskFree() throws IOException {
        try (VhdDisk d = Vhd.open(disk, OpenOptions.READ_WRITE)) {
            assertFalse(d.isReadOnly());
        }
    }

    @Test
    void aSaveQemuFailsNamesQemusReasonAndTheVmRunsOn() throws Exception {
        qemu("save-fails");
        VirtualMachine vm = vm("save-fails");
        vm.start(UNUSED);
        VmException e = assertThrows(VmException.class, vm::save);
        assertTrue(e.getMessage().contains("qemu's migration failed: fake-qemu: the save-fails scenario"),
                e.getMessage());
        assertEquals(VmState.RUNNING, vm.state(), "a failed save resumes the guest");
        assertFalse(Files.exists(vm.folder().resolve("machine-state.bin")), "no partial saved state");
        vm.turnOff();
        assertDiskFree();
    }

    @Test
    void aSaveThatDoesNotEndInTimeIsCancelledAndTheVmRunsOn() throws Exception {
        qemu("save-hangs");
        VirtualMachine vm = vm("save-hangs");
        vm.start(UNUSED);
        VmException e = assertThrows(VmException.class, vm::save);
        assertTrue(e.getMessage().contains("qemu did not finish in time"), e.getMessage());
        assertEquals(VmState.RUNNING, vm.state());
        vm.turnOff();
        assertEquals(VmState.OFF, vm.state());
        assertDiskFree();
    }

    @Test
    void aSavedStateQemuCannotLoadLeavesTheVmSaved() throws Exception {
        qemu("ok");
        VirtualMachine vm = vm("load-fails");
        vm.start(UNUSED);
        vm.save();
        assertEquals(VmState.SAVED, vm.state());
        assertDiskFree();

        qemu("load-fails");
        VmException e = assertThrows(VmException.class, () -> vm.start(UNUSED));
        assertTrue(e.getMessage().contains("qemu could not load the saved state"), e.getMessage());
        assertEquals(VmState.SAVED, vm.state(), "the saved state is kept for another try");
        assertDiskFree();

        qemu("ok");
        vm.start(UNUSED);
        assertEquals(VmState.RUNNING, vm.state());
        vm.turnOff();
    }

    @Test
    void aQemuThatIgnoresQuitIsKilledAndTheVmTurnsOff() throws Exception {
        qemu("ignores-quit");
        VirtualMachine vm = vm("ignores-quit");
        vm.start(UNUSED);
        vm.turnOff();
        assertEquals(VmState.OFF, vm.state());
        assertFalse(Files.exists(vm.folder().resolve(QemuEngine.PID_FILE)));
        assertDiskFree();
    }
}
