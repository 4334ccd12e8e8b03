package org.vhdkit.vhd.transform;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.vhd.transform.TestDisks.MIB;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystem;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.disk.Extent;
import org.vhdkit.vhd.disk.MemoryDisk;
import org.vhdkit.vhd.disk.RawDisk;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.format.DiskType;
import org.vhdkit.vhd.format.VhdFormatException;
import org.vhdkit.vhd.io.ForwardingByteStore;
import org.vhdkit.vhd.io.StoreInterception;
import org.vhdkit.vhd.testing.Corpus;
import org.vhdkit.vhd.testing.ExternalTools;
import org.vhdkit.vhd.testing.QemuImg;

/**
 * Conversion against a model: disks filled with seeded random data (and zeros written on purpose),
 * converted in every direction, compared byte for byte with the model, with what qemu-img reads in
 * the result, and with the sizes {@link Measurement} predicts.
 */
class ConversionTest {
    @TempDir
    Path tmp;
    private FileSystem jimfs;

    @AfterEach
    void closeJimfs() throws IOException {
        if (jimfs != null) {
            jimfs.close();
        }
    }

    private Path jimfsDir() throws IOException {
        jimfs = Jimfs.newFileSystem(Configuration.unix());
        Path dir = jimfs.getPath("/images");
        Files.createDirectories(dir);
        return dir;
    }

    /** A dynamic disk of {@code size} bytes filled by {@link TestDisks#fill}; returns the model. */
    private static byte[] dynamicDisk(Path path, int size, long seed) throws IOException {
        byte[] model = new byte[size];
        try (VhdDisk disk = Vhd.create(path, CreateOptions.dynamic(size))) {
            TestDisks.fill(disk, model, seed);
        }
        return model;
    }

    private static Conversion.Result convert(Path source, Path target, ConvertOptions options) throws IOException {
        try (VirtualDisk disk = Conversion.openSource(source)) {
            return Conversion.convert(disk, target, options, ProgressListener.NONE);
        }
    }

    private static void assertFileContents(byte[] model, Path image) throws IOException {
        try (VirtualDisk disk = Conversion.openSource(image)) {
            TestDisks.assertContents(model, disk);
        }
    }

    private static ConvertOptions to(ImageType type) {
        return ConvertOptions.to(type);
    }

    @Test
    void dynamicToFixedToRawToDynamicKeepsEveryByteAndTheSize() throws IOException {
        int size = 13 * MIB + 512 * 3; // not a whole number of blocks, nor of 4 KiB pieces
        Path dynamic = tmp.resolve("a.vhd");
        byte[] model = dynamicDisk(dynamic, size, 1);
        Path fixed = tmp.resolve("b.vhd");
        Path raw = tmp.resolve("c.img");
        Path again = tmp.resolve("d.vhd");

        convert(dynamic, fixed, to(ImageType.FIXED));
        convert(fixed, raw, to(ImageType.RAW));
        convert(raw, again, to(ImageType.DYNAMIC));

        assertFileContents(model, fixed);
        assertFileContents(model, raw);
        assertFileContents(model, again);
        assertEquals(size, Files.size(raw));
        try (VhdDisk f = Vhd.openReadOnly(fixed); VhdDisk d = Vhd.openReadOnly(again)) {
            assertEquals(DiskType.FIXED, f.type());
            assertEquals(DiskType.DYNAMIC, d.type());
            assertEquals(size, f.footer().currentSize());
            assertEquals(size, d.footer().currentSize());
            assertEquals(size, d.footer().originalSize());
            assertTrue(d.warnings().isEmpty(), d.warnings().toString());
            assertEquals(TestDisks.nonZeroBlocks(model, 2 * MIB), d.blockAllocationTable().orElseThrow().allocatedCount(),
                    "only blocks with non-zero bytes are allocated");
        }
        // The same bytes as the first conversion's file: layout is a function of the contents.
        Path dynamicAgain = tmp.resolve("e.vhd");
        convert(dynamic, dynamicAgain, to(ImageType.DYNAMIC));
        assertEquals(Files.size(dynamicAgain), Files.size(again));
    }

    @Test
    void qemuReadsTheSameSizeAndBytesInEveryConvertedImage() throws IOException {
        ExternalTools.assumeAvailable("qemu-img");
        int size = 11 * MIB;
        Path source = tmp.resolve("source.vhd");
        byte[] model = dynamicDisk(source, size, 2);
        for (ImageType type : ImageType.values()) {
            Path target = tmp.resolve("to-" + type + (type == ImageType.RAW ? ".img" : ".vhd"));
            convert(source, target, to(type));
            if (type == ImageType.RAW) {
                TestDisks.assertSameBytes(model, TestDisks.qemuContents(target, "raw", tmp), "qemu " + target);
                continue;
            }
            assertEquals(size, TestDisks.qemuVirtualSize(target), "qemu-img info virtual-size of " + target);
            TestDisks.assertSameBytes(model, TestDisks.qemuContents(target, "vpc", tmp), "qemu " + target);
            QemuImg.assertMapsTheBlocksOurTableAllocates(target);
        }
    }

    @Test
    void libvhdiReadsTheSizeOfConvertedImages() throws IOException {
        ExternalTools.assumeAvailable("vhdiinfo");
        int size = 9 * MIB;
        Path source = tmp.resolve("source.vhd");
        dynamicDisk(source, size, 3);
        for (ImageType type : List.of(ImageType.FIXED, ImageType.DYNAMIC)) {
            Path target = tmp.resolve("to-" + type + ".vhd");
            convert(source, target, to(type));
            ExternalTools.Result info = ExternalTools.run(TestDisks.TOOL_TIMEOUT, "vhdiinfo", target.toString())
                    .requireSuccess();
            assertTrue(info.stdout().contains("(" + size + " bytes)"), info.stdout());
        }
    }

    @Test
    void aChainOfThreeBecomesOneStandaloneDiskWithTheChainsContents() throws IOException {
        ExternalTools.assumeAvailable("qemu-img");
        int size = 12 * MIB;
        Path base = tmp.resolve("base.vhd");
        byte[] model = dynamicDisk(base, size, 4);
        Path middle = tmp.resolve("middle.vhd");
        Path top = tmp.resolve("top.vhd");
        try (VhdDisk disk = Vhd.create(middle, CreateOptions.differencing(base))) {
            TestDisks.scribble(disk, model, 5, 40);
            TestDisks.write(disk, model, 4 * MIB, new byte[MIB]); // zeros over the base's data
        }
        try (VhdDisk disk = Vhd.create(top, CreateOptions.differencing(middle))) {
            TestDisks.scribble(disk, model, 6, 40);
            TestDisks.write(disk, model, 100, new byte[3000]); // partial sectors of zeros
        }
        assertFileContents(model, top);
        for (ImageType type : ImageType.values()) {
            Path target = tmp.resolve("flat-" + type + (type == ImageType.RAW ? ".raw" : ".vhd"));
            convert(top, target, to(type));
            assertFileContents(model, target);
            if (type != ImageType.RAW) {
                try (VhdDisk flat = Vhd.openReadOnly(target)) {
                    assertTrue(flat.parent().isEmpty());
                    assertNotEquals(DiskType.DIFFERENCING, flat.type());
                }
                TestDisks.assertSameBytes(model, TestDisks.qemuContents(target, "vpc", tmp), "qemu " + target);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(ImageType.class)
    void onJimfsTheConversionIsTheSame(ImageType type) throws IOException {
        Path dir = jimfsDir();
        Path source = dir.resolve("source.vhd");
        byte[] model = dynamicDisk(source, 7 * MIB, 7);
        Path target = dir.resolve("target." + (type == ImageType.RAW ? "img" : "vhd"));
        Conversion.Result result = convert(source, target, to(type));
        assertFileContents(model, target);
        assertEquals(Files.size(target), result.fileSize());
        try (VirtualDisk disk = Conversion.openSource(source)) {
            assertEquals(Measurement.ofConversion(disk, type, 0, ProgressListener.NONE).requiredBytes(),
                    result.fileSize());
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of("source.vhd", target.getFileName().toString()),
                    files.map(p -> p.getFileName().toString()).sorted().toList(), "nothing else is left behind");
        }
    }

    @ParameterizedTest
    @EnumSource(ImageType.class)
    void zerosAreNotWrittenSoTheTargetIsSparse(ImageType type) throws IOException {
        int size = 64 * MIB;
        Path source = tmp.resolve("source.vhd");
        byte[] model = new byte[size];
        try (VhdDisk disk = Vhd.create(source, CreateOptions.dynamic(size))) {
            TestDisks.write(disk, model, 3 * MIB, TestDisks.randomBytes(new java.util.Random(8), 4096));
            TestDisks.write(disk, model, 40 * MIB, new byte[8 * MIB]); // allocated, zero
        }
        Path target = tmp.resolve("target");
        Conversion.Result result = convert(source, target, to(type));
        assertEquals(4096, result.dataBytes());
        assertFileContents(model, target);
        assertTrue(TestDisks.allocatedBytes(target) < 1 * MIB,
                target + " takes " + TestDisks.allocatedBytes(target) + " bytes on the host");
        if (type == ImageType.DYNAMIC) {
            try (VhdDisk disk = Vhd.openReadOnly(target)) {
                assertEquals(1, disk.blockAllocationTable().orElseThrow().allocatedCount());
            }
        }
    }

    /**
     * Regression: the raw target was written through a mapping, and on Linux 6.18's ext4 that
     * allocated space in the holes between the data too: from an image
     * with data in half of every 64 KiB the raw file took 1010 MiB per GiB where qemu-img's took 512
     * (64 MiB here: 56 against 32). Written with positional writes, it is as sparse as qemu's.
     */
    @Test
    void aRawTargetWithDataInHalfOfEvery64KiBIsAsSparseAsQemuImgsAndTheSameBytes() throws IOException {
        ExternalTools.assumeAvailable("qemu-img", "du", "sync");
        int size = 64 * MIB;
        Path source = tmp.resolve("half.vhd");
        java.util.Random random = new java.util.Random(64);
        try (VhdDisk disk = Vhd.create(source, CreateOptions.dynamic(size))) {
            byte[] half = new byte[64 << 10];
            for (int at = 0; at < size; at += half.length) {
                random.nextBytes(half);
                java.util.Arrays.fill(half, 32 << 10, half.length, (byte) 0);
                disk.write(at, half);
            }
        }
        Path ours = tmp.resolve("ours.raw");
        Path theirs = tmp.resolve("theirs.raw");
        convert(source, ours, to(ImageType.RAW));
        ExternalTools.run(TestDisks.TOOL_TIMEOUT, "qemu-img", "convert", "-f", "vpc", "-O", "raw", source.toString(),
                theirs.toString()).requireSuccess();
        // Forced, as ours is: the file system allocates the extent tree of delayed writes at writeback.
        ExternalTools.run(TestDisks.TOOL_TIMEOUT, "sync", theirs.toString()).requireSuccess();
        assertEquals(-1, Files.mismatch(ours, theirs), "the same bytes as qemu-img's output");
        long oursBytes = TestDisks.allocatedBytes(ours);
        long theirsBytes = TestDisks.allocatedBytes(theirs);
        // One file system block of slack, for where the extent tree's blocks fall.
        assertTrue(oursBytes <= theirsBytes + 4096, "ours takes " + oursBytes + " bytes on the host, qemu-img's "
                + theirsBytes);
    }

    @Test
    void theBlockSizeOfADynamicTargetIsTheOneAskedFor() throws IOException {
        Path source = tmp.resolve("source.vhd");
        byte[] model = dynamicDisk(source, 5 * MIB, 9);
        Path target = tmp.resolve("target.vhd");
        convert(source, target, to(ImageType.DYNAMIC).withBlockSize(64 << 10));
        try (VhdDisk disk = Vhd.openReadOnly(target)) {
            assertEquals(64 << 10, disk.dynamicHeader().orElseThrow().blockSize());
            assertEquals(TestDisks.nonZeroBlocks(model, 64 << 10), disk.blockAllocationTable().orElseThrow().allocatedCount());
            TestDisks.assertContents(model, disk);
        }
    }

    @Test
    void aMemoryDiskConvertsToo() throws IOException {
        byte[] model = new byte[3 * MIB];
        try (MemoryDisk disk = MemoryDisk.create("memory", model.length)) {
            TestDisks.fill(disk, model, 10);
            Conversion.convert(disk, tmp.resolve("m.vhd"), to(ImageType.DYNAMIC), ProgressListener.NONE);
        }
        assertFileContents(model, tmp.resolve("m.vhd"));
    }

    /**
     * Every {@value Conversion#WRITEBACK_EVERY} bytes of data written the conversion asks the
     * target's own store (the staged file's, which takes the writes) to start writing back: 72 MiB
     * of data, two requests, none to any other store. The result is the source's bytes.
     */
    @ParameterizedTest
    @EnumSource(ImageType.class)
    void theTargetsStoreIsAskedToStartWritebackEvery32MiBWritten(ImageType type) throws IOException {
        int size = 72 * MIB;
        byte[] model = new byte[size];
        java.util.Arrays.fill(model, (byte) 0x5A);
        java.util.Map<Path, long[]> seen = new java.util.concurrent.ConcurrentHashMap<>(); // writes, writebacks
        Path target = tmp.resolve("written-back-" + type);
        try (MemoryDisk disk = MemoryDisk.create("memory", size)) {
            disk.write(0, model);
            StoreInterception.call(store -> new ForwardingByteStore(store) {
                @Override
                public void write(long offset, MemorySegment src, long srcOffset, long length) throws IOException {
                    super.write(offset, src, srcOffset, length);
                    seen.computeIfAbsent(path(), p -> new long[2])[0]++;
                }

                @Override
                public void startWriteback() throws IOException {
                    super.startWriteback();
                    seen.computeIfAbsent(path(), p -> new long[2])[1]++;
                }
            }, () -> Conversion.convert(disk, target, to(type), ProgressListener.NONE));
        }
        assertEquals(1, seen.size(), "the files written or asked: " + seen.keySet());
        Path staged = seen.keySet().iterator().next();
        assertEquals(tmp, staged.getParent(), "the staged file beside the target: " + staged);
        assertNotEquals(target, staged);
        assertTrue(seen.get(staged)[0] > 0, "the staged file was written");
        assertEquals(2, seen.get(staged)[1], "writeback requests to " + staged);
        assertFileContents(model, target);
    }

    @Test
    void progressRunsFromZeroToTheSizeAndNeverBack() throws IOException {
        Path source = tmp.resolve("source.vhd");
        dynamicDisk(source, 130 * MIB, 11); // more than one window of the allocation map
        List<long[]> calls = new ArrayList<>();
        try (VirtualDisk disk = Conversion.openSource(source)) {
            Conversion.convert(disk, tmp.resolve("t.vhd"), to(ImageType.DYNAMIC),
                    (done, total) -> calls.add(new long[] {done, total}));
        }
        assertEquals(0, calls.getFirst()[0]);
        assertEquals(130L * MIB, calls.getLast()[0]);
        for (int i = 1; i < calls.size(); i++) {
            assertTrue(calls.get(i)[0] >= calls.get(i - 1)[0]);
            assertEquals(130L * MIB, calls.get(i)[1]);
        }
    }

    // ---------------------------------------------------------------- refusals and failures

    @Test
    void anExistingTargetIsRefusedUnlessOverwritingIsAsked() throws IOException {
        Path source = tmp.resolve("source.vhd");
        byte[] model = dynamicDisk(source, 3 * MIB, 12);
        Path target = tmp.resolve("target.vhd");
        Files.writeString(target, "precious");
        FileAlreadyExistsException e = assertThrows(FileAlreadyExistsException.class,
                () -> convert(source, target, to(ImageType.FIXED)));
        assertTrue(e.getMessage().contains("target.vhd"), e.getMessage());
        assertEquals("precious", Files.readString(target));
        convert(source, target, to(ImageType.FIXED).withOverwrite(true));
        assertFileContents(model, target);
    }

    @Test
    @SuppressWarnings("try") // the writer is held open, not used
    void aTargetOpenForWritingIsNotReplacedNorIsAFolder() throws IOException {
        Path source = tmp.resolve("source.vhd");
        dynamicDisk(source, 2 * MIB, 15);
        Path target = tmp.resolve("target.vhd");
        Vhd.create(target, CreateOptions.dynamic(MIB)).close();
        byte[] before = Files.readAllBytes(target);
        try (VhdDisk inUse = Vhd.open(target, org.vhdkit.vhd.OpenOptions.READ_WRITE)) {
            IOException e = assertThrows(IOException.class,
                    () -> convert(source, target, to(ImageType.DYNAMIC).withOverwrite(true)));
            assertTrue(e.getMessage().contains("in use"), e.getMessage());
        }
        assertArrayEquals(before, Files.readAllBytes(target));
        Path folder = Files.createDirectory(tmp.resolve("folder.vhd"));
        FileSystemException e = assertThrows(FileSystemException.class,
                () -> convert(source, folder, to(ImageType.DYNAMIC).withOverwrite(true)));
        assertTrue(e.getMessage().contains("is not a regular file"), e.getMessage());
    }

    @Test
    void theSourceOrItsParentCannotBeTheTarget() throws IOException {
        Path base = tmp.resolve("base.vhd");
        dynamicDisk(base, 2 * MIB, 13);
        Path child = tmp.resolve("child.vhd");
        Vhd.create(child, CreateOptions.differencing(base)).close();
        byte[] before = Files.readAllBytes(base);
        for (Path target : List.of(child, base)) {
            FileSystemException e = assertThrows(FileSystemException.class,
                    () -> convert(child, target, to(ImageType.DYNAMIC).withOverwrite(true)));
            assertTrue(e.getMessage().contains("being converted"), e.getMessage());
        }
        assertArrayEquals(before, Files.readAllBytes(base));
    }

    @Test
    void aRawSourceThatIsNotWholeSectorsIsRefusedClearly() throws IOException {
        Path raw = tmp.resolve("odd.img");
        Files.write(raw, new byte[1000]);
        VhdFormatException e = assertThrows(VhdFormatException.class, () -> Conversion.openSource(raw));
        assertTrue(e.getMessage().startsWith(raw + ": raw image size: 1000 bytes is not a whole number of 512-byte"
                + " sectors"), e.getMessage());
        Files.write(raw, new byte[0]);
        assertTrue(assertThrows(VhdFormatException.class, () -> Conversion.openSource(raw)).getMessage()
                .contains("empty"));
    }

    @Test
    void aFileNamedVhdOrHoldingAFooterIsReadAsAVhdAndAnythingElseAsRaw() throws IOException {
        Path fixed = tmp.resolve("fixed.bin");
        Vhd.create(fixed, CreateOptions.fixed(MIB)).close();
        try (VirtualDisk disk = Conversion.openSource(fixed)) {
            assertTrue(disk instanceof VhdDisk);
            assertEquals(MIB, disk.size());
        }
        Path raw = tmp.resolve("disk.raw");
        Files.write(raw, new byte[4096]);
        try (VirtualDisk disk = Conversion.openSource(raw)) {
            assertTrue(disk instanceof RawDisk);
        }
        Path notAVhd = tmp.resolve("broken.vhd");
        Files.write(notAVhd, new byte[4096]);
        assertThrows(VhdFormatException.class, () -> Conversion.openSource(notAVhd));
    }

    @Test
    void imagesOfOtherFormatsAreNotTakenForRawBytes() throws IOException {
        ExternalTools.assumeAvailable("qemu-img");
        for (String format : List.of("qcow2", "vhdx", "vmdk", "vdi")) {
            Path image = tmp.resolve("disk." + format);
            ExternalTools.run(TestDisks.TOOL_TIMEOUT, "qemu-img", "create", "-f", format, image.toString(), "4M")
                    .requireSuccess();
            VhdFormatException e = assertThrows(VhdFormatException.class, () -> Conversion.openSource(image));
            assertTrue(e.getMessage().contains("not a VHD or a raw image"), e.getMessage());
        }
    }

    @Test
    void aTargetInAFolderThatDoesNotExistIsRefusedNamingTheFolder() throws IOException {
        Path source = tmp.resolve("source.vhd");
        dynamicDisk(source, MIB, 14);
        Path target = tmp.resolve("no/such/target.vhd");
        java.nio.file.NoSuchFileException e = assertThrows(java.nio.file.NoSuchFileException.class,
                () -> convert(source, target, to(ImageType.DYNAMIC)));
        assertEquals(tmp.resolve("no/such") + ": no such folder to write target.vhd in", e.getMessage());
    }

    @Test
    void aFailedConversionLeavesNeitherTargetNorPartialFile() throws IOException {
        int size = 8 * MIB;
        VirtualDisk failing = new FailingDisk(size, 5L * MIB);
        Path target = tmp.resolve("target.vhd");
        IOException e = assertThrows(IOException.class,
                () -> Conversion.convert(failing, target, to(ImageType.DYNAMIC), ProgressListener.NONE));
        assertEquals("disk unplugged", e.getMessage());
        try (Stream<Path> files = Files.list(tmp)) {
            assertEquals(List.of(), files.toList());
        }
        // An existing target stays as it was.
        Files.writeString(target, "old");
        assertThrows(IOException.class, () -> Conversion.convert(failing, target,
                to(ImageType.RAW).withOverwrite(true), ProgressListener.NONE));
        assertEquals("old", Files.readString(target));
        try (Stream<Path> files = Files.list(tmp)) {
            assertEquals(List.of(target), files.toList());
        }
    }

    @Test
    void optionsOutOfRangeAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> ConvertOptions.to(ImageType.DYNAMIC).withBlockSize(3000));
        assertThrows(IllegalArgumentException.class, () -> ConvertOptions.to(ImageType.DYNAMIC).withBlockSize(512 << 20));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ConvertOptions.to(ImageType.FIXED).withBlockSize(1 << 20));
        assertEquals("a block size applies to a dynamic image only, not to a fixed one", e.getMessage());
    }

    @Test
    void realImagesFromWindowsConvertToTheSameContents() throws IOException {
        for (String name : List.of("dissect-hypervisor-fixed.vhd.gz", "dissect-hypervisor-dynamic.vhd.gz")) {
            Path image = Corpus.cached(name);
            byte[] model;
            try (VirtualDisk disk = Conversion.openSource(image)) {
                model = TestDisks.contents(disk);
            }
            for (ImageType type : ImageType.values()) {
                Path target = tmp.resolve(name + "-" + type);
                convert(image, target, to(type));
                assertFileContents(model, target);
            }
        }
    }

    /** A disk whose reads fail from some offset on, as a failing device does. */
    private static final class FailingDisk implements VirtualDisk {
        private final long size;
        private final long failFrom;

        FailingDisk(long size, long failFrom) {
            this.size = size;
            this.failFrom = failFrom;
        }

        @Override
        public String name() {
            return "failing";
        }

        @Override
        public long size() {
            return size;
        }

        @Override
        public boolean isReadOnly() {
            return true;
        }

        @Override
        public void read(long offset, MemorySegment dst, long dstOffset, long length) throws IOException {
            if (offset + length > failFrom) {
                throw new IOException("disk unplugged");
            }
            dst.asSlice(dstOffset, length).fill((byte) 1);
        }

        @Override
        public void write(long offset, MemorySegment src, long srcOffset, long length) throws IOException {
            throw new IOException("read-only");
        }

        @Override
        public void flush() {
        }

        @Override
        public List<Extent> extents(long offset, long length) {
            return List.of(new Extent(offset, length, 0));
        }

        @Override
        public void close() {
        }
    }
}
