package org.vhdkit.cli.disk;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.testing.ExternalTools;
import org.vhdkit.vhd.testing.guest.LinuxGuest;

/**
 * A real Linux guest (qemu-system-x86_64, TCG) on disks that {@code vhd serve} (target/vhd.jar)
 * serves over NBD on Unix sockets, through qemu's own controllers: a dynamic VHD as the PIIX IDE
 * primary master, another on qemu's virtio-scsi-pci, and an ISO made by xorriso as the IDE
 * secondary's CD-ROM from a read-only export. The guest makes ext4 on both VHDs, writes files,
 * syncs and powers off; both VHDs then pass {@code vhd check}, the host finds a clean file system
 * (e2fsck) with the same files (debugfs) in a copy converted by qemu-img, and a second boot reads
 * them too.
 */
@Timeout(600)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ServeToLinuxGuestIT {
    private static final long DISK_SIZE = 32L << 20;

    @TempDir
    static Path tmp;

    static Path ideVhd;
    static Path scsiVhd;
    static Path iso;
    static byte[] isoFile;
    static Process readWrite;
    static Process readOnly;
    static LinuxGuest guest;

    @BeforeAll
    static void serveAndBoot() throws Exception {
        LinuxGuest.assumeAvailable();
        ExternalTools.assumeAvailable("xorriso", "qemu-img", "debugfs");
        ideVhd = tmp.resolve("ide.vhd");
        scsiVhd = tmp.resolve("scsi.vhd");
        Vhd.create(ideVhd, CreateOptions.dynamic(DISK_SIZE)).close();
        Vhd.create(scsiVhd, CreateOptions.dynamic(DISK_SIZE)).close();
        Path content = Files.createDirectory(tmp.resolve("cd"));
        isoFile = new byte[700_001];
        new Random(12).nextBytes(isoFile);
        Files.write(content.resolve("data.bin"), isoFile);
        iso = tmp.resolve("disc.iso");
        ExternalTools.run(Duration.ofSeconds(60), "xorriso", "-as", "mkisofs", "-quiet", "-V", "VHDKIT", "-o",
                iso.toString(), content.toString()).requireSuccess();
        readWrite = serve("rw.sock", "ide=" + ideVhd, "scsi=" + scsiVhd);
        readOnly = serve("ro.sock", "--read-only", "cd=" + iso);
        guest = LinuxGuest.boot(guestOptions("serve-nbd"));
    }

    @AfterAll
    static void stop() {
        if (guest != null) {
            guest.close();
        }
        for (Process p : new Process[] {readWrite, readOnly}) {
            if (p != null) {
                p.destroyForcibly();
            }
        }
    }

    static LinuxGuest.Options guestOptions(String name) {
        String rw = "driver=nbd,server.type=unix,server.path=" + tmp.resolve("rw.sock");
        String ro = "driver=nbd,server.type=unix,server.path=" + tmp.resolve("ro.sock");
        return LinuxGuest.options(name).withQemuArgs(
                "-drive", rw + ",export=ide,if=none,id=ide0",
                "-device", "ide-hd,drive=ide0,bus=ide.0",
                "-drive", ro + ",export=cd,if=none,id=cd0,read-only=on",
                "-device", "ide-cd,drive=cd0,bus=ide.1",
                "-device", "virtio-scsi-pci,id=scsi0",
                "-drive", rw + ",export=scsi,if=none,id=scsi0d",
                "-device", "scsi-hd,drive=scsi0d,bus=scsi0.0");
    }

    @Test
    @Order(1)
    void theGuestSeesTheIdeDiskTheScsiDiskAndTheCdRomWithTheirSizes() {
        List<LinuxGuest.Disk> disks = guest.disks();
        LinuxGuest.Disk ide = disk(disks, "/ata1/");
        LinuxGuest.Disk cd = disk(disks, "/ata2/");
        LinuxGuest.Disk scsi = disk(disks, "/virtio");
        assertEquals(DISK_SIZE, ide.size());
        assertEquals(DISK_SIZE, scsi.size());
        assertFalse(ide.readOnly() || scsi.readOnly(), disks.toString());
        assertTrue(cd.name().startsWith("sr") && cd.readOnly(), cd.toString());
        assertEquals("QEMU DVD-ROM", cd.model());
    }

    @Test
    @Order(2)
    void theGuestReadsTheIsoFromTheIdeCdRom() throws Exception {
        String sr = disk(guest.disks(), "/ata2/").device();
        String out = guest.runChecked("mkdir -p /cdrom && mount -t iso9660 -o ro " + sr + " /cdrom"
                + " && sha256sum /cdrom/data.bin && sha256sum " + sr + " && umount /cdrom");
        assertTrue(out.contains(sha256(isoFile) + "  /cdrom/data.bin"), out);
        assertTrue(out.contains(sha256(Files.readAllBytes(iso)) + "  " + sr), "the whole disc reads as the ISO: " + out);
    }

    @Test
    @Order(3)
    void ext4WrittenByTheGuestPassesVhdCheckReadsOnTheHostAndInASecondBoot() throws Exception {
        Map<String, String> written = new LinkedHashMap<>();
        for (String controller : List.of("/ata1/", "/virtio")) {
            String dev = disk(guest.disks(), controller).device();
            String out = guest.runChecked("mkfs.ext4 -q -F " + dev + " && mount -t ext4 " + dev + " /mnt"
                    + " && dd if=/dev/urandom of=/mnt/small bs=4096 count=3 2>/dev/null"
                    + " && dd if=/dev/urandom of=/mnt/large bs=65536 count=20 2>/dev/null"
                    + " && sync && cd /mnt && sha256sum small large && cd / && umount /mnt", Duration.ofSeconds(180));
            written.put(controller, out);
        }
        assertTrue(guest.dmesg().lines().noneMatch(l -> l.contains("I/O error") || l.contains("EXT4-fs error")),
                guest.dmesg());
        guest.powerOff();
        stopServing(readWrite);

        for (Path vhd : List.of(ideVhd, scsiVhd)) {
            ProcessResult check = vhd("check", vhd.toString());
            assertEquals(0, check.exitCode(), "vhd check " + vhd + ":\n" + check.output());
        }
        Map<String, Path> images = Map.of("/ata1/", ideVhd, "/virtio", scsiVhd);
        for (Map.Entry<String, String> e : written.entrySet()) {
            Path raw = tmp.resolve(images.get(e.getKey()).getFileName() + ".raw");
            ExternalTools.run(Duration.ofSeconds(60), "qemu-img", "convert", "-f", "vpc", "-O", "raw",
                    images.get(e.getKey()).toString(), raw.toString()).requireSuccess();
            ExternalTools.run(Duration.ofSeconds(60), "e2fsck", "-fn", raw.toString()).requireSuccess();
            for (String file : List.of("small", "large")) {
                Path out = tmp.resolve(file + ".out");
                Files.deleteIfExists(out);
                ExternalTools.run(Duration.ofSeconds(60), "debugfs", "-R", "dump /" + file + " " + out, raw.toString())
                        .requireSuccess();
                assertTrue(e.getValue().contains(sha256(Files.readAllBytes(out)) + "  " + file),
                        "the host reads " + file + " of " + e.getKey() + " as the guest wrote it: " + e.getValue());
            }
        }

        readWrite = serve("rw.sock", "ide=" + ideVhd, "scsi=" + scsiVhd); // the stopped server removed its socket
        try (LinuxGuest second = LinuxGuest.boot(guestOptions("serve-nbd-again"))) {
            for (Map.Entry<String, String> e : written.entrySet()) {
                String dev = disk(second.disks(), e.getKey()).device();
                String out = second.runChecked("mount -t ext4 -o ro " + dev
                        + " /mnt && cd /mnt && sha256sum small large && cd / && umount /mnt", Duration.ofSeconds(120));
                assertEquals(e.getValue(), out, "the second boot reads what the first wrote on " + e.getKey());
            }
            second.powerOff();
        }
    }

    // ---------------------------------------------------------------- helpers

    private static LinuxGuest.Disk disk(List<LinuxGuest.Disk> disks, String sysfsPart) {
        return disks.stream().filter(d -> d.sysfsPath().contains(sysfsPart)).findFirst()
                .orElseThrow(() -> new AssertionError("no disk under " + sysfsPart + " in " + disks));
    }

    private static Path jar() {
        Path jar = Path.of("target", "vhd.jar").toAbsolutePath();
        assertTrue(Files.isRegularFile(jar), () -> "no " + jar + " (failsafe runs after package)");
        return jar;
    }

    private static List<String> java(String... args) {
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "-jar", jar().toString()));
        command.addAll(List.of(args));
        return command;
    }

    /** Starts {@code vhd serve --socket SOCKET ARGS...} and returns once its ready line came. */
    private static Process serve(String socket, String... args) throws IOException {
        List<String> argv = new ArrayList<>(List.of("serve", "--socket", tmp.resolve(socket).toString()));
        argv.addAll(List.of(args));
        Process p = new ProcessBuilder(java(argv.toArray(String[]::new)))
                .redirectError(tmp.resolve(socket + ".log").toFile()).start();
        p.getOutputStream().close();
        String ready = new BufferedReader(new InputStreamReader(p.getInputStream(), UTF_8)).readLine();
        assertTrue(ready != null && ready.startsWith("Serving NBD"),
                () -> "vhd serve did not start: " + ready + "\n" + readQuietly(tmp.resolve(socket + ".log")));
        return p;
    }

    private static void stopServing(Process p) throws Exception {
        p.destroy(); // SIGTERM: finish, flush and close
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "vhd serve did not end on SIGTERM");
        assertEquals(143, p.exitValue());
    }

    record ProcessResult(int exitCode, String output) {
    }

    private static ProcessResult vhd(String... args) throws Exception {
        Process p = new ProcessBuilder(java(args)).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return new ProcessResult(p.exitValue(), out);
    }

    private static String sha256(byte[] data) throws NoSuchAlgorithmException {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }

    private static String readQuietly(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return "";
        }
    }
}
