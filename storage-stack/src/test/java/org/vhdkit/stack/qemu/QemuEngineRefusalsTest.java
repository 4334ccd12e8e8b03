package org.vhdkit.stack.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
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
 * What the qemu engine refuses, and how it cleans up, without booting a guest: a qemu that is
 * missing or ends at once, a qemu left running by a host that died, and changes asked of a VM that
 * is not running a real guest. Each refusal says what is wrong; none leaves a disk held.
 */
class QemuEngineRefusalsTest {
    private static final GuestProgram UNUSED = guest -> { };

    @TempDir
    Path dir;

    private Hypervisor hypervisor;

    @BeforeEach
    void open() throws IOException {
        hypervisor = Hypervisor.open(dir.resolve("vms"),
                HypervisorOptions.defaults().withWorkerLauncher(QemuEngine.create()));
    }

    @AfterEach
    void close() {
        System.clearProperty("vhdkit.qemu");
        hypervisor.close();
    }

    private VirtualMachine realGuest(String name, Path ide, Path scsi) throws IOException {
        VmConfiguration config = VmConfiguration.create(name, 128L << 20, 1)
                .withEngine(GuestEngine.qemu().withAccel(GuestEngine.Accelerator.TCG))
                .withAttachment(Attachment.disk(Slot.ide(0, 0), ide))
                .withAttachment(Attachment.disk(Slot.scsi(0, 0), scsi));
        return hypervisor.create(config);
    }

    private Path vhd(String name) throws IOException {
        Path p = dir.resolve(name);
        Vhd.create(p, CreateOptions.dynamic(8L << 20)).close();
        return p;
    }

    private Path script(String name, String body) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, "#!/bin/sh\n" + body + "\n", StandardCharsets.US_ASCII);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwx------"));
        return p;
    }

    @Test
    void aQemuThatEndsAtOnceLeavesTheVmOffWithQemusReasonAndItsDisksFree() throws Exception {
        Path ide = vhd("ide.vhd");
        Path scsi = vhd("scsi.vhd");
        VirtualMachine vm = realGuest("ends-at-once", ide, scsi);
        System.setProperty("vhdkit.qemu", script("qemu", "echo 'qemu-system-x86_64: no usable accelerator' >&2; exit 3")
                .toString());

        VmException e = assertThrows(VmException.class, () -> vm.start(UNUSED));
        assertTrue(e.getMessage().contains("qemu exited at once (status 3)"), e.getMessage());
        assertTrue(e.getMessage().contains("no usable accelerator"), "qemu's own words: " + e.getMessage());
        assertEquals(VmState.OFF, vm.state());
        for (Path p : List.of(ide, scsi)) {
            try (VhdDisk d = Vhd.open(p, OpenOptions.READ_WRITE)) {
                assertFalse(d.isReadOnly(), p + " is no longer held");
            }
        }
        assertFalse(Files.exists(vm.folder().resolve(QemuEngine.PID_FILE)), "no pid of a qemu that is gone");
        assertFalse(Files.exists(vm.folder().resolve(QemuEngine.CONSOLE_LINK)));
        assertTrue(Files.readString(vm.folder().resolve(QemuEngine.QEMU_LOG)).contains("-machine"),
                "qemu.log has the command line");
    }

    @Test
    void aQemuNamedByThePropertyThatIsNoProgramIsRefused() throws Exception {
        VirtualMachine vm = realGuest("no-program", vhd("a.vhd"), vhd("b.vhd"));
        System.setProperty("vhdkit.qemu", dir.resolve("missing-qemu").toString());
        VmException e = assertThrows(VmException.class, () -> vm.start(UNUSED));
        assertTrue(e.getMessage().contains("(the system property vhdkit.qemu) is not an executable file"),
                e.getMessage());
        assertEquals(VmState.OFF, vm.state());
    }

    @Test
    void withoutQemuOnPathTheRefusalNamesTheDebianPackage() throws Exception {
        IOException e = assertThrows(IOException.class, () -> QemuEngine.onPath(dir + ":" + dir.resolve("none")));
        assertTrue(e.getMessage().contains("install Debian's package qemu-system-x86"), e.getMessage());
        Path bin = Files.createDirectory(dir.resolve("bin"));
        Path qemu = bin.resolve(QemuEngine.PROGRAM);
        Files.copy(script("q", "exit 0"), qemu);
        Files.setPosixFilePermissions(qemu, PosixFilePermissions.fromString("rwx------"));
        assertEquals(qemu, QemuEngine.onPath(":" + dir.resolve("none") + ":" + bin));
    }

    @Test
    void theAcceleratorIsWhatTheUserAskedFor() {
        assertTrue(QemuEngine.kvm(GuestEngine.Accelerator.KVM));
        assertFalse(QemuEngine.kvm(GuestEngine.Accelerator.TCG));
    }

    @Test
    void aQemuLeftRunningByADeadHostIsEndedAndNothingElseIs() throws Exception {
        ExternalTools.assumeAvailable("python3");
        VmConfiguration config = VmConfiguration.create("stale", 128L << 20, 1).withEngine(GuestEngine.qemu());
        Path folder = Files.createDirectory(dir.resolve("folder"));
        Path pidFile = folder.resolve(QemuEngine.PID_FILE);

        // A pid file that is not a number is dropped.
        Files.writeString(pidFile, "garbage\n");
        QemuEngine.endStaleWorker(folder, config);
        assertFalse(Files.exists(pidFile));

        // Another program at the recorded pid is left alone.
        Files.writeString(pidFile, ProcessHandle.current().pid() + "\n");
        QemuEngine.endStaleWorker(folder, config);
        assertFalse(Files.exists(pidFile));

        // A process named after this VM (as qemu's -name vhdkit-ID) is ended.
        Process stale = new ProcessBuilder("python3", "-c", "import time; time.sleep(120)", "vhdkit-" + config.id())
                .start();
        try {
            Files.writeString(pidFile, stale.pid() + "\n");
            QemuEngine.endStaleWorker(folder, config);
            assertTrue(stale.waitFor(10, TimeUnit.SECONDS), "the stale worker was ended");
            assertFalse(Files.exists(pidFile));
        } finally {
            stale.destroyForcibly();
        }
        QemuEngine.endStaleWorker(folder, config); // nothing recorded: nothing to do
    }

    @Test
    void aVmThatRunsNoRealGuestHasNoConsoleAndTakesNoHotPlug() throws Exception {
        Path scsi = vhd("s.vhd");
        VirtualMachine vm = realGuest("off", vhd("i.vhd"), scsi);
        IOException none = assertThrows(IOException.class, () -> QemuEngine.consoleSocket(vm.folder()));
        assertTrue(none.getMessage().contains("no console: the VM is not running a real guest"), none.getMessage());
        IOException refused = assertThrows(IOException.class,
                () -> QemuEngine.connectConsoleSocket(dir.resolve("gone.sock")));
        assertTrue(refused.getMessage().contains("cannot connect to the console"), refused.getMessage());

        Attachment more = Attachment.disk(Slot.scsi(0, 1), vhd("more.vhd"));
        assertRefused("it is Off, not running a real guest", () -> QemuEngine.hotAdd(vm, more));
        assertRefused("only SCSI slots take disks while the VM runs",
                () -> QemuEngine.hotAdd(vm, Attachment.disk(Slot.ide(0, 1), vhd("ide2.vhd"))));
        assertRefused("it is Off, not running a real guest", () -> QemuEngine.hotRemove(vm, Slot.scsi(0, 0)));
        assertRefused("it is Off, not running a real guest",
                () -> QemuEngine.changeMedium(vm, Slot.ide(1, 0), null));
        assertEquals(List.of(Slot.ide(0, 0), Slot.scsi(0, 0)),
                vm.configuration().attachments().stream().map(Attachment::slot).toList(), "nothing recorded");
    }

    private interface Call {
        void run() throws Exception;
    }

    private static void assertRefused(String why, Call call) {
        VmException e = assertThrows(VmException.class, call::run);
        assertTrue(e.getMessage().contains(why), e.getMessage());
    }
}
