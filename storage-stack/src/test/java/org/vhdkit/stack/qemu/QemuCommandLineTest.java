package org.vhdkit.stack.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.GuestEngine;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VmConfiguration;

/** The qemu command line a real guest gets: what qemu may open, and how the configuration maps onto it. */
class QemuCommandLineTest {
    @TempDir
    Path dir;

    private final Path run = Path.of("/run/vhdkit-vm-1");

    private VmConfiguration config() {
        return VmConfiguration.create("web", 512L << 20, 2)
                .withEngine(GuestEngine.qemu().withAccel(GuestEngine.Accelerator.TCG))
                .withAttachment(Attachment.disk(Slot.ide(0, 0), Path.of("/vms/boot.vhd")))
                .withAttachment(Attachment.dvd(Slot.ide(1, 0), Path.of("/isos/install.iso")))
                .withAttachment(Attachment.disk(Slot.scsi(2, 5), Path.of("/vms/data.vhd")))
                .withBootOrder(List.of(Slot.ide(1, 0), Slot.ide(0, 0)));
    }

    private List<String> words(VmConfiguration c, boolean incoming) {
        List<ServedStorage.IdeDrive> ide = List.of(
                new ServedStorage.IdeDrive(Slot.ide(0, 0), false, Optional.of(run.resolve("ide0-0.0.sock"))),
                new ServedStorage.IdeDrive(Slot.ide(1, 0), true, Optional.of(run.resolve("ide1-0.1.sock"))));
        List<ServedStorage.ScsiController> scsi = List.of(new ServedStorage.ScsiController(2, run.resolve("scsi2.sock")));
        return new QemuCommandLine(Path.of("/usr/bin/qemu-system-x86_64"), c, false, run,
                Path.of("/vms/web, the VM/console.log"), ide, scsi, incoming).words();
    }

    @Test
    void qemuIsGivenSocketsNeverTheDiskFiles() {
        String line = String.join(" ", words(config(), false));
        for (String file : List.of("boot.vhd", "install.iso", "data.vhd")) {
            assertFalse(line.contains(file), "qemu must not open " + file + " itself: " + line);
        }
        assertTrue(line.contains("-blockdev driver=nbd,node-name=ide0-0,server.type=unix,server.path="
                + run.resolve("ide0-0.0.sock") + ",export=disk "), line);
        assertTrue(line.contains("server.path=" + run.resolve("ide1-0.1.sock") + ",export=disk,read-only=on"),
                "a DVD's medium is read-only: " + line);
        assertTrue(line.contains("-device vhost-user-scsi-pci,id=scsi2,chardev=vhost-scsi2"), line);
    }

    @Test
    void bootOrderBecomesBootIndexAndMachineIsPcWithSharedMemory() {
        List<String> w = words(config(), false);
        assertTrue(w.contains("ide-cd,id=ide1-0,bus=ide.1,unit=0,drive=ide1-0,bootindex=0"), w.toString());
        assertTrue(w.contains("ide-hd,id=ide0-0,bus=ide.0,unit=0,drive=ide0-0,bootindex=1"), w.toString());
        assertTrue(w.contains("pc,memory-backend=ram"), w.toString());
        assertTrue(w.contains("memory-backend-memfd,id=ram,share=on,size=512M"), "vhost-user needs shared memory");
        assertEquals("tcg", w.get(w.indexOf("-accel") + 1));
        assertEquals("2", w.get(w.indexOf("-smp") + 1));
        assertTrue(w.contains("-S"), "the guest starts paused until the VM lets it run");
        assertFalse(w.contains("-incoming"));
        assertTrue(words(config(), true).containsAll(List.of("-incoming", "defer")));
        assertTrue(String.join(" ", w).contains("logfile=/vms/web,, the VM/console.log,logappend=on"),
                "a comma in a path is doubled for qemu's option syntax");
    }

    @Test
    void directKernelBootPassesKernelInitrdAndCommandLine() {
        VmConfiguration c = config().withEngine(GuestEngine.qemu().withKernel(Path.of("/boot/vmlinuz"))
                .withInitrd(Path.of("/boot/initrd.img")).withAppend("console=ttyS0 quiet"));
        List<String> w = words(c, false);
        assertEquals("/boot/vmlinuz", w.get(w.indexOf("-kernel") + 1));
        assertEquals("/boot/initrd.img", w.get(w.indexOf("-initrd") + 1));
        assertEquals("console=ttyS0 quiet", w.get(w.indexOf("-append") + 1));
    }

    @Test
    void missingQemuNamesTheDebianPackage() throws IOException {
        IOException e = assertThrows(IOException.class, () -> QemuEngine.onPath(dir.toString()));
        assertTrue(e.getMessage().contains("qemu-system-x86_64 was not found on PATH")
                && e.getMessage().contains("qemu-system-x86"), e.getMessage());
    }

    @Test
    void aStartEndsTheQemuADeadHostLeftForTheVmAndNothingElse() throws Exception {
        VmConfiguration c = config();
        // Named in its arguments, as qemu's "-name vhdkit-ID" is.
        // (a loop of short sleeps: what it leaves behind when killed ends within a second).
        Process stale = new ProcessBuilder("bash", "-c", "while :; do sleep 1; done", "-name", "vhdkit-" + c.id())
                .start();
        Process other = new ProcessBuilder("sleep", "600").start();
        try {
            java.nio.file.Files.writeString(dir.resolve("qemu.pid"), stale.pid() + "\n");
            QemuEngine.endStaleWorker(dir, c);
            assertTrue(stale.waitFor(10, java.util.concurrent.TimeUnit.SECONDS), "the stale qemu is ended");
            assertFalse(java.nio.file.Files.exists(dir.resolve("qemu.pid")));

            java.nio.file.Files.writeString(dir.resolve("qemu.pid"), other.pid() + "\n");
            QemuEngine.endStaleWorker(dir, c);
            assertTrue(other.isAlive(), "a process that is not this VM's qemu is left alone");
        } finally {
            stale.destroyForcibly();
            other.destroyForcibly();
        }
    }
}
