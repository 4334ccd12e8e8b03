package org.vhdkit.vhd.edit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.vhd.edit.EditTesting.KIB;
import static org.vhdkit.vhd.edit.EditTesting.MIB;
import static org.vhdkit.vhd.edit.EditTesting.assertReadsAs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.format.DiskType;
import org.vhdkit.vhd.format.VhdFormatException;

/** Merging against models of every level of a chain. */
class MergeTest {
    private static final long SIZE = 24L * MIB;

    @TempDir
    Path tmp;

    /** files.get(0) is the base; models.get(i) is what level i shows. */
    private record Chain(List<Path> files, List<byte[]> models) {
        Path top() {
            return files.getLast();
        }
    }

    @FunctionalInterface
    private interface Writer {
        void write(VirtualDisk disk, byte[] model, Random random) throws IOException;
    }

    /** Random writes of every shape, partial sectors included. */
    private static final Writer AWKWARD = (disk, model, random) -> EditTesting.randomWrites(disk, model, random, 50);
    /** Whole 4 KiB units only, so that vhdimount can judge differencing disks (see EditTesting.alignedWrites). */
    private static final Writer ALIGNED = (disk, model, random) ->
            EditTesting.alignedWrites(disk, model, random, 30, 0, model.length);

    /**
     * A dynamic base of {@code size} bytes and {@code levels} differencing disks on it, in
     * {@code dir}, each written by {@code writer}; the second level on uses 512 KiB blocks, so that
     * blocks of one level straddle those of another.
     */
    private static Chain chain(Path dir, long size, int levels, Writer writer, long seed) throws IOException {
        Files.createDirectories(dir);
        Random random = new Random(seed);
        List<Path> files = new ArrayList<>();
        List<byte[]> models = new ArrayList<>();
        byte[] model = new byte[(int) size];
        Path base = dir.resolve("base.vhd");
        try (VhdDisk disk = Vhd.create(base, CreateOptions.dynamic(size))) {
            writer.write(disk, model, random);
        }
        files.add(base);
        models.add(model.clone());
        for (int level = 1; level <= levels; level++) {
            Path child = dir.resolve("level" + level + ".vhd");
            CreateOptions options = CreateOptions.differencing(files.getLast());
            if (level >= 2) {
                options = options.withBlockSize(512 * KIB);
            }
            try (VhdDisk disk = Vhd.create(child, options)) {
                writer.write(disk, model, random);
            }
            files.add(child);
            models.add(model.clone());
        }
        return new Chain(files, models);
    }

    private static void assertFileReadsAs(byte[] model, Path file) throws IOException {
        try (VhdDisk disk = Vhd.openReadOnly(file)) {
            assertReadsAs(model, disk);
        }
    }

    @Test
    void mergingAThreeLevelChainIntoItsBaseGivesItTheFlattenedContent() throws IOException {
        Chain chain = chain(tmp.resolve("chain"), SIZE, 3, AWKWARD, 1);
        long[] reported = {0, 0};
        MergeResult result = ImageEdits.merge(chain.top(), MergeOptions.into(chain.files().getFirst()),
                (done, total) -> {
                    reported[0] = done;
                    reported[1] = total;
                });
        assertEquals(chain.files().getFirst(), result.target());
        assertEquals(List.of(chain.files().get(3), chain.files().get(2), chain.files().get(1)), result.merged());
        assertEquals(result.merged(), result.removed());
        assertFalse(result.targetGrown());
        assertTrue(result.bytesWritten() > 0);
        assertEquals(SIZE, reported[0]);
        assertEquals(SIZE, reported[1]);
        for (Path merged : result.merged()) {
            assertFalse(Files.exists(merged), merged + " deleted");
        }
        byte[] flattened = chain.models().getLast();
        assertFileReadsAs(flattened, chain.files().getFirst());
        try (VhdDisk base = Vhd.openReadOnly(chain.files().getFirst())) {
            assertEquals(DiskType.DYNAMIC, base.type());
            assertTrue(base.warnings().isEmpty(), base.warnings()::toString);
        }
        EditTesting.assertLibvhdiReadsAs(flattened, chain.files().getFirst(), tmp.resolve("mnt"));
        EditTesting.assertQemuReadsAs(flattened, chain.files().getFirst(), tmp);
        EditTesting.assertCleanAndQemuMapsOurBlocks(chain.files().getFirst());
    }

    @Test
    void mergingIntoTheParentChangesOnlyTheParentAndRemovesTheChild() throws IOException {
        Chain chain = chain(tmp.resolve("chain"), SIZE, 2, ALIGNED, 2);
        MergeResult result = ImageEdits.merge(chain.top(), MergeOptions.INTO_PARENT, ProgressListener.NONE);
        assertEquals(chain.files().get(1), result.target());
        assertEquals(List.of(chain.top()), result.removed());
        assertFalse(Files.exists(chain.top()));
        assertFileReadsAs(chain.models().get(2), chain.files().get(1));
        assertFileReadsAs(chain.models().get(0), chain.files().get(0));
        assertTrue(result.warnings().getFirst().contains("any other differencing disk made on it"),
                result.warnings()::toString);
        EditTesting.assertLibvhdiReadsAs(chain.models().get(2), chain.files().get(1), tmp.resolve("mnt"));
    }

    @Test
    void keepLeavesTheDisksAndTheTopStillShowsWhatItShowed() throws IOException {
        Chain chain = chain(tmp.resolve("chain"), SIZE, 3, AWKWARD, 3);
        MergeResult result = ImageEdits.merge(chain.top(), MergeOptions.into(chain.files().getFirst()).withKeep(true),
                ProgressListener.NONE);
        assertTrue(result.removed().isEmpty());
        assertTrue(result.warnings().stream().anyMatch(w -> w.contains("were kept")), result.warnings()::toString);
        for (Path file : chain.files()) {
            assertTrue(Files.exists(file));
        }
        assertFileReadsAs(chain.models().get(3), chain.top());
        assertFileReadsAs(chain.models().get(3), chain.files().getFirst());
    }

    @Test
    void mergingIntoADifferencingAncestorLeavesItsOwnParentAlone() throws IOException {
        Chain chain = chain(tmp.resolve("chain"), SIZE, 3, AWKWARD, 4);
        byte[] base = Files.readAllBytes(chain.files().getFirst());
        MergeResult result = ImageEdits.merge(chain.top(), MergeOptions.into(chain.files().get(1)),
                ProgressListener.NONE);
        assertEquals(List.of(chain.files().get(3), chain.files().get(2)), result.removed());
        assertFileReadsAs(chain.models().get(3), chain.files().get(1));
        assertArrayEquals(base, Files.readAllBytes(chain.files().getFirst()), "the base is not written");
        try (VhdDisk level1 = Vhd.openReadOnly(chain.files().get(1))) {
            assertEquals(DiskType.DIFFERENCING, level1.type());
        }
    }

    @Test
    void aChildLargerThanItsParentGrowsTheParentFirst() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("grow"));
        Path base = dir.resolve("base.vhd");
        byte[] model = new byte[12 * MIB];
        Random random = new Random(5);
        try (VhdDisk disk = Vhd.create(base, CreateOptions.dynamic(8 * MIB))) {
            EditTesting.randomWrites(disk, model, random, 30, 0, 8 * MIB);
        }
        Path child = dir.resolve("child.vhd");
        Vhd.create(child, CreateOptions.differencing(base)).close();
        ImageEdits.resize(child, 12 * MIB, false, ProgressListener.NONE);
        try (VhdDisk disk = Vhd.open(child, OpenOptions.READ_WRITE)) {
            EditTesting.randomWrites(disk, model, random, 30, 6 * MIB, 12 * MIB);
        }
        MergeResult result = ImageEdits.merge(child, MergeOptions.INTO_PARENT, ProgressListener.NONE);
        assertTrue(result.targetGrown());
        assertFileReadsAs(model, base);
    }

    /**
     * The merge is stopped after its first 64 MiB, and the files are copied at that moment as a crash
     * would leave them (writes not yet flushed included or not, as the page cache had them). In both
     * the copy and the original, every file opens, the top shows its content, and a second merge
     * completes the job.
     */
    @Test
    void aMergeStoppedHalfwayLeavesTheTopShowingItsContentAndCompletesWhenRunAgain() throws IOException {
        long size = 96L * MIB;
        Path dir = tmp.resolve("chain");
        Chain chain = chain(dir, size, 2, (disk, model, random) -> {
            EditTesting.randomWrites(disk, model, random, 30, 0, 60L * MIB);
            EditTesting.randomWrites(disk, model, random, 30, 60L * MIB, size);
        }, 6);
        Path crashed = Files.createDirectories(tmp.resolve("crashed"));
        RuntimeException stop = new RuntimeException("stopped");
        RuntimeException thrown = assertThrows(RuntimeException.class,
                () -> ImageEdits.merge(chain.top(), MergeOptions.into(chain.files().getFirst()), (done, total) -> {
                    if (done < total) {
                        try {
                            for (Path file : chain.files()) {
                                Files.copy(file, crashed.resolve(file.getFileName()));
                            }
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                        throw stop;
                    }
                }));
        assertEquals(stop, thrown);
        for (Path where : List.of(dir, crashed)) {
            Path top = where.resolve(chain.top().getFileName());
            Path base = where.resolve(chain.files().getFirst().getFileName());
            assertFileReadsAs(chain.models().getLast(), top);
            try (VhdDisk disk = Vhd.openReadOnly(base)) {
                assertEquals(size, disk.size());
                byte[] tail = new byte[(int) (size - 64 * MIB)];
                disk.read(64L * MIB, tail);
                assertArrayEquals(Arrays.copyOfRange(chain.models().getFirst(), 64 * MIB, (int) size), tail,
                        where + ": beyond the first 64 MiB the base is as it was");
            }
            ImageEdits.merge(top, MergeOptions.into(base), ProgressListener.NONE);
            assertFileReadsAs(chain.models().getLast(), base);
            assertFalse(Files.exists(top));
        }
    }

    @Test
    void mergingADiskWithoutAParentIsRefused() throws IOException {
        Path dynamic = tmp.resolve("dynamic.vhd");
        Vhd.create(dynamic, CreateOptions.dynamic(MIB)).close();
        VhdFormatException refused = assertThrows(VhdFormatException.class,
                () -> ImageEdits.merge(dynamic, MergeOptions.INTO_PARENT, ProgressListener.NONE));
        assertTrue(refused.getMessage().contains("only a differencing disk can be merged"), refused.getMessage());
    }

    @Test
    void aTargetOutsideTheChainIsRefusedBeforeAnythingIsWritten() throws IOException {
        Chain chain = chain(tmp.resolve("chain"), 4 * MIB, 2, ALIGNED, 7);
        Path stranger = tmp.resolve("stranger.vhd");
        Vhd.create(stranger, CreateOptions.dynamic(4 * MIB)).close();
        byte[] base = Files.readAllBytes(chain.files().getFirst());
        VhdFormatException refused = assertThrows(VhdFormatException.class,
                () -> ImageEdits.merge(chain.top(), MergeOptions.into(stranger), ProgressListener.NONE));
        assertTrue(refused.getMessage().contains("is not in this disk's parent chain"), refused.getMessage());
        refused = assertThrows(VhdFormatException.class,
                () -> ImageEdits.merge(chain.top(), MergeOptions.into(chain.top()), ProgressListener.NONE));
        assertTrue(refused.getMessage().contains("into itself"), refused.getMessage());
        assertArrayEquals(base, Files.readAllBytes(chain.files().getFirst()));
        assertTrue(Files.exists(chain.top()));
    }
}
