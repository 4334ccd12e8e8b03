package org.vhdkit.export.fuse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.DiskImage;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.check.CheckReport;
import org.vhdkit.vhd.check.ImageCheck;
import org.vhdkit.vhd.disk.MemoryDisk;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.testing.ExternalTools;

/**
 * {@link DiskMount} with real mounts (libfuse3 through jfuse) and the real tools on top: the kernel's
 * loop device, mkfs.ext4, mount, e2fsck, qemu-img. Needs /dev/fuse, and root for the loop device and
 * the ext4 mounts.
 */
@Timeout(120)
class DiskMountTest {
    private static final int MIB = 1 << 20;
    private static final Duration TOOL = Duration.ofSeconds(60);

    @TempDir
    Path tmp;

    private final List<DiskMount> mounts = new ArrayList<>();
    private final List<String> loops = new ArrayList<>();
    private final List<Path> ext4Mounts = new ArrayList<>();
    private final List<String> log = Collections.synchronizedList(new ArrayList<>());

    @BeforeEach
    void fuse() {
        assumeFuseMounts();
    }

    /** Skips the test (fails it when CI=true) unless mounts can be made here: /dev/fuse, libfuse3, fusermount3. */
    static void assumeFuseMounts() {
        ExternalTools.assumeEnvironment(Files.exists(FuseHost.DEV_FUSE) && FuseHost.library().isPresent(),
                () -> "FUSE is not usable here: /dev/fuse or libfuse3 (Debian package fuse3) missing");
        ExternalTools.assumeAvailable("fusermount3");
    }

    @AfterEach
    void cleanUp() throws IOException {
        for (Path m : ext4Mounts.reversed()) {
            ExternalTools.run(TOOL, "umount", m.toString());
        }
        for (String loop : loops) {
            ExternalTools.run(TOOL, "losetup", "-d", loop);
        }
        for (DiskMount m : mounts) {
            m.close();
        }
    }

    private DiskMount mount(VirtualDisk disk, boolean readOnly) throws IOException {
        Path point = Files.createDirectories(tmp.resolve("mnt" + mounts.size()));
        DiskMount m = DiskMount.mount(disk, point, "disk", readOnly, log::add);
        mounts.add(m);
        return m;
    }

    private DiskMount mount(Path image, boolean readOnly) throws IOException {
        VirtualDisk disk = DiskImage.open(image, readOnly);
        try {
            return mount(disk, readOnly);
        } catch (IOException | RuntimeException e) {
            disk.close();
            throw e;
        }
    }

    private static void assumeRoot() {
        ExternalTools.assumeEnvironment(FuseHost.uid() == 0, () -> "loop devices and ext4 mounts need root");
        ExternalTools.assumeAvailable("losetup", "mkfs.ext4", "e2fsck", "mount", "umount");
    }

    /** The file on a loop device, which is mounted as ext4 at a new folder; that folder. */
    private Path loopMount(Path file, boolean readOnly, boolean format) throws IOException {
        List<String> argv = new ArrayList<>(List.of("losetup", "-f", "--show"));
        if (readOnly) {
            argv.add("-r");
        }
        argv.add(file.toString());
        String loop = ExternalTools.run(null, TOOL, argv).requireSuccess().stdout().strip();
        loops.add(loop);
        if (format) {
            ExternalTools.run(TOOL, "mkfs.ext4", "-q", "-F", loop).requireSuccess();
        }
        Path dir = Files.createDirectories(tmp.resolve("ext4-" + ext4Mounts.size()));
        ExternalTools.run(TOOL, "mount", "-t", "ext4", "-o", readOnly ? "ro,noload" : "rw", loop, dir.toString())
                .requireSuccess();
        ext4Mounts.add(dir);
        return dir;
    }

    /** Undoes {@link #loopMount}: unmounts the ext4, detaches the loop device. */
    private void loopUnmount(Path dir) {
        ExternalTools.run(TOOL, "umount", dir.toString()).requireSuccess();
        ext4Mounts.remove(dir);
        String loop = loops.removeLast();
        ExternalTools.run(TOOL, "losetup", "-d", loop).requireSuccess();
    }

    /** Files of random bytes of several sizes, some not a multiple of any block; name to SHA-256. */
    private static Map<String, String> fill(Path dir, int seed) throws IOException {
        Map<String, String> sums = new LinkedHashMap<>();
        Random r = new Random(seed);
        int[] sizes = {1, 4095, 65_537, 1 << 20, 3 * MIB + 123};
        Files.createDirectories(dir.resolve("sub"));
        for (int i = 0; i < sizes.length; i++) {
            byte[] b = new byte[sizes[i]];
            r.nextBytes(b);
            String name = (i % 2 == 0 ? "" : "sub/") + "file" + seed + "-" + i;
            Files.write(dir.resolve(name), b);
            sums.put(name, sha256(b));
        }
        return sums;
    }

    private static void assertSums(Path dir, Map<String, String> sums) throws IOException {
        for (Map.Entry<String, String> e : sums.entrySet()) {
            assertEquals(e.getValue(), sha256(Files.readAllBytes(dir.resolve(e.getKey()))), e.getKey());
        }
    }

    private static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    private static String sha256(Path file) throws IOException {
        return sha256(Files.readAllBytes(file));
    }

    private static void assertClean(Path image) throws IOException {
        CheckReport report = ImageCheck.check(image, ProgressListener.NONE);
        assertEquals(CheckReport.Status.CLEAN, report.status(), () -> image + " is not clean: " + report);
    }

    /** A mount of an image made ext4 and filled, and the files' sums. */
    private record Filled(DiskMount mount, Map<String, String> sums) {
    }

    /** Mounts {@code image}, makes it ext4 through a loop device and fills it ({@link #fill}); the mount stays. */
    private Filled formatAndFill(Path image, int seed) throws IOException {
        DiskMount m = mount(image, false);
        Path fs = loopMount(m.file(), false, true);
        Map<String, String> sums = fill(fs, seed);
        loopUnmount(fs);
        return new Filled(m, sums);
    }

    /**
     * Mounts {@code image} read-only: e2fsck -fn finds the ext4 clean and the files have {@code sums};
     * returns where the ext4 is mounted (read-only, on a loop device, until {@link #loopUnmount}).
     */
    private Path checkReadOnly(Path image, Map<String, String> sums) throws IOException {
        DiskMount m = mount(image, true);
        ExternalTools.run(TOOL, "e2fsck", "-fn", m.file().toString()).requireSuccess();
        Path ro = loopMount(m.file(), true, false);
        assertSums(ro, sums);
        return ro;
    }

    /** Unmounts from outside as {@code vhd unmount} does, and waits for the disk to be closed. */
    private void unmountFromOutside(DiskMount m) throws Exception {
        DiskMount.Unmounted u = DiskMount.unmount(m.mountPoint(), Duration.ofSeconds(30));
        assertTrue(u.closed());
        assertEquals(ProcessHandle.current().pid(), u.pid());
        assertTrue(m.awaitClosed(Duration.ZERO), "unmount returned before the disk was closed");
        assertTrue(MountTable.at(m.mountPoint()).isEmpty(), "still mounted");
    }

    @Test
    void ext4OnAMountedDynamicVhdIsCleanAndKeepsItsFilesAcrossMounts() throws Exception {
        assumeRoot();
        Path image = tmp.resolve("dynamic.vhd");
        Vhd.create(image, CreateOptions.dynamic(64 * MIB)).close();
        Filled made = formatAndFill(image, 1);
        unmountFromOutside(made.mount());

        assertClean(image);
        loopUnmount(checkReadOnly(image, made.sums()));
        DiskMount again = mounts.getLast();
        again.close();
        assertTrue(again.awaitClosed(Duration.ZERO));
    }

    @Test
    void ext4OnADifferencingChildLeavesTheParentUnchanged() throws Exception {
        assumeRoot();
        Path parent = tmp.resolve("parent.vhd");
        Vhd.create(parent, CreateOptions.dynamic(64 * MIB)).close();
        Filled made = formatAndFill(parent, 2);
        Map<String, String> parentSums = made.sums();
        made.mount().close();
        String parentHash = sha256(parent);

        Path child = tmp.resolve("child.vhd");
        Vhd.create(child, CreateOptions.differencing(parent)).close();
        DiskMount m = mount(child, false);
        Path childFs = loopMount(m.file(), false, false);
        assertSums(childFs, parentSums);
        Map<String, String> childSums = fill(childFs, 3);
        Files.delete(childFs.resolve(parentSums.keySet().iterator().next()));
        loopUnmount(childFs);
        unmountFromOutside(m);

        assertEquals(parentHash, sha256(parent), "the parent changed");
        assertClean(child);
        assertClean(parent);
        Path ro = checkReadOnly(child, childSums);
        assertFalse(Files.exists(ro.resolve(parentSums.keySet().iterator().next())));
        loopUnmount(ro);
    }

    @Test
    void theFileReadsAsQemuImgConvertsTheImageAfterUnalignedWrites() throws Exception {
        ExternalTools.assumeAvailable("qemu-img");
        for (String kind : List.of("fixed", "dynamic")) {
            Path image = tmp.resolve(kind + ".vhd");
            long size = 8 * MIB;
            try (VhdDisk d = Vhd.create(image, kind.equals("fixed") ? CreateOptions.fixed(size) : CreateOptions.dynamic(size))) {
                d.write(MIB, new byte[] {1, 2, 3});
            }
            DiskMount m = mount(image, false);
            Random r = new Random(7);
            try (FileChannel ch = FileChannel.open(m.file(), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                assertEquals(size, ch.size());
                for (long at : new long[] {0, 1, 511, 4097, 2 * MIB - 3, size - 100}) {
                    byte[] b = new byte[(int) Math.min(70_001, size - at)];
                    r.nextBytes(b);
                    ch.write(ByteBuffer.wrap(b), at);
                    ByteBuffer back = ByteBuffer.allocate(b.length);
                    ch.read(back, at);
                    assertArrayEquals(b, back.array(), kind + " at " + at);
                }
                ch.force(false);
            }
            byte[] seen = Files.readAllBytes(m.file());
            m.close();
            assertClean(image);
            Path raw = tmp.resolve(kind + ".raw");
            ExternalTools.run(TOOL, "qemu-img", "convert", "-f", "vpc", "-O", "raw", image.toString(), raw.toString())
                    .requireSuccess();
            assertArrayEquals(Files.readAllBytes(raw), seen, kind + ": the mount and qemu-img disagree");
        }
    }

    @Test
    void writesPastTheEndAndOtherSizesAreRefused() throws Exception {
        DiskMount m = mount(MemoryDisk.create("memory", MIB), false);
        try (FileChannel ch = FileChannel.open(m.file(), StandardOpenOption.WRITE)) {
            IOException past = assertThrows(IOException.class, () -> ch.write(ByteBuffer.wrap(new byte[10]), MIB));
            assertTrue(past.getMessage().contains("No space left"), past.getMessage());
            IOException truncate = assertThrows(IOException.class, () -> ch.truncate(4096));
            assertTrue(truncate.getMessage().contains("not permitted"), truncate.getMessage());
        }
        assertEquals(MIB, Files.size(m.file()));
    }

    @Test
    void aReadOnlyMountRefusesWritesAndReads() throws Exception {
        MemoryDisk disk = MemoryDisk.create("memory", MIB);
        disk.write(4096, new byte[] {9, 8, 7});
        DiskMount m = mount(disk, true);
        FileSystemException e = assertThrows(FileSystemException.class,
                () -> FileChannel.open(m.file(), StandardOpenOption.WRITE).close());
        assertTrue(e.getMessage().contains("Read-only file system"), e.getMessage());
        byte[] b = Files.readAllBytes(m.file());
        assertEquals(MIB, b.length);
        assertArrayEquals(new byte[] {9, 8, 7}, java.util.Arrays.copyOfRange(b, 4096, 4099));
    }

    @Test
    void aFailingReadIsEioForThatRequestAndTheMountGoesOn() throws Exception {
        long bad = 512 * 1024;
        MemoryDisk memory = MemoryDisk.create("memory", MIB);
        VirtualDisk failing = new FailingDisk(memory, bad);
        DiskMount m = mount(failing, false);
        try (FileChannel ch = FileChannel.open(m.file(), StandardOpenOption.READ)) {
            IOException e = assertThrows(IOException.class, () -> ch.read(ByteBuffer.allocate(4096), bad));
            assertTrue(e.getMessage().contains("Input/output error"), e.getMessage());
            assertEquals(4096, ch.read(ByteBuffer.allocate(4096), 0));
        }
        assertTrue(log.stream().anyMatch(l -> l.contains("failing-disk") && l.contains("offset")), log.toString());
        assertTrue(MountTable.at(m.mountPoint()).isPresent());
    }

    @Test
    void mountPointsThatCannotBeUsedAreRefusedByName() throws Exception {
        Path missing = tmp.resolve("missing");
        IOException e = assertThrows(IOException.class, () -> mount(MemoryDisk.create("memory", MIB), missing));
        assertTrue(e.getMessage().contains(missing.toString()) && e.getMessage().contains("no such directory"),
                e.getMessage());
        Path file = Files.createFile(tmp.resolve("plain"));
        e = assertThrows(IOException.class, () -> mount(MemoryDisk.create("memory", MIB), file));
        assertTrue(e.getMessage().contains("not a directory"), e.getMessage());
        DiskMount m = mount(MemoryDisk.create("memory", MIB), false);
        e = assertThrows(IOException.class, () -> mount(MemoryDisk.create("memory", MIB), m.mountPoint()));
        assertTrue(e.getMessage().contains("already a mount point"), e.getMessage());
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        e = assertThrows(IOException.class, () -> DiskMount.unmount(empty, Duration.ofSeconds(1)));
        assertTrue(e.getMessage().contains("nothing is mounted"), e.getMessage());
    }

    private static DiskMount mount(VirtualDisk disk, Path point) throws IOException {
        return DiskMount.mount(disk, point, "disk", false, line -> { });
    }

    /** A disk whose reads of the sector at {@code bad} fail, as a disk with a bad block. */
    private static final class FailingDisk extends ForwardingDisk {
        private final long bad;

        FailingDisk(VirtualDisk inner, long bad) {
            super(inner);
            this.bad = bad;
        }

        @Override
        public String name() {
            return "failing-disk";
        }

        @Override
        public boolean isReadOnly() {
            return false;
        }

        @Override
        public void read(long offset, MemorySegment dst, long dstOffset, long length) throws IOException {
            if (offset <= bad && bad < offset + length) {
                throw new IOException("injected read error");
            }
            inner.read(offset, dst, dstOffset, length);
        }
    }
}
