package org.vhdkit.vhd.transform;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.vhd.transform.TestDisks.MIB;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import java.io.IOException;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.disk.Extent;
import org.vhdkit.vhd.format.DiskType;
import org.vhdkit.vhd.format.DynamicHeader;
import org.vhdkit.vhd.format.Footer;
import org.vhdkit.vhd.format.ParentLocator;
import org.vhdkit.vhd.format.VhdFormatException;
import org.vhdkit.vhd.testing.Corpus;
import org.vhdkit.vhd.testing.ExternalTools;

/**
 * Compaction against a model: the disk reads the same afterwards, the file shrinks by the blocks
 * that changed nothing, and everything that makes the disk itself (footer, header, parent link,
 * locators, modification time) stays.
 */
class CompactionTest {
    private static final int BLOCK = 2 * MIB;

    @TempDir
    Path tmp;

    /** A dynamic disk with random data, some of whose blocks are then overwritten with zeros. */
    private static byte[] dynamicWithZeroedBlocks(Path path, int blocks, long seed) throws IOException {
        byte[] model = new byte[blocks * BLOCK];
        Random random = new Random(seed);
        try (VhdDisk disk = Vhd.create(path, CreateOptions.dynamic(model.length)
                .withUniqueId(new UUID(seed, 42)).withTimestamp(Instant.parse("2020-02-02T02:02:02Z")))) {
            TestDisks.fill(disk, model, seed);
            for (int block = 0; block < blocks; block++) {
                if (random.nextInt(3) == 0) {
                    TestDisks.write(disk, model, (long) block * BLOCK, new byte[BLOCK]);
                }
            }
            TestDisks.write(disk, model, BLOCK, TestDisks.randomBytes(random, 3000)); // at least one block of data
        }
        return model;
    }

    private static Compaction.Result compact(Path image) throws IOException {
        return Compaction.compact(image, ProgressListener.NONE);
    }

    private static void assertReadsAs(byte[] model, Path image) throws IOException {
        try (VhdDisk disk = Vhd.openReadOnly(image)) {
            TestDisks.assertContents(model, disk);
            assertTrue(disk.warnings().isEmpty(), disk.warnings().toString());
        }
    }

    private static Footer footer(Path image) throws IOException {
        try (VhdDisk disk = Vhd.open(image, OpenOptions.READ_ONLY.withoutParent())) {
            return disk.footer();
        }
    }

    private static DynamicHeader header(Path image) throws IOException {
        try (VhdDisk disk = Vhd.open(image, OpenOptions.READ_ONLY.withoutParent())) {
            return disk.dynamicHeader().orElseThrow();
        }
    }

    private static int allocated(Path image) throws IOException {
        try (VhdDisk disk = Vhd.open(image, OpenOptions.READ_ONLY.withoutParent())) {
            return disk.blockAllocationTable().orElseThrow().allocatedCount();
        }
    }

    @Test
    void aDynamicDiskWhoseBlocksWereZeroedShrinksAndKeepsItsContentsAndIdentity() throws IOException {
        Path image = tmp.resolve("disk.vhd");
        byte[] model = dynamicWithZeroedBlocks(image, 12, 1);
        Footer footerBefore = footer(image);
        DynamicHeader headerBefore = header(image);
        int blocksBefore = allocated(image);
        FileTime modified = FileTime.from(Instant.parse("2021-03-04T05:06:07Z"));
        Files.setLastModifiedTime(image, modified);
        long sizeBefore = Files.size(image);

        Compaction.Result result = compact(image);

        assertReadsAs(model, image);
        long needed = TestDisks.nonZeroBlocks(model, BLOCK);
        assertTrue(needed < blocksBefore, "the test zeroes some blocks");
        assertEquals(new Compaction.Result(image, DiskType.DYNAMIC, sizeBefore, Files.size(image), blocksBefore,
                (int) needed), result);
        assertEquals(blocksBefore - needed, result.releasedBlocks());
        assertEquals(needed, allocated(image));
        assertEquals(sizeBefore - (blocksBefore - needed) * (BLOCK + 4096), Files.size(image));
        assertEquals(footerBefore, footer(image), "the footer, UUID and time stamp included, is the same");
        assertEquals(headerBefore, header(image));
        assertEquals(modified, Files.getLastModifiedTime(image));
        try (Stream<Path> files = Files.list(tmp)) {
            assertEquals(List.of(image), files.toList(), "no staged file is left behind");
        }
    }

    @Test
    void aCompactedDynamicDiskIsLaidOutAsAConversionWouldBeAndCompactingAgainChangesNoByte() throws IOException {
        Path image = tmp.resolve("disk.vhd");
        dynamicWithZeroedBlocks(image, 9, 2);
        compact(image);
        try (var disk = Conversion.openSource(image)) {
            assertEquals(Measurement.ofConversion(disk, ImageType.DYNAMIC, 0, ProgressListener.NONE).requiredBytes(),
                    Files.size(image));
        }
        byte[] once = Files.readAllBytes(image);
        compact(image);
        assertArrayEquals(once, Files.readAllBytes(image));
    }

    @Test
    void aCompactedDiskTakesNewWritesAndQemuReadsIt() throws IOException {
        ExternalTools.assumeAvailable("qemu-img");
        Path image = tmp.resolve("disk.vhd");
        byte[] model = dynamicWithZeroedBlocks(image, 10, 3);
        compact(image);
        TestDisks.assertSameBytes(model, TestDisks.qemuContents(image, "vpc", tmp), "qemu after compaction");
        assertEquals(model.length, TestDisks.qemuVirtualSize(image));
        try (VhdDisk disk = Vhd.open(image, OpenOptions.READ_WRITE)) {
            TestDisks.scribble(disk, model, 4, 30);
        }
        assertReadsAs(model, image);
        TestDisks.assertSameBytes(model, TestDisks.qemuContents(image, "vpc", tmp), "qemu after new writes");
    }

    /** qemu puts its first block right after the table; nothing of ours may lie there to show through. */
    @Test
    void qemuWritesIntoACompactedImageWithoutBlocksAndBothReadTheSame() throws IOException {
        ExternalTools.assumeAvailable("qemu-io", "qemu-img");
        Path image = tmp.resolve("disk.vhd");
        int size = 6 * BLOCK;
        try (VhdDisk disk = Vhd.create(image, CreateOptions.dynamic(size))) {
            disk.write(BLOCK, new byte[BLOCK]);
        }
        assertEquals(0, compact(image).blocksAfter());
        ExternalTools.run(TestDisks.TOOL_TIMEOUT, "qemu-io", "-f", "vpc", "-c", "write -P 0x5a 4096 8192",
                image.toString()).requireSuccess();
        byte[] model = new byte[size];
        Arrays.fill(model, 4096, 4096 + 8192, (byte) 0x5a);
        assertReadsAs(model, image);
        TestDisks.assertSameBytes(model, TestDisks.qemuContents(image, "vpc", tmp), "qemu");
    }

    @Test
    void aDifferencingDiskDropsTheBlocksThatWroteBackItsParentsDataAndKeepsItsLink() throws IOException {
        Path base = tmp.resolve("base.vhd");
        int size = 10 * BLOCK;
        byte[] model = new byte[size];
        Random random = new Random(5);
        try (VhdDisk disk = Vhd.create(base, CreateOptions.dynamic(size))) {
            TestDisks.write(disk, model, 0, TestDisks.randomBytes(random, size));
        }
        Path child = tmp.resolve("child.vhd");
        try (VhdDisk disk = Vhd.create(child, CreateOptions.differencing(base))) {
            // Blocks 1 and 2: the parent's own bytes written back, whole and in part.
            disk.write(BLOCK, Arrays.copyOfRange(model, BLOCK, 2 * BLOCK));
            disk.write(2 * BLOCK + 4096, Arrays.copyOfRange(model, 2 * BLOCK + 4096, 2 * BLOCK + 9000));
            // Block 4: zeros over the parent's data; block 6: one sector changed among written-back ones;
            // block 8: new data.
            TestDisks.write(disk, model, 4L * BLOCK + 512, new byte[4096]);
            disk.write(6L * BLOCK, Arrays.copyOfRange(model, 6 * BLOCK, 6 * BLOCK + 65536));
            TestDisks.write(disk, model, 6L * BLOCK + 1024, new byte[] {(byte) ~model[6 * BLOCK + 1024]});
            TestDisks.write(disk, model, 8L * BLOCK, TestDisks.randomBytes(random, 100_000));
        }
        assertEquals(5, allocated(child));
        Footer footerBefore = footer(child);
        DynamicHeader headerBefore = header(child);
        List<byte[]> locatorsBefore = locatorData(child);
        byte[] baseBefore = Files.readAllBytes(base);

        Compaction.Result result = compact(child);

        assertEquals(DiskType.DIFFERENCING, result.type());
        assertEquals(2, result.releasedBlocks());
        assertEquals(3, allocated(child));
        assertTrue(result.fileSizeAfter() < result.fileSizeBefore());
        assertReadsAs(model, child);
        assertEquals(footerBefore, footer(child));
        DynamicHeader after = header(child);
        assertEquals(headerBefore.parentUuid(), after.parentUuid());
        assertEquals(headerBefore.parentTimestamp(), after.parentTimestamp());
        assertEquals(headerBefore.parentName(), after.parentName());
        assertEquals(headerBefore.blockSize(), after.blockSize());
        assertEquals(headerBefore.maxTableEntries(), after.maxTableEntries());
        List<byte[]> locatorsAfter = locatorData(child);
        assertEquals(locatorsBefore.size(), locatorsAfter.size());
        for (int i = 0; i < locatorsBefore.size(); i++) {
            assertArrayEquals(locatorsBefore.get(i), locatorsAfter.get(i), "locator " + i);
        }
        assertArrayEquals(baseBefore, Files.readAllBytes(base), "the parent is not touched");
    }

    /** The data of each non-empty parent locator, read from the file. */
    private static List<byte[]> locatorData(Path image) throws IOException {
        byte[] file = Files.readAllBytes(image);
        List<byte[]> data = new ArrayList<>();
        for (ParentLocator locator : header(image).locators()) {
            if (!locator.isEmpty()) {
                int at = (int) locator.dataOffset();
                data.add(Arrays.copyOfRange(file, at, at + locator.dataLength()));
            }
        }
        return data;
    }

    @Test
    void aChildLargerThanItsParentDropsZeroBlocksPastTheParentsEnd() throws IOException {
        Path base = tmp.resolve("base.vhd");
        Vhd.create(base, CreateOptions.dynamic(2 * BLOCK)).close();
        Path child = tmp.resolve("child.vhd");
        CreateOptions d = CreateOptions.differencing(base);
        byte[] model = new byte[4 * BLOCK];
        try (VhdDisk disk = Vhd.create(child, new CreateOptions(d.type(), 4L * BLOCK, d.blockSize(), d.parent(),
                false, d.creator(), Optional.empty(), Optional.empty()))) {
            TestDisks.write(disk, model, 3L * BLOCK, new byte[BLOCK]);
            TestDisks.write(disk, model, 2L * BLOCK, new byte[] {7});
        }
        assertEquals(1, compact(child).releasedBlocks());
        assertReadsAs(model, child);
    }

    @Test
    void compactingAParentKeepsItsChildrenWorking() throws IOException {
        Path base = tmp.resolve("base.vhd");
        byte[] model = dynamicWithZeroedBlocks(base, 8, 6);
        Path child = tmp.resolve("child.vhd");
        try (VhdDisk disk = Vhd.create(child, CreateOptions.differencing(base))) {
            TestDisks.scribble(disk, model, 7, 10);
        }
        assertReadsAs(model, child);
        assertTrue(compact(base).releasedBlocks() > 0);
        assertReadsAs(model, child); // no warnings either: the parent's UUID and modification time are kept
    }

    @Test
    void onJimfsCompactionIsTheSame() throws IOException {
        try (FileSystem jimfs = Jimfs.newFileSystem(Configuration.unix())) {
            Path dir = jimfs.getPath("/images");
            Files.createDirectories(dir);
            Path image = dir.resolve("disk.vhd");
            byte[] model = dynamicWithZeroedBlocks(image, 7, 8);
            Compaction.Result result = compact(image);
            assertTrue(result.releasedBlocks() > 0);
            assertReadsAs(model, image);
            try (Stream<Path> files = Files.list(dir)) {
                assertEquals(List.of(image), files.toList());
            }
        }
    }

    @Test
    void fixedAndRawImagesAreRefusedAndLeftAlone() throws IOException {
        Path fixed = tmp.resolve("fixed.vhd");
        Vhd.create(fixed, CreateOptions.fixed(MIB)).close();
        byte[] before = Files.readAllBytes(fixed);
        VhdFormatException e = assertThrows(VhdFormatException.class, () -> compact(fixed));
        assertEquals(fixed + ": footer Disk Type at offset " + (MIB + 60) + " (0x10003c): a fixed disk has no blocks"
                + " to release; only dynamic and differencing disks can be compacted (convert it to a dynamic disk"
                + " instead)", e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(fixed));

        Path raw = tmp.resolve("disk.img");
        Files.write(raw, new byte[MIB]);
        e = assertThrows(VhdFormatException.class, () -> compact(raw));
        assertTrue(e.getMessage().endsWith("the file is not a VHD (a raw image?), and only dynamic and differencing"
                + " VHDs can be compacted"), e.getMessage());
        try (Stream<Path> files = Files.list(tmp)) {
            assertEquals(2, files.count(), "nothing staged is left behind");
        }
    }

    @Test
    @SuppressWarnings("try") // the writer is held open, not used
    void anImageOpenForWritingIsNotCompacted() throws IOException {
        Path image = tmp.resolve("disk.vhd");
        dynamicWithZeroedBlocks(image, 4, 9);
        try (VhdDisk writer = Vhd.open(image, OpenOptions.READ_WRITE)) {
            IOException e = assertThrows(IOException.class, () -> compact(image));
            assertTrue(e.getMessage().contains("in use"), e.getMessage());
        }
        try (Stream<Path> files = Files.list(tmp)) {
            assertEquals(List.of(image), files.toList());
        }
    }

    @Test
    void aDisk2vhdImageOfZeroBlocksShrinksToNoBlockAndKeepsItsCreator() throws IOException {
        Path image = Corpus.image("qemu-d2v-zerofilled.vhd.bz2", tmp);
        Footer before = footer(image);
        assertEquals(126, allocated(image));
        Compaction.Result result = compact(image);
        assertEquals(126, result.releasedBlocks());
        assertEquals(0, allocated(image));
        assertEquals(before, footer(image));
        assertEquals("d2v\0", footer(image).creatorApplication());
        assertTrue(result.fileSizeAfter() < 1 * MIB, "file of " + result.fileSizeAfter());
        try (VhdDisk disk = Vhd.openReadOnly(image)) {
            assertEquals(List.of(new Extent(0, before.currentSize(), Extent.ZERO)), disk.extents(0, disk.size()));
        }
        if (ExternalTools.find("qemu-img").isPresent()) {
            assertEquals(before.currentSize(), TestDisks.qemuVirtualSize(image));
        }
    }

    @Test
    void aWindowsImageKeepsItsContents() throws IOException {
        Path image = Corpus.image("dissect-hypervisor-dynamic.vhd.gz", tmp);
        byte[] model;
        try (VhdDisk disk = Vhd.openReadOnly(image)) {
            model = TestDisks.contents(disk);
        }
        Footer before = footer(image);
        compact(image);
        assertReadsAs(model, image);
        assertEquals(before, footer(image));
    }

    @Test
    void progressCoversTheDisk() throws IOException {
        Path image = tmp.resolve("disk.vhd");
        byte[] model = dynamicWithZeroedBlocks(image, 5, 10);
        List<Long> done = new ArrayList<>();
        Compaction.compact(image, (d, total) -> {
            assertEquals(model.length, total);
            done.add(d);
        });
        assertEquals(0, done.getFirst());
        assertEquals(model.length, done.getLast());
    }
}
