package org.vhdkit.stack.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
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
        assertTrue(line.contains("-device vhost-user-scsi-pci,id=scsi2,chardev=vhost-scsi2,addr=0x12"), line);
    }

    @Test
    void eachScsiControllerSitsAtAPciSlotFixedByItsNumber() {
        // A saved state loads only into a qemu whose devices sit where they sat when it was saved,
        // whether the controller was there at the start or hot added.
        for (int n = 0; n < 4; n++) {
            assertEquals("0x1" + n, QemuCommandLine.scsiDevice(n).get("addr"));
        }
        List<ServedStorage.ScsiController> all = List.of(new ServedStorage.ScsiController(0, run.resolve("scsi0.0.sock")),
                new ServedStorage.ScsiController(3, run.resolve("scsi3.1.sock")));
        List<String> w = new QemuCommandLine(Path.of("/usr/bin/qemu-system-x86_64"), config(), false, run,
                Path.of("/vms/console.log"), List.of(), all, false).words();
        assertTrue(w.contains("vhost-user-scsi-pci,id=scsi0,chardev=vhost-scsi0,addr=0x10"), w.toString());
        assertTrue(w.contains("vhost-user-scsi-pci,id=scsi3,chardev=vhost-scsi3,addr=0x13"), w.toString());
        assertTrue(w.contains("socket,id=vhost-scsi3,path=" + run.resolve("scsi3.1.sock")), w.toString());
    }

    @Test
    void hotAddedControllerGetsTheDeviceAndSocketAStartWouldGiveIt() throws Exception {
        ObjectMapper json = new ObjectMapper();
        assertEquals(json.readTree("{\"driver\":\"vhost-user-scsi-pci\",\"id\":\"scsi1\",\"chardev\":\"vhost-scsi1\","
                + "\"addr\":\"0x11\"}"), QemuCommandLine.scsiDeviceAdd(1));
        // Every property of the start's -device is in the device_add, and nothing else.
        List<String> w = new QemuCommandLine(Path.of("/usr/bin/qemu-system-x86_64"), config(), false, run,
                Path.of("/vms/console.log"), List.of(), List.of(new ServedStorage.ScsiController(1,
                run.resolve("scsi1.sock"))), false).words();
        String device = w.stream().filter(x -> x.startsWith("vhost-user-scsi-pci,")).findFirst().orElseThrow();
        StringBuilder fromJson = new StringBuilder();
        QemuCommandLine.scsiDeviceAdd(1).properties().forEach(e -> fromJson.append(e.getKey().equals("driver")
                ? e.getValue().asText() : "," + e.getKey() + "=" + e.getValue().asText()));
        assertEquals(device, fromJson.toString());
        assertEquals(json.readTree("{\"id\":\"vhost-scsi1\",\"backend\":{\"type\":\"socket\",\"data\":{\"addr\":"
                + "{\"type\":\"unix\",\"data\":{\"path\":\"/run/vhdkit-vm-1/scsi1.4.sock\"}},\"server\":false}}}"),
                QemuCommandLine.scsiChardevAdd(1, run.resolve("scsi1.4.sock")), "a client of the backend's socket");
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
