package org.vhdkit.vhd.interop;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.format.DiskType;
import org.vhdkit.vhd.interop.Interop.Bytes;
import org.vhdkit.vhd.interop.Interop.DiskModel;
import org.vhdkit.vhd.testing.Corpus;
import org.vhdkit.vhd.testing.ExternalTools;

/**
 * A chain our library writes, a dynamic base and three differencing levels, read by vhdimount
 * (qemu cannot: it opens a differencing VHD as a plain dynamic one and never reads the parent).
 * All four files lie in one folder: libvhdi finds each parent by its Parent Unicode Name beside
 * the child.
 *
 * <p>The base and the first child use 2 MiB blocks, the second and third child 512 KiB blocks, so
 * a child's block straddles its parent's and reads fall through blocks of another size.
 *
 * <p>libvhdi 20210425 misreads a sector bitmap byte that is neither 0x00 nor 0xFF: it takes
 * {@code byte >> (7 - bit)} without masking, so a clear sector after a set one in the same byte
 * reads from the child instead of the parent. vhd-core therefore marks whole bitmap bytes in
 * differencing disks (see SparseVhd), and every chain here, however awkwardly written, mounts as
 * its model.
 */
class DifferencingChainThroughLibvhdiTest {
    private static final long SIZE = 24L * Interop.MIB;
    private static final int BIG = 2 * Interop.MIB;
    private static final int SMALL = 512 * Interop.KIB;

    @TempDir
    Path tmp;

    /** A chain on disk: files.get(i) is level i (0 the base), models.get(i) what it reads as. */
    private record Chain(List<Path> files, List<DiskModel> models) {
    }

    @FunctionalInterface
    private interface LevelWriter {
        void write(VirtualDisk disk, DiskModel model, int level, int blockSize) throws IOException;
    }

    /** Base (2 MiB blocks), level 1 (the parent's 2 MiB), levels 2 and 3 (512 KiB). */
    private Chain writeChain(Path dir, LevelWriter writer) throws IOException {
        Files.createDirectories(dir);
        List<Path> files = new ArrayList<>();
        List<DiskModel> models = new ArrayList<>();
        Path base = dir.resolve("base.vhd");
        DiskModel model = new DiskModel(SIZE);
        try (VhdDisk disk = Vhd.create(base, CreateOptions.dynamic(SIZE))) {
            writer.write(disk, model, 0, BIG);
        }
        files.add(base);
        models.add(model);
        int[] blockSizes = {BIG, SMALL, SMALL};
        for (int level = 1; level <= 3; level++) {
            Path child = dir.resolve("level" + level + ".vhd");
            CreateOptions options = CreateOptions.differencing(files.getLast());
            if (level >= 2) {
                options = options.withBlockSize(SMALL);
            }
            model = models.getLast().copy();
            try (VhdDisk disk = Vhd.create(child, options)) {
                assertEquals(DiskType.DIFFERENCING, disk.type());
                assertEquals(blockSizes[level - 1], disk.dynamicHeader().orElseThrow().blockSize());
                writer.write(disk, model, level, blockSizes[level - 1]);
            }
            files.add(child);
            models.add(model);
        }
        return new Chain(files, models);
    }

    /**
     * Every level: the scattered writes (partial sectors, straddled block edges, a whole block,
     * the end of the disk) and, in the children, writes only this level makes: part of a sector
     * the parent holds, a straddle of one of this level's block edges and one of the base's, a few
     * sectors in the middle of a block (the rest must still come from below).
     */
    private static void awkwardWrites(VirtualDisk disk, DiskModel model, int level, int blockSize)
            throws IOException {
        Interop.scatteredWrites(disk, model, 100 + level, blockSize);
        if (level == 0) {
            return;
        }
        Random random = new Random(1000 + level);
        long b = blockSize;
        Interop.writeRandom(disk, model, random, 1100 + 37L * level, 50);
        Interop.writeRandom(disk, model, random, (level + 1) * b - 513, 1027);
        Interop.writeRandom(disk, model, random, 4L * BIG - 3 * 512 - level, 7 * 512);
        Interop.writeRandom(disk, model, random, 9L * BIG + b / 2 + 512L * level, 512 * 3);
        Interop.writeRandom(disk, model, random, 3L * BIG + 100 + 4096L * level, 300);
    }

    /** Writes in whole, aligned 4 KiB units only, still straddling block edges and leaving partial blocks. */
    private static void alignedWrites(VirtualDisk disk, DiskModel model, int level, int blockSize)
            throws IOException {
        Random random = new Random(2000 + level);
        long b = blockSize;
        int u = 4096;
        Interop.writeRandom(disk, model, random, u * (level + 1L), u);                // start of block 0
        Interop.writeRandom(disk, model, random, (level + 1) * b - 2L * u, 4 * u);    // straddles a block edge
        Interop.writeRandom(disk, model, random, 4L * BIG - u, 3 * u);                // straddles a base block edge
        Interop.writeRandom(disk, model, random, 7L * BIG + b / 2 + u * level, 5 * u); // inside a block
        Interop.writeRandom(disk, model, random, SIZE - 3L * u, 3 * u);               // the end of the disk
        for (int i = 0; i < 6; i++) {
            int units = 1 + random.nextInt(40);
            long at = (long) random.nextInt((int) (SIZE / u - units)) * u;
            Interop.writeRandom(disk, model, random, at, units * u);
        }
    }

    @Test
    void topOfTheChainMountsAsItsModel() throws IOException {
        ExternalTools.assumeAvailable("vhdimount");
        Chain chain = writeChain(tmp.resolve("chain"), DifferencingChainThroughLibvhdiTest::awkwardWrites);
        try (ExternalTools.Mount mount = ExternalTools.vhdimount(chain.files().get(3), tmp.resolve("mnt"))) {
            assertEquals(4, mount.layers().size(), "vhdimount shows one file per level: " + mount.layers());
            assertMountedBytes(mount.disk(), Bytes.of(chain.models().get(3)), "vhdimount of the top");
        }
    }

    /** vhdimount shows each level as a file: vhdi1 the base ... vhdi4 the top, parents applied. */
    @Test
    void everyLayerVhdimountShowsOfTheTopIsThatLevelsModel() throws IOException {
        ExternalTools.assumeAvailable("vhdimount");
        Chain chain = writeChain(tmp.resolve("chain"), DifferencingChainThroughLibvhdiTest::awkwardWrites);
        try (ExternalTools.Mount mount = ExternalTools.vhdimount(chain.files().get(3), tmp.resolve("mnt"))) {
            assertEquals(4, mount.layers().size(), "layers: " + mount.layers());
            for (int level = 0; level < 4; level++) {
                assertMountedBytes(mount.layers().get(level), Bytes.of(chain.models().get(level)),
                        "vhdimount's layer " + level);
            }
        }
    }

    @Test
    void middleOfTheChainMountsAsItsModel() throws IOException {
        ExternalTools.assumeAvailable("vhdimount");
        Chain chain = writeChain(tmp.resolve("chain"), DifferencingChainThroughLibvhdiTest::awkwardWrites);
        try (ExternalTools.Mount mount = ExternalTools.vhdimount(chain.files().get(2), tmp.resolve("mnt"))) {
            assertEquals(3, mount.layers().size(), "layers: " + mount.layers());
            assertMountedBytes(mount.disk(), Bytes.of(chain.models().get(2)), "vhdimount of the middle");
        }
    }

    @Test
    void chainWrittenInAligned4KibUnitsMountsWithExactlyItsModel() throws IOException {
        ExternalTools.assumeAvailable("vhdimount");
        Chain chain = writeChain(tmp.resolve("chain"), DifferencingChainThroughLibvhdiTest::alignedWrites);
        for (int level : new int[] {3, 2}) {
            try (ExternalTools.Mount mount = ExternalTools.vhdimount(chain.files().get(level),
                    tmp.resolve("mnt" + level))) {
                assertEquals(level + 1, mount.layers().size(), "layers: " + mount.layers());
                assertMountedBytes(mount.disk(), Bytes.of(chain.models().get(level)), "vhdimount of level " + level);
            }
        }
    }

    /**
     * Our child over a Windows 10 parent (4 KiB-aligned blocks at a 4104-sector stride, allocated
     * out of order): vhdimount finds the parent by the name we recorded and shows the child exactly.
     */
    @Test
    void ourChildOfAWindows10ParentMountsWithExactlyItsModel() throws IOException {
        ExternalTools.assumeAvailable("vhdimount");
        Path dir = Files.createDirectories(tmp.resolve("win"));
        Path parent = Files.copy(Corpus.cached("dissect-hypervisor-dynamic.vhd.gz"), dir.resolve("windows10.vhd"));
        Path child = dir.resolve("child.vhd");
        DiskModel model;
        try (VhdDisk disk = Vhd.create(child, CreateOptions.differencing(parent))) {
            model = new DiskModel(disk.size());
            byte[] all = new byte[(int) disk.size()];
            disk.read(0, all);
            model.write(0, all);
            Random random = new Random(3);
            long b = BIG;
            Interop.writeRandom(disk, model, random, b - 4096, 8192);      // Windows' block 0 into 1
            Interop.writeRandom(disk, model, random, 2 * b - 4096, 8192);  // Windows' block 1 into unallocated 2
            Interop.writeRandom(disk, model, random, 3 * b + 65536, 4096); // inside Windows' block 3
            Interop.writeRandom(disk, model, random, disk.size() - 4096, 4096);
        }
        try (ExternalTools.Mount mount = ExternalTools.vhdimount(child, tmp.resolve("mnt"))) {
            assertEquals(2, mount.layers().size(), "layers: " + mount.layers());
            assertEquals(model.size(), Files.size(mount.disk()));
            try (FileChannel ch = FileChannel.open(mount.disk(), StandardOpenOption.READ)) {
                Interop.assertSameBytes("vhdimount of our child of a Windows 10 parent", Bytes.of(model),
                        Bytes.of(ch), model.size());
            }
        }
    }

    /** Parent names are UTF-16: a chain whose files have non-ASCII names and spaces still mounts. */
    @Test
    void chainWithNonAsciiFileNamesMountsWithExactlyItsModel() throws IOException {
        ExternalTools.assumeAvailable("vhdimount");
        Path dir = Files.createDirectories(tmp.resolve("名前 dir"));
        Path base = dir.resolve("bäse ü–ß.vhd");
        Path child = dir.resolve("kind ñ.vhd");
        DiskModel model = new DiskModel(8L * Interop.MIB);
        Random random = new Random(4);
        try (VhdDisk disk = Vhd.create(base, CreateOptions.dynamic(model.size()))) {
            Interop.writeRandom(disk, model, random, 0, 3 * Interop.MIB);
        }
        try (VhdDisk disk = Vhd.create(child, CreateOptions.differencing(base))) {
            Interop.writeRandom(disk, model, random, Interop.MIB, 2 * Interop.MIB);
        }
        try (ExternalTools.Mount mount = ExternalTools.vhdimount(child, tmp.resolve("mnt"))) {
            assertEquals(2, mount.layers().size(), "layers: " + mount.layers());
            try (FileChannel ch = FileChannel.open(mount.disk(), StandardOpenOption.READ)) {
                Interop.assertSameBytes("vhdimount of a chain with non-ASCII names", Bytes.of(model), Bytes.of(ch),
                        model.size());
            }
        }
    }

    /**
     * The smallest case of libvhdi's bitmap bug: a child writes 3 bytes into sector 1 over a base
     * whose first block is all data. Marking sector 1 alone (bitmap byte 0x40) would make libvhdi
     * show the child's unwritten zeros in sectors 2 to 7; vhd-core copies the rest of the block from
     * the base and marks it all (whole bitmap bytes, 0xFF), so libvhdi shows the truth.
     */
    @Test
    void aThreeByteWriteInAChildOverItsParentsDataMarksWholeBitmapBytesSoLibvhdiReadsItRight() throws IOException {
        ExternalTools.assumeAvailable("vhdimount");
        Path base = tmp.resolve("small-base.vhd");
        Path child = tmp.resolve("small-child.vhd");
        byte[] baseData = Interop.randomBytes(new Random(7), BIG);
        try (VhdDisk disk = Vhd.create(base, CreateOptions.dynamic(8L * Interop.MIB))) {
            disk.write(0, baseData);
        }
        try (VhdDisk disk = Vhd.create(child, CreateOptions.differencing(base))) {
            disk.write(1000, new byte[] {1, 2, 3});
        }
        byte[] truth = baseData.clone();
        truth[1000] = 1;
        truth[1001] = 2;
        truth[1002] = 3;
        try (VhdDisk disk = Vhd.openReadOnly(child)) {
            long bitmap = disk.blockAllocationTable().orElseThrow().sector(0) * 512;
            byte[] bitmapBytes = new byte[512];
            try (FileChannel ch = FileChannel.open(child, StandardOpenOption.READ)) {
                Bytes.of(ch).read(bitmap, bitmapBytes);
            }
            byte[] all = new byte[512];
            Arrays.fill(all, (byte) 0xFF);
            assertArrayEquals(all, bitmapBytes, "every sector of the block marked, the base's copied");
        }
        try (ExternalTools.Mount mount = ExternalTools.vhdimount(child, tmp.resolve("mnt"))) {
            byte[] shown = new byte[16 * 512];
            try (FileChannel ch = FileChannel.open(mount.disk(), StandardOpenOption.READ)) {
                Bytes.of(ch).read(0, shown);
            }
            assertArrayEquals(Arrays.copyOf(truth, 16 * 512), shown, "vhdimount shows sectors 0-15 as they are");
        }
    }

    @Test
    void vhdiinfoReportsTheChildAsDifferentialWithItsParentsIdentifierAndName() throws IOException {
        ExternalTools.assumeAvailable("vhdiinfo");
        Chain chain = writeChain(tmp.resolve("chain"), DifferencingChainThroughLibvhdiTest::alignedWrites);
        String info = Interop.vhdiinfo(chain.files().get(3)).stdout();
        assertEquals(SIZE, Interop.vhdiMediaSize(info), info);
        assertEquals("Differential", Interop.vhdiField(info, "Disk type"), info);
        try (VhdDisk parent = Vhd.openReadOnly(chain.files().get(2))) {
            assertEquals(parent.footer().uniqueId().toString(), Interop.vhdiField(info, "Parent identifier"), info);
        }
        assertEquals("level2.vhd", Interop.vhdiField(info, "Parent filename"), info);
    }

    @Test
    void topOfTheChainReadsAsItsModelThroughUsAtEveryLevel() throws IOException {
        Chain chain = writeChain(tmp.resolve("chain"), DifferencingChainThroughLibvhdiTest::awkwardWrites);
        try (VhdDisk top = Vhd.openReadOnly(chain.files().get(3))) {
            assertEquals(List.of(), top.warnings());
            VhdDisk level = top;
            for (int i = 3; i >= 0; i--) {
                assertEquals(chain.files().get(i).toRealPath(), level.path().toRealPath(), "level " + i);
                Interop.assertSameBytes("our read of level " + i, Bytes.of(chain.models().get(i)), Bytes.of(level), SIZE);
                level = level.parent().orElse(null);
            }
            assertEquals(null, level, "the base has no parent");
        }
    }

    private static void assertMountedBytes(Path file, Bytes expected, String what) throws IOException {
        assertEquals(SIZE, Files.size(file), what + ": size");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            Interop.assertSameBytes(what, expected, Bytes.of(ch), SIZE);
        }
    }
}
