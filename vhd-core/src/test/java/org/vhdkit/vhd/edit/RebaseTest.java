package org.vhdkit.vhd.edit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.vhd.edit.EditTesting.MIB;
import static org.vhdkit.vhd.edit.EditTesting.assertReadsAs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.ParentNotFoundException;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.format.DynamicHeader;
import org.vhdkit.vhd.format.ParentLocator;
import org.vhdkit.vhd.format.PlatformCode;
import org.vhdkit.vhd.format.VhdFormatException;
import org.vhdkit.vhd.io.ByteStore;

/** Rebasing against models: the child shows the same content afterwards, through its new parent. */
class RebaseTest {
    private static final int SIZE = 12 * MIB;

    @TempDir
    Path tmp;

    private byte[] model;

    /** A dynamic base at {@code base} and a child of it at {@code child}; {@link #model} is what the child shows. */
    private void chainOf(Path base, Path child, long seed) throws IOException {
        Files.createDirectories(base.getParent());
        Files.createDirectories(child.getParent());
        model = new byte[SIZE];
        Random random = new Random(seed);
        try (VhdDisk disk = Vhd.create(base, CreateOptions.dynamic(SIZE))) {
            EditTesting.randomWrites(disk, model, random, 40);
        }
        try (VhdDisk disk = Vhd.create(child, CreateOptions.differencing(base))) {
            // The first half only: over its parent's data the child takes whole blocks, and the rebases
            // below need blocks the child does not hold.
            EditTesting.alignedWrites(disk, model, random, 20, 0, SIZE / 2);
        }
    }

    private static String locator(Path child, PlatformCode platform) throws IOException {
        try (VhdDisk disk = Vhd.open(child, OpenOptions.READ_ONLY.withoutParent());
             ByteStore store = ByteStore.open(child, ByteStore.Mode.READ_ONLY)) {
            for (ParentLocator locator : disk.dynamicHeader().orElseThrow().locators()) {
                if (locator.platformCode() == platform.code()) {
                    byte[] data = store.readBytes(locator.dataOffset(), locator.dataLength());
                    return platform.decodePath(data, data.length).orElseThrow();
                }
            }
        }
        throw new AssertionError(child + " has no " + platform + " locator");
    }

    @Test
    void anUnsafeRebaseFindsAParentCopiedToAnotherFolder() throws IOException {
        Path base = tmp.resolve("old/base.vhd");
        Path child = tmp.resolve("vms/child.vhd");
        chainOf(base, child, 1);
        Path copy = Files.createDirectories(tmp.resolve("archive")).resolve("base.vhd");
        Files.copy(base, copy);
        Files.delete(base);
        assertThrows(ParentNotFoundException.class, () -> Vhd.openReadOnly(child));

        RebaseResult result = ImageEdits.rebase(child, copy, RebaseMode.UNSAFE, ProgressListener.NONE);
        assertEquals(result.oldParentUuid(), result.newParentUuid(), "a copy has its original's UUID");
        assertTrue(result.warnings().isEmpty(), result.warnings()::toString);
        assertEquals(0, result.bytesCopied());
        try (VhdDisk disk = Vhd.openReadOnly(child)) {
            assertEquals(copy.toRealPath(), disk.parent().orElseThrow().path().toRealPath());
            assertTrue(disk.warnings().isEmpty(), disk.warnings()::toString);
            assertReadsAs(model, disk);
        }
        assertEquals("..\\archive\\base.vhd", locator(child, PlatformCode.W2RU));
        assertEquals(copy.toAbsolutePath().toString().replace('/', '\\'), locator(child, PlatformCode.W2KU));
        // The whole chain moved elsewhere still resolves, by the relative locator.
        Path moved = tmp.resolve("moved");
        Files.createDirectories(moved);
        Files.move(tmp.resolve("vms"), moved.resolve("vms"));
        Files.move(tmp.resolve("archive"), moved.resolve("archive"));
        try (VhdDisk disk = Vhd.openReadOnly(moved.resolve("vms/child.vhd"))) {
            assertReadsAs(model, disk);
        }
    }

    @Test
    void libvhdiFollowsTheNewLink() throws IOException {
        Path base = tmp.resolve("d/base.vhd");
        Path child = tmp.resolve("d/child.vhd");
        chainOf(base, child, 2);
        Path renamed = tmp.resolve("d/renamed-base.vhd");
        Files.move(base, renamed);
        ImageEdits.rebase(child, renamed, RebaseMode.UNSAFE, ProgressListener.NONE);
        try (VhdDisk disk = Vhd.openReadOnly(child)) {
            assertEquals("renamed-base.vhd", disk.dynamicHeader().orElseThrow().parentName());
        }
        EditTesting.assertLibvhdiReadsAs(model, child, tmp.resolve("mnt"));
    }

    @Test
    void aSafeRebaseOntoAParentWithOtherContentKeepsWhatTheChildShows() throws IOException {
        Path base = tmp.resolve("s/base.vhd");
        Path child = tmp.resolve("s/child.vhd");
        chainOf(base, child, 3);
        byte[] baseModel;
        try (VhdDisk disk = Vhd.openReadOnly(base)) {
            baseModel = new byte[SIZE];
            disk.read(0, baseModel);
        }
        // Another disk: the base's content with some 4 KiB units changed.
        Path other = tmp.resolve("s/other.vhd");
        byte[] otherModel = baseModel.clone();
        try (VhdDisk disk = Vhd.create(other, CreateOptions.dynamic(SIZE))) {
            disk.write(0, otherModel);
            EditTesting.alignedWrites(disk, otherModel, new Random(4), 15, 0, SIZE);
        }
        byte[] otherFile = Files.readAllBytes(other);
        RebaseResult result = ImageEdits.rebase(child, other, RebaseMode.SAFE, ProgressListener.NONE);
        assertTrue(result.bytesCopied() > 0, "something differed");
        assertTrue(result.bytesCopied() < SIZE / 2, "only what differed: " + result.bytesCopied());
        try (VhdDisk disk = Vhd.openReadOnly(child)) {
            assertEquals(other.toRealPath(), disk.parent().orElseThrow().path().toRealPath());
            assertReadsAs(model, disk);
        }
        assertArrayEquals(otherFile, Files.readAllBytes(other), "the new parent is only read");
        Files.delete(base);
        EditTesting.assertLibvhdiReadsAs(model, child, tmp.resolve("mnt"));
    }

    @Test
    void aSafeRebaseOntoTheGrandparentMakesTheMiddleDiskUnnecessary() throws IOException {
        Path base = tmp.resolve("g/base.vhd");
        Path middle = tmp.resolve("g/middle.vhd");
        chainOf(base, middle, 5);
        Path top = tmp.resolve("g/top.vhd");
        try (VhdDisk disk = Vhd.create(top, CreateOptions.differencing(middle))) {
            EditTesting.randomWrites(disk, model, new Random(6), 30);
        }
        ImageEdits.rebase(top, base, RebaseMode.SAFE, ProgressListener.NONE);
        Files.delete(middle);
        try (VhdDisk disk = Vhd.openReadOnly(top)) {
            assertReadsAs(model, disk);
        }
    }

    @Test
    void refusalsChangeNothing() throws IOException {
        Path base = tmp.resolve("r/base.vhd");
        Path child = tmp.resolve("r/child.vhd");
        chainOf(base, child, 7);
        Path grandchild = tmp.resolve("r/grandchild.vhd");
        Vhd.create(grandchild, CreateOptions.differencing(child)).close();
        Path larger = tmp.resolve("r/larger.vhd");
        Vhd.create(larger, CreateOptions.dynamic(SIZE + MIB)).close();
        byte[] before = Files.readAllBytes(child);

        VhdFormatException refused = assertThrows(VhdFormatException.class,
                () -> ImageEdits.rebase(child, larger, RebaseMode.UNSAFE, ProgressListener.NONE));
        assertTrue(refused.getMessage().contains("is larger than this disk"), refused.getMessage());
        refused = assertThrows(VhdFormatException.class,
                () -> ImageEdits.rebase(child, child, RebaseMode.UNSAFE, ProgressListener.NONE));
        assertTrue(refused.getMessage().contains("this disk itself"), refused.getMessage());
        refused = assertThrows(VhdFormatException.class,
                () -> ImageEdits.rebase(child, grandchild, RebaseMode.SAFE, ProgressListener.NONE));
        assertTrue(refused.getMessage().contains("loop"), refused.getMessage());
        refused = assertThrows(VhdFormatException.class,
                () -> ImageEdits.rebase(base, larger, RebaseMode.UNSAFE, ProgressListener.NONE));
        assertTrue(refused.getMessage().contains("only a differencing disk"), refused.getMessage());
        assertArrayEquals(before, Files.readAllBytes(child));
    }

    @ParameterizedTest
    @EnumSource(RebaseMode.class)
    void aRebaseStoppedAtAnyStepLeavesTheChildReadableAndCompletesWhenRunAgain(RebaseMode mode) throws IOException {
        Path base = tmp.resolve("c/base.vhd");
        Path child = tmp.resolve("c/child.vhd");
        chainOf(base, child, 8);
        Path copy = tmp.resolve("c/copy-of-base.vhd");
        Files.copy(base, copy);
        Path pristine = tmp.resolve("pristine.vhd");
        Files.copy(child, pristine);
        List<String> steps = new ArrayList<>();
        Rebase.run(child, copy, mode, ProgressListener.NONE, steps::add);
        assertTrue(steps.size() >= 3, steps::toString);
        for (int stop = 0; stop < steps.size(); stop++) {
            Files.copy(pristine, child, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            int stopAt = stop;
            int[] seen = {0};
            assertThrows(ResizeTest.Crash.class, () -> Rebase.run(child, copy, mode, ProgressListener.NONE, step -> {
                if (seen[0]++ == stopAt) {
                    throw new ResizeTest.Crash(step);
                }
            }));
            try (VhdDisk disk = Vhd.openReadOnly(child)) {
                assertReadsAs(model, disk);
            }
            Rebase.run(child, copy, mode, ProgressListener.NONE, Checkpoint.NONE);
            try (VhdDisk disk = Vhd.openReadOnly(child)) {
                assertEquals(copy.toRealPath(), disk.parent().orElseThrow().path().toRealPath(), "after " + steps.get(stop));
                assertReadsAs(model, disk);
            }
        }
    }

    @Test
    void repeatedRebasesCostAFewKibEachAndTheChildStillTakesWrites() throws IOException {
        Path base = tmp.resolve("x/base.vhd");
        Path child = tmp.resolve("x/child.vhd");
        chainOf(base, child, 9);
        Path copy = tmp.resolve("x/copy.vhd");
        Files.copy(base, copy);
        long before = Files.size(child);
        for (int i = 0; i < 4; i++) {
            ImageEdits.rebase(child, i % 2 == 0 ? copy : base, RebaseMode.UNSAFE, ProgressListener.NONE);
        }
        long growth = Files.size(child) - before;
        assertTrue(growth <= 4 * 8192, "grew by " + growth);
        try (VhdDisk disk = Vhd.open(child, OpenOptions.READ_WRITE)) {
            EditTesting.randomWrites(disk, model, new Random(10), 40);
        }
        try (VhdDisk disk = Vhd.openReadOnly(child)) {
            assertReadsAs(model, disk);
            assertTrue(disk.warnings().isEmpty(), disk.warnings()::toString);
            DynamicHeader header = disk.dynamicHeader().orElseThrow();
            assertEquals(disk.parent().orElseThrow().footer().uniqueId(), header.parentUuid());
        }
    }
}
