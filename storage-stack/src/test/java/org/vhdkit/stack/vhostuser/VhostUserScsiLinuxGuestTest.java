package org.vhdkit.stack.vhostuser;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.scsi.CdRom;
import org.vhdkit.stack.scsi.LogicalUnit;
import org.vhdkit.stack.scsi.ScsiDisk;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.DiskImage;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.check.CheckReport;
import org.vhdkit.vhd.check.ImageCheck;
import org.vhdkit.vhd.disk.MemoryDisk;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.testing.ExternalTools;
import org.vhdkit.vhd.testing.guest.LinuxGuest;

/**
 * A real Linux guest (qemu-system-x86_64, TCG) on qemu's vhost-user-scsi-pci served by this
 * backend in-process: four LUNs (a dynamic VHD, a read-only fixed VHD, a differencing child over a
 * parent qemu-img made and qemu-io wrote, a DVD from an ISO xorriso made). The guest's own
 * virtio_scsi, sd and sr drivers see each with its size, inquiry strings and read-only flag; a LUN
 * hot-added and hot-removed comes and goes; a random write/read workload on the child reads back
 * what it wrote; ext4 made on the dynamic VHD passes ImageCheck, reads on the host and in a second
 * boot; the child's parent is unchanged and the chain reads the same through vhdimount.
 */
@Timeout(600)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class VhostUserScsiLinuxGuestTest {
    private static final long DYNAMIC_SIZE = 32L << 20;
    private static final long FIXED_SIZE = 8L << 20;
    /** qemu-img rounds a VHD's size up to whole CHS geometry: 16 MiB asked for, 16781312 bytes made. */
    private static final long CHILD_SIZE = 16781312;
    private static final int BLOCK = 4096;
    private static final Pattern SHA = Pattern.compile("([0-9a-f]{64})\\s+(\\S+)");

    @TempDir
    static Path tmp;

    static Path dynamic;
    static Path fixed;
    static Path parent;
    static Path child;
    static Path iso;
    static byte[] isoBytes;
    static String parentHash;
    static List<String> backendLog = Collections.synchronizedList(new ArrayList<>());
    static List<VirtualDisk> opened = new ArrayList<>();
    static VhostUserScsi backend;
    static LinuxGuest guest;
    /** What the guest printed for the files it wrote on ext4 (sha256sum lines), for the second boot. */
    static String ext4Sums;
    /** Blocks (4 KiB index) the random workload wrote on the child and the sha256 of each. */
    static List<long[]> workloadBlocks = new ArrayList<>();
    static List<String> workloadHashes = new ArrayList<>();
    /** The kernel's prefix for a LUN removed under the guest, whose last flush fails by design; null before. */
    static String removedLun;

    @BeforeAll
    static void makeDisksServeAndBoot() throws Exception {
        LinuxGuest.assumeAvailable();
        ExternalTools.assumeAvailable("qemu-img", "qemu-io", "xorriso", "debugfs", "e2fsck");
        dynamic = tmp.resolve("dynamic.vhd");
        fixed = tmp.resolve("fixed.vhd");
        parent = tmp.resolve("parent.vhd");
        child = tmp.resolve("child.vhd");
        Vhd.create(dynamic, CreateOptions.dynamic(DYNAMIC_SIZE)).close();
        try (VirtualDisk f = Vhd.create(fixed, CreateOptions.fixed(FIXED_SIZE))) {
            f.write(0, "fixed disk, read only".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        }
        // The parent comes from another implementation, so the guest reads qemu's allocation through our chain.
        ExternalTools.run(Duration.ofSeconds(60), "qemu-img", "create", "-f", "vpc", "-o", "subformat=dynamic",
                parent.toString(), String.valueOf(16L << 20)).requireSuccess();
        ExternalTools.run(Duration.ofSeconds(60), "qemu-io", "-f", "vpc", "-c", "write -P 0x5a 0 1M",
                "-c", "write -P 0xa5 5M 512k", "-c", "write -P 0x33 15M 1M", parent.toString()).requireSuccess();
        Vhd.create(child, CreateOptions.differencing(parent)).close();
        parentHash = sha256(Files.readAllBytes(parent));
        Path content = Files.createDirectory(tmp.resolve("cd"));
        byte[] file = new byte[300_001];
        new Random(7).nextBytes(file);
        Files.write(content.resolve("data.bin"), file);
        iso = tmp.resolve("disc.iso");
        ExternalTools.run(Duration.ofSeconds(60), "xorriso", "-as", "mkisofs", "-quiet", "-V", "VHDKIT", "-o",
                iso.toString(), content.toString()).requireSuccess();
        isoBytes = Files.readAllBytes(iso);
        backend = serve();
        guest = LinuxGuest.boot(guestOptions("vhost-user-scsi"));
    }

    @AfterAll
    static void stop() throws IOException {
        if (guest != null) {
            guest.close();
        }
        closeBackend();
        // The backend's log beside the guests' logs, for whoever reads a failure.
        Files.createDirectories(Path.of("target", "guest-logs"));
        Files.write(Path.of("target", "guest-logs", "vhost-user-scsi-backend.log"), List.copyOf(backendLog));
    }

    /** LUN 0 dynamic (rw), 1 fixed (ro), 2 the child (rw), 3 the DVD; as vhd serve --vhost-user-scsi builds them. */
    static VhostUserScsi serve() throws IOException {
        List<LogicalUnit> units = new ArrayList<>();
        units.add(disk(dynamic, false));
        units.add(disk(fixed, true));
        units.add(disk(child, false));
        VirtualDisk isoDisk = DiskImage.openReadOnly(iso);
        opened.add(isoDisk);
        CdRom dvd = new CdRom("disc.iso", ejected -> { });
        dvd.insert(isoDisk);
        units.add(dvd);
        Path socket = tmp.resolve("vus-" + System.nanoTime() % 100000 + ".sock");
        return VhostUserScsi.start(socket, units, backendLog::add);
    }

    static ScsiDisk disk(Path path, boolean readOnly) throws IOException {
        VirtualDisk d = readOnly ? DiskImage.openReadOnly(path) : DiskImage.open(path, false);
        opened.add(d);
        return ScsiDisk.of(d, ScsiDisk.Settings.of(UUID.randomUUID()).withReadOnly(readOnly));
    }

    static void closeBackend() throws IOException {
        if (backend != null) {
            backend.close();
            backend = null;
        }
        for (VirtualDisk d : opened) {
            d.close();
        }
        opened.clear();
    }

    static LinuxGuest.Options guestOptions(String name) {
        return LinuxGuest.options(name).withVhostUser("vhost-user-scsi-pci", backend.socket());
    }

    @Test
    @Order(1)
    void theGuestSeesEveryLunWithItsSizeInquiryAndReadOnlyFlagAndTheDvdAsACdRom() {
        List<LinuxGuest.Disk> disks = guest.disks();
        LinuxGuest.Disk d0 = lun(disks, 0);
        LinuxGuest.Disk d1 = lun(disks, 1);
        LinuxGuest.Disk d2 = lun(disks, 2);
        LinuxGuest.Disk d3 = lun(disks, 3);
        assertEquals(DYNAMIC_SIZE, d0.size(), d0.toString());
        assertEquals(FIXED_SIZE, d1.size(), d1.toString());
        assertEquals(CHILD_SIZE, d2.size(), d2.toString());
        assertEquals(isoBytes.length, d3.size(), d3.toString());
        for (LinuxGuest.Disk d : List.of(d0, d1, d2)) {
            assertTrue(d.name().startsWith("sd"), d.toString());
            assertEquals("Msft", d.vendor(), d.toString());
            assertEquals("Virtual Disk", d.model(), d.toString());
        }
        assertFalse(d0.readOnly() || d2.readOnly(), disks.toString());
        assertTrue(d1.readOnly(), "the read-only VHD is read-only in the guest: " + d1);
        assertTrue(d3.name().startsWith("sr") && d3.readOnly(), "the DVD is a CD-ROM: " + d3);
        assertEquals("Virtual DVD-ROM", d3.model(), d3.toString());
        String out = guest.runChecked("dd if=" + d1.device() + " bs=21 count=1 2>/dev/null; echo"
                + "; mkdir -p /cdrom && mount -t iso9660 -o ro " + d3.device() + " /cdrom && sha256sum " + d3.device()
                + " && umount /cdrom");
        assertTrue(out.startsWith("fixed disk, read only"), out);
        assertTrue(out.contains(sha256(isoBytes) + "  " + d3.device()), "the whole disc reads as the ISO: " + out);
        String refused = guest.run("dd if=/dev/zero of=" + d1.device() + " bs=512 count=1 oflag=direct").output();
        assertTrue(refused.contains("ermitted") || refused.contains("ead-only"),
                "a write to the read-only LUN is refused: " + refused);
        assertNoScsiErrors();
    }

    @Test
    @Order(2)
    void aLunHotAddedAppearsAndHotRemovedGoes() throws Exception {
        List<String> before = guest.disks().stream().map(LinuxGuest.Disk::name).toList();
        ScsiDisk extra = ScsiDisk.of(MemoryDisk.create("hot", 4 << 20), ScsiDisk.Settings.of(UUID.randomUUID()));
        backend.hotAdd(5, extra);
        List<LinuxGuest.Disk> after = guest.awaitDisks(ds -> ds.stream().anyMatch(
                d -> isLun(d, 5) && d.size() == 4 << 20), Duration.ofSeconds(60));
        LinuxGuest.Disk hot = lun(after, 5);
        assertFalse(before.contains(hot.name()), "a new device: " + hot + " before " + before);
        guest.runChecked("echo hot-added | dd of=" + hot.device() + " bs=512 conv=sync oflag=direct 2>/dev/null");
        byte[] back = new byte[10];
        extra.disk().read(0, back);
        assertEquals("hot-added\n", new String(back, java.nio.charset.StandardCharsets.US_ASCII));
        assertTrue(backend.hotRemove(5).isPresent());
        // A surprise removal, as qemu's own virtio-scsi hot-unplug is: the unit is gone before the
        // guest hears of it, so sd's SYNCHRONIZE CACHE on the way out is answered "logical unit not
        // supported" and logged. That failure, on that LUN only, is what removal means here.
        removedLun = "sd 0:0:0:5:";
        guest.awaitDisks(ds -> ds.stream().noneMatch(d -> d.name().equals(hot.name())), Duration.ofSeconds(60));
        assertTrue(guest.disks().stream().anyMatch(d -> isLun(d, 2)), "the others stay");
        assertNoScsiErrors();
    }

    @Test
    @Order(3)
    void aRandomWriteAndReadWorkloadOnTheDifferencingChildReadsBackWhatItWrote() throws Exception {
        String dev = lun(guest.disks(), 2).device();
        Random r = new Random(42);
        long blocks = CHILD_SIZE / BLOCK;
        StringBuilder write = new StringBuilder("dd if=/dev/urandom of=/tmp/pat bs=4096 count=64 2>/dev/null");
        StringBuilder read = new StringBuilder("echo 3 > /proc/sys/vm/drop_caches; rm -f /tmp/back");
        java.util.Set<Long> used = new java.util.HashSet<>();
        for (int i = 0; i < 64; i++) {
            long b;
            do {
                b = r.nextLong(blocks);
            } while (!used.add(b));
            workloadBlocks.add(new long[] {b});
            // Writes direct, so each is a SCSI WRITE at that offset rather than a page-cache merge.
            write.append(" && dd if=/tmp/pat of=").append(dev).append(" bs=4096 skip=").append(i).append(" seek=")
                    .append(b).append(" count=1 conv=notrunc oflag=direct 2>/dev/null");
            read.append(" && dd if=").append(dev).append(" bs=4096 skip=").append(b)
                    .append(" count=1 iflag=direct 2>/dev/null >> /tmp/back");
        }
        guest.runChecked(write + " && sync", Duration.ofSeconds(120));
        // Read back in another order from the writes, two readers at once so the ring holds more than one.
        String out = guest.runChecked(read + " && (cat " + dev + " > /dev/null &) ; sha256sum /tmp/pat /tmp/back"
                + " && for i in $(seq 0 63); do dd if=/tmp/pat bs=4096 skip=$i count=1 2>/dev/null | sha256sum; done",
                Duration.ofSeconds(120));
        List<String> sums = SHA.matcher(out).results().map(m -> m.group(1)).toList();
        assertEquals(sums.get(0), sums.get(1), "the guest reads back the 64 blocks it wrote: " + out);
        workloadHashes.addAll(sums.subList(2, 66));
        assertNoScsiErrors();
    }

    @Test
    @Order(4)
    void ext4WrittenByTheGuestPassesCheckReadsOnTheHostAndInASecondBoot() throws Exception {
        String dev = lun(guest.disks(), 0).device();
        ext4Sums = guest.runChecked("mkfs.ext4 -q -F " + dev + " && mount -t ext4 " + dev + " /mnt"
                + " && dd if=/dev/urandom of=/mnt/small bs=4096 count=3 2>/dev/null"
                + " && dd if=/dev/urandom of=/mnt/large bs=65536 count=24 2>/dev/null"
                + " && sync && cd /mnt && sha256sum small large && cd / && umount /mnt", Duration.ofSeconds(180));
        assertNoScsiErrors();
        guest.powerOff();
        guest.close();
        guest = null;
        closeBackend();

        for (Path vhd : List.of(dynamic, fixed, child)) {
            CheckReport report = ImageCheck.check(vhd, org.vhdkit.vhd.ProgressListener.NONE);
            assertEquals(CheckReport.Status.CLEAN, report.status(), vhd + ": " + report);
        }
        Path raw = tmp.resolve("dynamic.raw");
        ExternalTools.run(Duration.ofSeconds(60), "qemu-img", "convert", "-f", "vpc", "-O", "raw",
                dynamic.toString(), raw.toString()).requireSuccess();
        ExternalTools.run(Duration.ofSeconds(60), "e2fsck", "-fn", raw.toString()).requireSuccess();
        for (String name : List.of("small", "large")) {
            Path out = tmp.resolve(name + ".out");
            ExternalTools.run(Duration.ofSeconds(60), "debugfs", "-R", "dump /" + name + " " + out, raw.toString())
                    .requireSuccess();
            assertTrue(ext4Sums.contains(sha256(Files.readAllBytes(out)) + "  " + name),
                    "the host reads " + name + " as the guest wrote it: " + ext4Sums);
        }

        backend = serve();
        try (LinuxGuest second = LinuxGuest.boot(guestOptions("vhost-user-scsi-again"))) {
            String dev2 = lun(second.disks(), 0).device();
            String out = second.runChecked("mount -t ext4 -o ro " + dev2
                    + " /mnt && cd /mnt && sha256sum small large && cd / && umount /mnt", Duration.ofSeconds(120));
            assertEquals(ext4Sums, out, "the second boot reads what the first wrote");
            second.powerOff();
        }
        closeBackend();
    }

    @Test
    @Order(5)
    void theChildsParentIsUnchangedAndTheChainReadsTheSameThroughVhdimount() throws Exception {
        assertEquals(parentHash, sha256(Files.readAllBytes(parent)), "the guest's writes left the parent alone");
        assertEquals(64, workloadHashes.size(), "the workload ran");
        byte[] ours = new byte[(int) CHILD_SIZE];
        try (VirtualDisk chain = DiskImage.openReadOnly(child)) {
            chain.read(0, ours);
        }
        for (int i = 0; i < workloadBlocks.size(); i++) {
            int off = (int) (workloadBlocks.get(i)[0] * BLOCK);
            assertEquals(workloadHashes.get(i), sha256(java.util.Arrays.copyOfRange(ours, off, off + BLOCK)),
                    "block " + workloadBlocks.get(i)[0] + " on the host is what the guest wrote there");
        }
        try (ExternalTools.Mount m = ExternalTools.vhdimount(child, tmp.resolve("vhdimount"))) {
            assertEquals(sha256(ours), sha256(Files.readAllBytes(m.disk())),
                    "vhdimount reads the chain as our library does");
        }
    }

    // ---------------------------------------------------------------- helpers

    /** The disk at LUN {@code lun} of the vhost-user-scsi controller (the only SCSI host the guest has). */
    private static LinuxGuest.Disk lun(List<LinuxGuest.Disk> disks, int lun) {
        return disks.stream().filter(d -> isLun(d, lun)).findFirst()
                .orElseThrow(() -> new AssertionError("no disk at LUN " + lun + " in " + disks));
    }

    /** Whether the device's sysfs path ends in HOST:0:0:LUN (channel 0, target 0: our one controller). */
    private static boolean isLun(LinuxGuest.Disk d, int lun) {
        return d.sysfsPath().matches(".*/\\d+:0:0:" + lun);
    }

    private static void assertNoScsiErrors() {
        String dmesg = guest.dmesg();
        List<String> bad = dmesg.lines().filter(l -> removedLun == null || !l.contains(removedLun)).filter(l -> l.contains("I/O error") || l.contains("error")
                && (l.contains("sd ") || l.contains("sr ")) || l.contains("retry") || l.contains("FAILED")
                || l.contains("abort") || l.contains("timing out") || l.contains("EXT4-fs error")
                || l.contains("Sense Key")).toList();
        assertTrue(bad.isEmpty(), "the guest's kernel logged SCSI trouble: " + bad + "\n--- dmesg ---\n"
                + dmesg.lines().filter(l -> l.contains(" sd") || l.contains(" sr") || l.contains("scsi"))
                        .collect(java.util.stream.Collectors.joining("\n"))
                + "\nbackend: " + backendLog);
    }

    private static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }
}
