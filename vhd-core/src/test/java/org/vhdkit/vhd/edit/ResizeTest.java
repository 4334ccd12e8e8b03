package org.vhdkit.vhd.edit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.vhd.edit.EditTesting.MIB;
import static org.vhdkit.vhd.edit.EditTesting.assertReadsAs;
import static org.vhdkit.vhd.edit.EditTesting.randomWrites;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.check.CheckReport;
import org.vhdkit.vhd.check.ImageCheck;
import org.vhdkit.vhd.format.DiskGeometry;
import org.vhdkit.vhd.format.DiskType;
import org.vhdkit.vhd.format.DynamicHeader;
import org.vhdkit.vhd.format.Footer;
import org.vhdkit.vhd.format.VhdFormatException;
import org.vhdkit.vhd.testing.ExternalTools;

/** Resizing against a model: the old bytes stay, new ones read as zeros, real tools agree. */
class ResizeTest {
    /** Not a whole number of 2 MiB blocks, so the last block is partly beyond the disk. */
    private static final int OLD_SIZE = 9 * MIB + 3 * 512;

    @TempDir
    Path tmp;

    /** A disk of the type, {@code OLD_SIZE} bytes, written at random; returns its model. */
    private byte[] diskOf(DiskType type, Path path, long seed) throws IOException {
        byte[] model = new byte[OLD_SIZE];
        Random random = new Random(seed);
        CreateOptions options = switch (type) {
            case FIXED -> CreateOptions.fixed(OLD_SIZE);
            case DYNAMIC -> CreateOptions.dynamic(OLD_SIZE);
            case DIFFERENCING -> {
                Path base = path.resolveSibling("base-of-" + path.getFileName());
                try (VhdDisk disk = Vhd.create(base, CreateOptions.dynamic(OLD_SIZE))) {
                    randomWrites(disk, model, random, 40);
                }
                yield CreateOptions.differencing(base);
            }
        };
        try (VhdDisk disk = Vhd.create(path, options)) {
            if (type == DiskType.DIFFERENCING) {
                EditTesting.alignedWrites(disk, model, random, 40, 0, OLD_SIZE); // for vhdimount
            } else {
                randomWrites(disk, model, random, 60);
            }
        }
        return model;
    }

    @ParameterizedTest
    @EnumSource(DiskType.class)
    void growingKeepsTheDataAndAddsZerosThatToolsAgreeOn(DiskType type) throws IOException {
        Path path = tmp.resolve(type + ".vhd");
        byte[] model = diskOf(type, path, 1);
        Footer before;
        try (VhdDisk disk = Vhd.openReadOnly(path)) {
            before = disk.footer();
        }
        long newSize = 20L * MIB + 512;
        ResizeResult result = ImageEdits.resize(path, newSize, false, ProgressListener.NONE);
        assertEquals(OLD_SIZE, result.oldSize());
        assertEquals(newSize, result.newSize());
        assertFalse(result.tableMoved());
        byte[] grown = Arrays.copyOf(model, (int) newSize);
        try (VhdDisk disk = Vhd.openReadOnly(path)) {
            assertReadsAs(grown, disk);
            assertTrue(disk.warnings().isEmpty(), disk.warnings()::toString);
            assertEquals(newSize, disk.footer().currentSize());
            assertEquals(before.originalSize(), disk.footer().originalSize(), "the Original Size stays");
            assertEquals(DiskGeometry.forSize(newSize), disk.footer().geometry());
            assertEquals(before.uniqueId(), disk.footer().uniqueId());
        }
        // The grown disk takes writes anywhere, the new range included.
        try (VhdDisk disk = Vhd.open(path, org.vhdkit.vhd.OpenOptions.READ_WRITE)) {
            randomWrites(disk, grown, new Random(2), 30, OLD_SIZE - 4096, newSize);
        }
        try (VhdDisk disk = Vhd.openReadOnly(path)) {
            assertReadsAs(grown, disk);
        }
        assertEquals(newSize, EditTesting.qemuVirtualSize(path));
        EditTesting.assertCleanAndQemuMapsOurBlocks(path);
        if (type == DiskType.DIFFERENCING) {
            // libvhdi takes a disk's size from its Original Size, which a resize keeps (as it should: it
            // is the size at creation); what it shows of the disk must still be right.
            EditTesting.assertLibvhdiReadsAs(Arrays.copyOf(grown, OLD_SIZE), path, tmp.resolve("mnt"));
        } else {
            EditTesting.assertQemuReadsAs(grown, path, tmp);
        }
    }

    @Test
    void aTableWithoutRoomToGrowMovesToTheEndOfTheFile() throws IOException {
        Path path = tmp.resolve("moved.vhd");
        byte[] model = diskOf(DiskType.DYNAMIC, path, 3);
        long tableBefore;
        try (VhdDisk disk = Vhd.openReadOnly(path)) {
            tableBefore = disk.dynamicHeader().orElseThrow().tableOffset();
        }
        long newSize = 8L << 30; // 4096 entries: 16 KiB, more than the 6 KiB before the first block
        ResizeResult result = ImageEdits.resize(path, newSize, false, ProgressListener.NONE);
        assertTrue(result.tableMoved());
        byte[] tail = new byte[3 * MIB];
        new Random(4).nextBytes(tail);
        try (VhdDisk disk = Vhd.open(path, org.vhdkit.vhd.OpenOptions.READ_WRITE)) {
            DynamicHeader header = disk.dynamicHeader().orElseThrow();
            assertTrue(header.tableOffset() > tableBefore, "the table moved on from " + tableBefore);
            assertEquals(4096, header.maxTableEntries());
            assertEquals(disk.fileSize() - 512, header.tableOffset() + header.tableBytes(),
                    "the table ends where the footer is, and the next block will be");
            assertEquals(0, (disk.fileSize() - 512 + 512) % 4096, "the next block's data is 4 KiB-aligned");
            byte[] back = new byte[OLD_SIZE];
            disk.read(0, back);
            assertArrayEquals(model, back);
            disk.write(newSize - tail.length, tail); // a new block after the moved table
        }
        try (VhdDisk disk = Vhd.openReadOnly(path)) {
            assertTrue(disk.warnings().isEmpty(), disk.warnings()::toString);
            byte[] back = new byte[OLD_SIZE];
            disk.read(0, back);
            assertArrayEquals(model, back);
            byte[] end = new byte[tail.length];
            disk.read(newSize - tail.length, end);
            assertArrayEquals(tail, end);
            byte[] middle = new byte[MIB];
            disk.read(4L << 30, middle);
            assertArrayEquals(new byte[MIB], middle);
        }
        assertEquals(newSize, EditTesting.qemuVirtualSize(path));
        Path raw = EditTesting.qemuToRaw(path, tmp.resolve("moved.raw"));
        assertEquals(newSize, Files.size(raw));
        EditTesting.assertFileHoldsAt(raw, 0, model);
        EditTesting.assertFileHoldsAt(raw, newSize - tail.length, tail);
        EditTesting.assertFileHoldsAt(raw, 4L << 30, new byte[MIB]);
    }

    @Test
    void aTableWithRoomGrowsInPlace() throws IOException {
        Path path = tmp.resolve("in-place.vhd");
        byte[] model = diskOf(DiskType.DYNAMIC, path, 5);
        long tableBefore;
        long fileBefore = Files.size(path);
        try (VhdDisk disk = Vhd.openReadOnly(path)) {
            tableBefore = disk.dynamicHeader().orElseThrow().tableOffset();
        }
        // 5 entries become 128: the rest of the table's one sector, padded with 0xFF.
        ResizeResult result = ImageEdits.resize(path, 256L * MIB, false, ProgressListener.NONE);
        assertFalse(result.tableMoved());
        assertEquals(fileBefore, Files.size(path));
        try (VhdDisk disk = Vhd.openReadOnly(path)) {
            assertEquals(tableBefore, disk.dynamicHeader().orElseThrow().tableOffset());
            assertEquals(128, disk.blockAllocationTable().orElseThrow().size());
            byte[] back = new byte[OLD_SIZE];
            disk.read(0, back);
            assertArrayEquals(model, back);
        }
        // One more entry needs another sector, which is the first block's: the table moves.
        assertTrue(ImageEdits.resize(path, 258L * MIB, false, ProgressListener.NONE).tableMoved());
    }

    /**
     * qemu puts a new block right after the table's last sector and writes only the sectors asked
     * for: whatever a moved table left after itself would show in the disk. Nothing may.
     */
    @Test
    void qemuWritingIntoADiskWhoseTableMovedSeesOnlyZerosAroundItsData() throws IOException {
        Path path = tmp.resolve("qemu-writes.vhd");
        byte[] model = diskOf(DiskType.DYNAMIC, path, 17);
        long newSize = 8L << 30;
        assertTrue(ImageEdits.resize(path, newSize, false, ProgressListener.NONE).tableMoved());
        long at = newSize - 3L * MIB + 4096;
        ExternalTools.run(EditTesting.TOOL_TIMEOUT, "qemu-io", "-f", "vpc", "-c",
                "write -P 0x5a " + at + " 8192", path.toString()).requireSuccess();
        try (VhdDisk disk = Vhd.openReadOnly(path)) {
            assertEquals(newSize, disk.size());
            byte[] back = new byte[OLD_SIZE];
            disk.read(0, back);
            assertArrayEquals(model, back);
            byte[] block = new byte[2 * MIB];
            long blockStart = at / (2 * MIB) * (2 * MIB);
            disk.read(blockStart, block);
            byte[] expected = new byte[2 * MIB];
            Arrays.fill(expected, (int) (at - blockStart), (int) (at - blockStart) + 8192, (byte) 0x5a);
            assertArrayEquals(expected, block, "qemu's new block holds its data and zeros, nothing else");
        }
    }

    /** Windows pads the table with 0xFF to 4 KiB; a grow uses that room. */
    @Test
    void aWindowsTableGrowsIntoItsPadding() throws IOException {
        Path path = org.vhdkit.vhd.testing.Corpus.image("dissect-hypervisor-dynamic.vhd.gz", tmp.resolve("win"));
        long tableBefore;
        int entriesBefore;
        long oldSize;
        try (VhdDisk disk = Vhd.openReadOnly(path)) {
            tableBefore = disk.dynamicHeader().orElseThrow().tableOffset();
            entriesBefore = disk.dynamicHeader().orElseThrow().maxTableEntries();
            oldSize = disk.size();
        }
        assertTrue(tableBefore + 4L * entriesBefore + 512 <= 4096 + tableBefore, "room in the padding");
        ResizeResult result = ImageEdits.resize(path, oldSize + 128L * 2 * MIB, false, ProgressListener.NONE);
        assertFalse(result.tableMoved());
        try (VhdDisk disk = Vhd.openReadOnly(path)) {
            assertEquals(tableBefore, disk.dynamicHeader().orElseThrow().tableOffset());
            assertEquals(entriesBefore + 128, disk.dynamicHeader().orElseThrow().maxTableEntries());
        }
    }

    @ParameterizedTest
    @EnumSource(DiskType.class)
    void shrinkingIsRefusedWhenTheRangeCutOffHoldsDataAndChangesNothing(DiskType type) throws IOException {
        Path path = tmp.resolve("refused-" + type + ".vhd");
        diskOf(type, path, 6);
        ImageEdits.resize(path, 12 * MIB, false, ProgressListener.NONE); // a child may shrink back to its parent's size
        try (VhdDisk disk = Vhd.open(path, org.vhdkit.vhd.OpenOptions.READ_WRITE)) {
            disk.write(11 * MIB + 3, new byte[] {9});
        }
        byte[] file = Files.readAllBytes(path);
        VhdFormatException refused = assertThrows(VhdFormatException.class,
                () -> ImageEdits.resize(path, OLD_SIZE, false, ProgressListener.NONE));
        assertTrue(refused.getMessage().contains("hold data"), refused.getMessage());
        assertTrue(refused.getMessage().contains("offset " + (11 * MIB + 3)), refused.getMessage());
        assertTrue(refused.getMessage().startsWith(path.toString()), refused.getMessage());
        assertArrayEquals(file, Files.readAllBytes(path), "nothing written");
    }

    @ParameterizedTest
    @EnumSource(value = DiskType.class, names = {"FIXED", "DYNAMIC"})
    void shrinkingAnEmptyTailWorksAndAGrowAfterwardsShowsZeros(DiskType type) throws IOException {
        Path path = tmp.resolve("shrink-" + type + ".vhd");
        byte[] model = new byte[OLD_SIZE];
        try (VhdDisk disk = Vhd.create(path, type == DiskType.FIXED ? CreateOptions.fixed(OLD_SIZE)
                : CreateOptions.dynamic(OLD_SIZE))) {
            randomWrites(disk, model, new Random(7), 50, 0, 5 * MIB);
            disk.write(OLD_SIZE - 512, new byte[512]); // allocates the last block, holding zeros
        }
        long newSize = 5 * MIB + 4096; // mid-block: block 2 stays, with a tail beyond the end
        ResizeResult result = ImageEdits.resize(path, newSize, false, ProgressListener.NONE);
        assertEquals(newSize, result.newSize());
        byte[] shrunk = Arrays.copyOf(model, (int) newSize);
        try (VhdDisk disk = Vhd.openReadOnly(path)) {
            assertReadsAs(shrunk, disk);
            if (type == DiskType.FIXED) {
                assertEquals(newSize + 512, disk.fileSize());
            } else {
                assertEquals(3, disk.blockAllocationTable().orElseThrow().size());
            }
        }
        assertEquals(newSize, EditTesting.qemuVirtualSize(path));
        EditTesting.assertQemuReadsAs(shrunk, path, tmp);
        ImageEdits.resize(path, OLD_SIZE, false, ProgressListener.NONE);
        try (VhdDisk disk = Vhd.openReadOnly(path)) {
            assertReadsAs(Arrays.copyOf(shrunk, OLD_SIZE), disk);
        }
    }

    @ParameterizedTest
    @EnumSource(value = DiskType.class, names = {"FIXED", "DYNAMIC"})
    void shrinkingWithDiscardLosesTheTailForGood(DiskType type) throws IOException {
        Path path = tmp.resolve("discard-" + type + ".vhd");
        byte[] model = diskOf(type, path, 8);
        long newSize = 5 * MIB + 4096;
        ResizeResult result = ImageEdits.resize(path, newSize, true, ProgressListener.NONE);
        assertEquals(1, result.warnings().size(), result.warnings()::toString);
        byte[] regrown = Arrays.copyOf(Arrays.copyOf(model, (int) newSize), OLD_SIZE);
        ImageEdits.resize(path, OLD_SIZE, false, ProgressListener.NONE);
        try (VhdDisk disk = Vhd.openReadOnly(path)) {
            assertReadsAs(regrown, disk); // what was cut off does not come back
        }
    }

    @Test
    void aDifferencingDiskCannotShrinkBelowItsParentEvenWithDiscard() throws IOException {
        Path path = tmp.resolve("child.vhd");
        diskOf(DiskType.DIFFERENCING, path, 9);
        ImageEdits.resize(path, 12 * MIB, false, ProgressListener.NONE);
        ImageEdits.resize(path, 10 * MIB, false, ProgressListener.NONE); // still above the parent
        VhdFormatException refused = assertThrows(VhdFormatException.class,
                () -> ImageEdits.resize(path, 8 * MIB, true, ProgressListener.NONE));
        assertTrue(refused.getMessage().contains("smaller than its parent"), refused.getMessage());
    }

    @Test
    void sizesOutOfRangeAreRefused() throws IOException {
        Path path = tmp.resolve("range.vhd");
        diskOf(DiskType.DYNAMIC, path, 10);
        assertThrows(IllegalArgumentException.class, () -> ImageEdits.resize(path, 1000, false, ProgressListener.NONE));
        assertThrows(IllegalArgumentException.class,
                () -> ImageEdits.resize(path, Vhd.MAX_SIZE + 512, false, ProgressListener.NONE));
        assertThrows(IllegalArgumentException.class, () -> ImageEdits.resize(path, 0, false, ProgressListener.NONE));
    }

    @Test
    void anImageWhoseTrailingFooterIsDamagedIsLeftForCheckRepair() throws IOException {
        Path path = tmp.resolve("torn.vhd");
        diskOf(DiskType.DYNAMIC, path, 11);
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.WRITE)) {
            channel.write(java.nio.ByteBuffer.wrap(new byte[] {'X'}), Files.size(path) - 512);
        }
        byte[] file = Files.readAllBytes(path);
        VhdFormatException refused = assertThrows(VhdFormatException.class,
                () -> ImageEdits.resize(path, 20 * MIB, false, ProgressListener.NONE));
        assertTrue(refused.getMessage().contains("check --repair"), refused.getMessage());
        assertArrayEquals(file, Files.readAllBytes(path));
    }

    @Test
    void resizingWorksOnAFileSystemThatCannotMap() throws IOException {
        try (FileSystem jimfs = Jimfs.newFileSystem(Configuration.unix())) {
            Path dir = jimfs.getPath("/images");
            Files.createDirectories(dir);
            Path path = dir.resolve("disk.vhd");
            byte[] model = diskOf(DiskType.DYNAMIC, path, 12);
            ImageEdits.resize(path, 8L << 30, false, ProgressListener.NONE);
            ImageEdits.resize(path, 16 * MIB, false, ProgressListener.NONE);
            try (VhdDisk disk = Vhd.openReadOnly(path)) {
                assertReadsAs(Arrays.copyOf(model, 16 * MIB), disk);
            }
        }
    }

    /**
     * Real images from Windows, Virtual PC and qemu, grown by 3 GiB (the table of the Windows ones has
     * to move): what they held reads the same, the rest is zeros, and qemu sees the new size, or for
     * a Virtual PC image the CHS size the warning announces.
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"dissect-hypervisor-dynamic.vhd.gz",
        "dissect-hypervisor-fixed.vhd.gz", "qemu-virtualpc-dynamic.vhd.bz2", "qemu-hyperv2012r2-dynamic.vhd.bz2"})
    void realImagesGrowWithTheirContentIntact(String name) throws IOException {
        Path original = org.vhdkit.vhd.testing.Corpus.cached(name);
        Path path = org.vhdkit.vhd.testing.Corpus.image(name, tmp.resolve("corpus"));
        long oldSize;
        try (VhdDisk disk = Vhd.openReadOnly(original)) {
            oldSize = disk.size();
        }
        long newSize = oldSize + (3L << 30);
        ResizeResult result = ImageEdits.resize(path, newSize, false, ProgressListener.NONE);
        try (VhdDisk before = Vhd.openReadOnly(original); VhdDisk after = Vhd.openReadOnly(path)) {
            assertEquals(newSize, after.size());
            for (org.vhdkit.vhd.disk.Extent extent : before.extents(0, oldSize)) {
                if (!extent.isData()) {
                    assertEquals(List.of(extent), after.extents(extent.offset(), extent.length()), name);
                    continue;
                }
                byte[] a = new byte[MIB];
                byte[] b = new byte[MIB];
                for (long at = extent.offset(); at < extent.end(); at += MIB) {
                    int n = (int) Math.min(MIB, extent.end() - at);
                    before.read(at, java.lang.foreign.MemorySegment.ofArray(a), 0, n);
                    after.read(at, java.lang.foreign.MemorySegment.ofArray(b), 0, n);
                    assertEquals(-1, Arrays.mismatch(a, 0, n, b, 0, n), name + ": differs in the MiB at " + at);
                }
            }
            byte[] tail = new byte[MIB];
            after.read(oldSize, tail);
            assertArrayEquals(new byte[MIB], tail);
            after.read(newSize - MIB, tail);
            assertArrayEquals(new byte[MIB], tail);
        }
        long qemuSize = EditTesting.qemuVirtualSize(path);
        if (result.warnings().isEmpty()) {
            assertEquals(newSize, qemuSize, name);
        } else {
            assertTrue(result.warnings().getFirst().contains("CHS"), result.warnings()::toString);
            assertEquals(DiskGeometry.forSize(newSize).capacity(), qemuSize, name);
        }
    }

    // ---------------------------------------------------------------- crashes

    /** Thrown by a checkpoint to stop an edit where a crash would. */
    static final class Crash extends RuntimeException {
        Crash(String step) {
            super("stopped after: " + step);
        }
    }

    /** The steps an edit takes, found by running it on a copy. */
    private static List<String> stepsOf(Path original, long newSize, boolean discard) throws IOException {
        Path copy = original.resolveSibling("steps-" + original.getFileName());
        Files.copy(original, copy);
        List<String> steps = new ArrayList<>();
        Resize.run(copy, newSize, discard, ProgressListener.NONE, steps::add);
        Files.delete(copy);
        return steps;
    }

    /**
     * Stops the resize after each of its steps in turn, on a fresh copy of the image each time, and
     * checks that the copy either opens at its old or new size with its data, or is in the one state
     * the class comment describes (readable by qemu, refused by our reader for its extra table
     * entries); and that running the resize again completes it.
     */
    private void assertEveryCrashPointIsResumable(Path original, byte[] model, long newSize) throws IOException {
        Files.copy(original, tmp.resolve("pristine.vhd"));
        byte[] expected = Arrays.copyOf(model, (int) newSize);
        List<String> steps = stepsOf(original, newSize, false);
        assertFalse(steps.isEmpty());
        for (int stop = 0; stop < steps.size(); stop++) {
            Path copy = tmp.resolve("crash-" + stop + ".vhd");
            Files.copy(tmp.resolve("pristine.vhd"), copy);
            int stopAt = stop;
            int[] seen = {0};
            assertThrows(Crash.class, () -> Resize.run(copy, newSize, false, ProgressListener.NONE, step -> {
                if (seen[0]++ == stopAt) {
                    throw new Crash(step);
                }
            }));
            String where = "after step " + stop + " (" + steps.get(stop) + ")";
            try (VhdDisk disk = Vhd.openReadOnly(copy)) {
                long size = disk.size();
                assertTrue(size == model.length || size == newSize, where + ": size " + size);
                byte[] shown = new byte[(int) Math.min(size, Math.min(model.length, newSize))];
                disk.read(0, shown);
                assertArrayEquals(Arrays.copyOf(model, shown.length), shown, where);
            } catch (VhdFormatException e) {
                assertTrue(e.getMessage().contains("Max Table Entries"), where + ": " + e.getMessage());
                long qemuSize = EditTesting.qemuVirtualSize(copy);
                assertTrue(qemuSize == model.length || qemuSize == newSize, where + ": qemu size " + qemuSize);
                assertCheckRepairsTheTable(copy, model, where);
            }
            Resize.run(copy, newSize, false, ProgressListener.NONE, Checkpoint.NONE);
            try (VhdDisk disk = Vhd.openReadOnly(copy)) {
                assertReadsAs(expected, disk);
                assertTrue(disk.warnings().isEmpty(), where + ": " + disk.warnings());
            }
            Files.delete(copy);
        }
    }

    /**
     * The state the reader refuses is one {@code check --repair} takes back to the footer's size, on a
     * copy: the header's count goes down to what that size needs, and the data is all there.
     */
    private void assertCheckRepairsTheTable(Path crashed, byte[] model, String where) throws IOException {
        Path copy = tmp.resolve("repaired.vhd");
        Files.copy(crashed, copy, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        CheckReport report = ImageCheck.repair(copy, ProgressListener.NONE);
        assertTrue(report.findings().stream().anyMatch(f -> f.code().equals("TABLE_SIZE") && f.repaired()),
                where + ": " + report);
        assertNotEquals(CheckReport.Status.CORRUPT, report.status(), where + ": " + report);
        try (VhdDisk disk = Vhd.openReadOnly(copy)) {
            byte[] shown = new byte[(int) Math.min(disk.size(), model.length)];
            disk.read(0, shown);
            assertArrayEquals(Arrays.copyOf(model, shown.length), shown, where + ", repaired");
        }
        Files.delete(copy);
    }

    @Test
    void aGrowInPlaceStoppedAtAnyStepCompletesWhenRunAgain() throws IOException {
        Path path = tmp.resolve("grow.vhd");
        byte[] model = diskOf(DiskType.DYNAMIC, path, 13);
        assertEveryCrashPointIsResumable(path, model, 40 * MIB);
    }

    @Test
    void aGrowThatMovesTheTableStoppedAtAnyStepCompletesWhenRunAgain() throws IOException {
        Path path = tmp.resolve("move.vhd");
        byte[] model = diskOf(DiskType.DIFFERENCING, path, 14);
        // Too large for a byte-array model of the whole disk; 4 GiB needs 2048 entries, 8 KiB, more than the room.
        long newSize = 4L << 30;
        List<String> steps = stepsOf(path, newSize, false);
        assertTrue(steps.contains("table copied"), steps::toString);
        for (int stop = 0; stop < steps.size(); stop++) {
            Path copy = tmp.resolve("move-crash-" + stop + ".vhd");
            Files.copy(path, copy);
            int stopAt = stop;
            int[] seen = {0};
            assertThrows(Crash.class, () -> Resize.run(copy, newSize, false, ProgressListener.NONE, step -> {
                if (seen[0]++ == stopAt) {
                    throw new Crash(step);
                }
            }));
            Resize.run(copy, newSize, false, ProgressListener.NONE, Checkpoint.NONE);
            try (VhdDisk disk = Vhd.openReadOnly(copy)) {
                assertEquals(newSize, disk.size());
                byte[] back = new byte[OLD_SIZE];
                disk.read(0, back);
                assertArrayEquals(model, back, "after step " + stop);
                byte[] beyond = new byte[MIB];
                disk.read(newSize - MIB, beyond);
                assertArrayEquals(new byte[MIB], beyond);
            }
            Files.delete(copy);
        }
    }

    @Test
    void aShrinkStoppedAtAnyStepCompletesWhenRunAgain() throws IOException {
        Path path = tmp.resolve("shrink.vhd");
        byte[] model = new byte[OLD_SIZE];
        try (VhdDisk disk = Vhd.create(path, CreateOptions.dynamic(OLD_SIZE))) {
            randomWrites(disk, model, new Random(15), 40, 0, 3 * MIB);
        }
        assertEveryCrashPointIsResumable(path, model, 3 * MIB + 512);
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(longs = {24L << 20, 3L << 20})
    void aFixedResizeStoppedAtAnyStepCompletesWhenRunAgain(long newSize) throws IOException {
        Path path = tmp.resolve("fixed.vhd");
        byte[] model = new byte[OLD_SIZE];
        try (VhdDisk disk = Vhd.create(path, CreateOptions.fixed(OLD_SIZE))) {
            randomWrites(disk, model, new Random(16), 40, 0, 3 * MIB);
        }
        List<String> steps = stepsOf(path, newSize, false);
        assertEquals(2, steps.size(), steps::toString);
        assertEveryCrashPointIsResumableForFixed(path, model, newSize, steps.size());
    }

    /**
     * A fixed disk stopped after its first step opens at the new size; grown, the old footer's sector
     * is still in the new range (the documented window), and a second run does not clear it, since
     * the size is already right. Everything else reads as it should.
     */
    private void assertEveryCrashPointIsResumableForFixed(Path original, byte[] model, long newSize, int steps)
            throws IOException {
        for (int stop = 0; stop < steps; stop++) {
            Path copy = tmp.resolve("fixed-crash-" + stop + ".vhd");
            Files.copy(original, copy);
            int stopAt = stop;
            int[] seen = {0};
            assertThrows(Crash.class, () -> Resize.run(copy, newSize, false, ProgressListener.NONE, step -> {
                if (seen[0]++ == stopAt) {
                    throw new Crash(step);
                }
            }));
            try (VhdDisk disk = Vhd.openReadOnly(copy)) {
                assertTrue(disk.size() == newSize || disk.size() == model.length, "size " + disk.size());
                int common = (int) Math.min(newSize, model.length);
                byte[] back = new byte[common];
                disk.read(0, back);
                assertArrayEquals(Arrays.copyOf(model, common), back);
            }
            Resize.run(copy, newSize, false, ProgressListener.NONE, Checkpoint.NONE);
            try (VhdDisk disk = Vhd.openReadOnly(copy)) {
                assertEquals(newSize, disk.size());
            }
            Files.delete(copy);
        }
    }
}
