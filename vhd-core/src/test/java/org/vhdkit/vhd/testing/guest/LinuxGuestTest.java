package org.vhdkit.vhd.testing.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.testing.ExternalTools;

/**
 * The real-guest tooling itself, on one booted guest: commands' output and exit status come back
 * whole (even output that looks like the protocol's markers), the guest sees the disks qemu was
 * given on IDE and virtio-scsi with their sizes, a vhost-user disk (qemu-storage-daemon's) works on
 * the shared guest memory, a SCSI disk hot-added and removed over QMP comes and goes, the copied mke2fs makes an ext4 the guest's ext4 module mounts, and the
 * ACPI power button powers the guest off.
 */
@Timeout(300)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LinuxGuestTest {
    @TempDir
    static Path tmp;

    static LinuxGuest guest;
    static Process storageDaemon;
    static Path vhostRaw;

    @BeforeAll
    static void boot() throws IOException {
        LinuxGuest.assumeAvailable();
        Path ide = tmp.resolve("ide.raw");
        Path scsi = tmp.resolve("scsi.raw");
        try (RandomAccessFile f = new RandomAccessFile(ide.toFile(), "rw")) {
            f.setLength(24 << 20);
        }
        try (RandomAccessFile f = new RandomAccessFile(scsi.toFile(), "rw")) {
            f.setLength(40 << 20);
        }
        // qemu's own vhost-user backend, to prove the plumbing (shared memory, chardev) that
        // tests of vhdkit's vhost-user-scsi backend use.
        ExternalTools.assumeAvailable("qemu-storage-daemon");
        vhostRaw = tmp.resolve("vhost.raw");
        try (RandomAccessFile f = new RandomAccessFile(vhostRaw.toFile(), "rw")) {
            f.setLength(8 << 20);
        }
        Path vhostSocket = tmp.resolve("vhost.sock");
        storageDaemon = new ProcessBuilder(ExternalTools.find("qemu-storage-daemon").orElseThrow().toString(),
                "--blockdev", "driver=file,node-name=file0,filename=" + vhostRaw,
                "--export", "type=vhost-user-blk,id=exp0,node-name=file0,writable=on,addr.type=unix,addr.path=" + vhostSocket)
                .redirectErrorStream(true).redirectOutput(tmp.resolve("qsd.log").toFile()).start();
        for (int i = 0; i < 200 && !Files.exists(vhostSocket); i++) {
            sleep(50);
        }
        assertTrue(Files.exists(vhostSocket), () -> "qemu-storage-daemon did not listen: " + read(tmp.resolve("qsd.log")));
        guest = LinuxGuest.boot(LinuxGuest.options("tooling")
                .withVhostUser("vhost-user-blk-pci", vhostSocket)
                .withQemuArgs(
                "-drive", "file=" + ide + ",format=raw,if=none,id=ide0",
                "-device", "ide-hd,drive=ide0,bus=ide.0",
                "-device", "virtio-scsi-pci,id=scsi0",
                "-drive", "file=" + scsi + ",format=raw,if=none,id=scsi0d",
                "-device", "scsi-hd,drive=scsi0d,bus=scsi0.0,lun=0"));
    }

    @AfterAll
    static void close() {
        if (guest != null) {
            guest.close();
        }
        if (storageDaemon != null) {
            storageDaemon.destroyForcibly();
        }
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return "";
        }
    }

    @Test
    @Order(1)
    void theKernelBootsThroughItsPvhEntry() {
        assertTrue(guest.bootedThroughPvh(), "Debian's kernel has the PVH note; the bzImage fallback is the slow path");
        assertTrue(Files.exists(guest.consoleLog()));
    }

    @Test
    @Order(2)
    void aCommandsOutputAndExitStatusComeBack() {
        LinuxGuest.Result r = guest.run("echo to stdout; echo to stderr >&2; exit 3");
        assertEquals(3, r.exitCode());
        assertEquals("to stdout\nto stderr\n", r.output());
        assertEquals(0, guest.run("true").exitCode());
        assertEquals("", guest.run("true").output());
    }

    @Test
    @Order(3)
    void outputThatLooksLikeTheProtocolIsJustOutput() {
        LinuxGuest.Result r = guest.run("printf '@@VHDKIT END 1 0\\n@@VHDKIT BEGIN 2\\nmultiple\\n\\nlines'; exit 7");
        assertEquals(7, r.exitCode());
        assertEquals("@@VHDKIT END 1 0\n@@VHDKIT BEGIN 2\nmultiple\n\nlines", r.output());
        String big = guest.runChecked("seq 1 5000"); // many base64 lines
        assertEquals(5000, big.lines().count());
        assertTrue(big.endsWith("4999\n5000\n"), big.substring(big.length() - 20));
    }

    @Test
    @Order(4)
    void theGuestSeesItsIdeAndVirtioScsiDisksWithTheirSizes() {
        List<LinuxGuest.Disk> disks = guest.disks();
        LinuxGuest.Disk ide = disks.stream().filter(d -> d.sysfsPath().contains("/ata")).findFirst().orElseThrow(
                () -> new AssertionError("no disk on the IDE controller: " + disks));
        LinuxGuest.Disk scsi = disks.stream().filter(d -> d.name().startsWith("sd") && d.sysfsPath().contains("/virtio")).findFirst().orElseThrow(
                () -> new AssertionError("no disk on the virtio-scsi controller: " + disks));
        assertEquals(24L << 20, ide.size());
        assertEquals(40L << 20, scsi.size());
        assertEquals("ATA", ide.vendor());
        assertEquals("QEMU", scsi.vendor());
        assertFalse(scsi.readOnly());
        String dmesg = guest.dmesg();
        assertTrue(dmesg.contains("Virtio SCSI HBA") && dmesg.contains("ata_piix"), dmesg);
    }

    @Test
    @Order(5)
    void aVhostUserDiskOnSharedGuestMemoryIsReadAndWritten() throws IOException {
        LinuxGuest.Disk vda = guest.disks().stream().filter(d -> d.name().equals("vda")).findFirst()
                .orElseThrow(() -> new AssertionError("no vhost-user-blk disk: " + guest.disks()));
        assertEquals(8L << 20, vda.size());
        guest.runChecked("printf 'vhost-user in the guest' | dd of=/dev/vda bs=512 seek=2048 conv=notrunc 2>/dev/null && sync");
        byte[] back = new byte[23];
        try (RandomAccessFile f = new RandomAccessFile(vhostRaw.toFile(), "r")) {
            f.seek(2048 * 512);
            f.readFully(back);
        }
        assertEquals("vhost-user in the guest", new String(back, java.nio.charset.StandardCharsets.US_ASCII));
    }

    @Test
    @Order(6)
    void aScsiDiskHotAddedAndRemovedOverQmpComesAndGoesInTheGuest() throws IOException {
        Path hot = tmp.resolve("hot.raw");
        try (RandomAccessFile f = new RandomAccessFile(hot.toFile(), "rw")) {
            f.setLength(12 << 20);
        }
        int before = guest.disks().size();
        String added = guest.qmp("blockdev-add", "{\"driver\":\"file\",\"node-name\":\"hot0\",\"filename\":\"" + hot + "\"}")
                + guest.qmp("device_add", "{\"driver\":\"scsi-hd\",\"id\":\"hotdisk\",\"drive\":\"hot0\",\"bus\":\"scsi0.0\",\"lun\":1}");
        assertFalse(added.contains("\"error\""), added);
        List<LinuxGuest.Disk> with = guest.awaitDisks(d -> d.stream().anyMatch(x -> x.size() == 12L << 20),
                Duration.ofSeconds(30));
        assertEquals(before + 1, with.size(), with.toString());
        String removed = guest.qmp("device_del", "{\"id\":\"hotdisk\"}");
        assertFalse(removed.contains("\"error\""), removed);
        guest.awaitDisks(d -> d.stream().noneMatch(x -> x.size() == 12L << 20), Duration.ofSeconds(30));
    }

    @Test
    @Order(7)
    void mke2fsMakesAnExt4TheGuestMounts() {
        String scsi = guest.disks().stream().filter(d -> d.name().startsWith("sd") && d.sysfsPath().contains("/virtio")).findFirst().orElseThrow().device();
        String out = guest.runChecked("mkfs.ext4 -q -F " + scsi + " && mount -t ext4 " + scsi + " /mnt"
                + " && echo hello > /mnt/f && sync && cat /mnt/f && umount /mnt && e2fsck -fn " + scsi + " >/dev/null 2>&1 && echo fsck-clean",
                Duration.ofSeconds(120));
        assertEquals("hello\nfsck-clean\n", out);
    }

    @Test
    @Order(8)
    void theAcpiPowerButtonPowersTheGuestOff() {
        String answer = guest.qmp("system_powerdown", null);
        assertTrue(answer.contains("\"return\""), answer);
        assertEquals(0, guest.awaitExit(Duration.ofSeconds(60)));
        assertFalse(guest.isRunning());
    }
}
