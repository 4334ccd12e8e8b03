package org.vhdkit.vhd.content;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.vhd.content.ContentFixtures.MIB;
import static org.vhdkit.vhd.content.ContentFixtures.SECTOR;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalLong;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.content.ContentFixtures.QemuMapEntry;
import org.vhdkit.vhd.disk.Extent;
import org.vhdkit.vhd.disk.MemoryDisk;
import org.vhdkit.vhd.disk.RawDisk;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.testing.Corpus;
import org.vhdkit.vhd.testing.ExternalTools;

/** {@link DiskContents#map}: layers, files and file offsets, checked against a model and qemu-img map. */
class MapTest {
    private static final int BLOCK = 2 * MIB;

    @TempDir
    Path tmp;

    /**
     * Checks the map's ranges: in order, without gaps, covering [offset, offset + length); every
     * sector's layer as {@code layerOfSector} says; and each data range's bytes found at its file
     * offset in its layer's file.
     */
    private static void assertMapIsRight(VirtualDisk disk, DiskMap map, long offset, long length, int[] layerOfSector)
            throws IOException {
        long at = offset;
        for (DiskMap.Range r : map.ranges()) {
            assertEquals(at, r.offset(), "ranges follow each other: " + map.ranges());
            at = r.end();
            for (long s = r.offset() / SECTOR; s < r.end() / SECTOR; s++) {
                assertEquals(layerOfSector[(int) s], r.layer(), "layer of sector " + s + " in " + r);
            }
            if (r.isData()) {
                assertEquals(map.layers().get(r.layer()).file(), r.file());
                byte[] expected = new byte[(int) r.length()];
                disk.read(r.offset(), expected);
                byte[] inFile = new byte[expected.length];
                try (FileChannel channel = FileChannel.open(Path.of(r.file()))) {
                    channel.read(ByteBuffer.wrap(inFile), r.fileOffset().orElseThrow());
                }
                assertArrayEquals(expected, inFile, "the bytes of " + r + " lie at its file offset");
            } else {
                assertNull(r.file());
                assertEquals(OptionalLong.empty(), r.fileOffset());
            }
        }
        assertEquals(offset + length, at, "the ranges cover the range mapped");
    }

    @Test
    void aThreeLevelChainShowsWhichLayerHoldsEachSector() throws IOException {
        long size = 5L * BLOCK + 3 * SECTOR;
        int[] layerOf = new int[(int) (size / SECTOR)];
        Arrays.fill(layerOf, Extent.ZERO);
        Random random = new Random(21);
        Path base = tmp.resolve("base.vhd");
        Path middle = tmp.resolve("middle.vhd");
        Path top = tmp.resolve("top.vhd");
        // Layer numbers as the top sees them: top 0, middle 1, base 2. Lower layers first.
        try (VhdDisk disk = Vhd.create(base, CreateOptions.dynamic(size))) {
            write(disk, layerOf, 2, random, 0, 1000);            // block 0: a dynamic block holds all its sectors
            write(disk, layerOf, 2, random, 3L * BLOCK + 4096, 10);
            Arrays.fill(layerOf, 0, BLOCK / SECTOR, 2);
            Arrays.fill(layerOf, 3 * BLOCK / SECTOR, 4 * BLOCK / SECTOR, 2);
        }
        try (VhdDisk disk = Vhd.create(middle, CreateOptions.differencing(base))) {
            write(disk, layerOf, 1, random, 100 * SECTOR, 50 * SECTOR + 7); // part of a sector: the whole sector is its
            write(disk, layerOf, 1, random, BLOCK - 3 * SECTOR, 6 * SECTOR); // across blocks 0 and 1
            write(disk, layerOf, 1, random, 4L * BLOCK, BLOCK);
        }
        try (VhdDisk disk = Vhd.create(top, CreateOptions.differencing(middle))) {
            write(disk, layerOf, 0, random, 120 * SECTOR, 10 * SECTOR);     // over the middle's range
            write(disk, layerOf, 0, random, 3L * BLOCK + 5000, 20 * SECTOR); // over the base's block
            write(disk, layerOf, 0, random, size - SECTOR, SECTOR);          // the last sector
        }
        try (VhdDisk disk = Vhd.openReadOnly(top)) {
            DiskMap map = DiskContents.map(disk);
            assertEquals(List.of(new DiskMap.Layer(0, top.toString()), new DiskMap.Layer(1, middle.toString()),
                    new DiskMap.Layer(2, base.toString())), map.layers());
            assertEquals(size, map.size());
            assertMapIsRight(disk, map, 0, size, layerOf);
            assertTrue(map.ranges().stream().anyMatch(r -> r.layer() == Extent.ZERO), "block 2 is held by none");
            // A part of it, starting and ending inside ranges.
            DiskMap part = DiskContents.map(disk, 110 * SECTOR + 5, 3L * BLOCK);
            assertEquals(110 * SECTOR + 5, part.ranges().getFirst().offset());
            int[] shifted = layerOf;
            long at = 110 * SECTOR + 5;
            for (DiskMap.Range r : part.ranges()) {
                assertEquals(at, r.offset());
                assertEquals(shifted[(int) (r.offset() / SECTOR)], r.layer());
                assertEquals(shifted[(int) ((r.end() - 1) / SECTOR)], r.layer());
                at = r.end();
            }
            assertEquals(110 * SECTOR + 5 + 3L * BLOCK, at);
        }
        // Opened alone, the top reports everything else as its parent's, which is not open.
        try (VhdDisk disk = Vhd.open(top, OpenOptions.READ_ONLY.withoutParent())) {
            DiskMap map = DiskContents.map(disk);
            assertEquals(1, map.layers().size());
            DiskMap.Range parents = map.ranges().stream().filter(r -> r.offset() <= BLOCK && r.end() > BLOCK)
                    .findFirst().orElseThrow(); // block 1, which the top does not hold
            assertEquals(1, parents.layer());
            assertNull(parents.file());
            assertEquals(OptionalLong.empty(), parents.fileOffset());
        }
    }

    /**
     * Writes random bytes to the disk and marks their sectors as {@code layer}'s. A differencing disk
     * takes whole groups of eight sectors (4 KiB, one bitmap byte; see SparseVhd): the rest of a
     * group it writes into is copied up from its parent and is its own from then on. A block it
     * allocates over its parent's data it takes whole, the parent's data copied in.
     */
    private static void write(VirtualDisk disk, int[] layerOf, int layer, Random random, long offset, int length)
            throws IOException {
        byte[] bytes = new byte[length];
        int from = (int) (offset / SECTOR);
        int to = (int) ((offset + length + SECTOR - 1) / SECTOR);
        List<Integer> newBlocksOverData = new java.util.ArrayList<>();
        if (disk instanceof VhdDisk vhd && vhd.parent().isPresent()) {
            int perBlock = BLOCK / SECTOR;
            for (int block = from / perBlock; block <= (to - 1) / perBlock; block++) {
                int end = Math.min(layerOf.length, (block + 1) * perBlock);
                boolean data = Arrays.stream(layerOf, block * perBlock, end).anyMatch(l -> l != Extent.ZERO);
                if (!vhd.blockAllocationTable().orElseThrow().isAllocated(block) && data) {
                    newBlocksOverData.add(block);
                }
            }
            from &= ~7;
            to = Math.min(layerOf.length, (to + 7) & ~7);
        }
        random.nextBytes(bytes);
        disk.write(offset, bytes);
        Arrays.fill(layerOf, from, to, layer);
        for (int block : newBlocksOverData) {
            int perBlock = BLOCK / SECTOR;
            Arrays.fill(layerOf, block * perBlock, Math.min(layerOf.length, (block + 1) * perBlock), layer);
        }
    }

    @Test
    void rawFixedAndMemoryDisksAreOneRangeOfLayerZero() throws IOException {
        byte[] model = ContentFixtures.sparseRandomModel(22);
        Path raw = ContentFixtures.write(ContentFixtures.Layout.RAW, model, tmp.resolve("raw"));
        Path fixed = ContentFixtures.write(ContentFixtures.Layout.FIXED, model, tmp.resolve("fixed"));
        try (VirtualDisk r = RawDisk.open(raw, true); VirtualDisk f = Vhd.openReadOnly(fixed);
             MemoryDisk m = MemoryDisk.create("scratch", model.length)) {
            assertEquals(List.of(new DiskMap.Range(0, model.length, 0, raw.toString(), OptionalLong.of(0))),
                    DiskContents.map(r).ranges());
            assertEquals(List.of(new DiskMap.Range(0, model.length, 0, fixed.toString(), OptionalLong.of(0))),
                    DiskContents.map(f).ranges());
            assertEquals(List.of(new DiskMap.Range(4096, 512, 0, fixed.toString(), OptionalLong.of(4096))),
                    DiskContents.map(f, 4096, 512).ranges());
            assertEquals(List.of(new DiskMap.Range(0, model.length, 0, "scratch", OptionalLong.empty())),
                    DiskContents.map(m).ranges());
            assertEquals(List.of(), DiskContents.map(m, 512, 0).ranges());
            assertThrows(EOFException.class, () -> DiskContents.map(m, model.length - 512, 1024));
        }
    }

    // ---------------------------------------------------------------- against qemu-img map

    /**
     * qemu-img map's data ranges and host offsets, as the map's. qemu's vpc driver reads no sector
     * bitmap: it takes every sector of an allocated block as data. Blocks written by qemu-io, by
     * Windows and by this library (for a dynamic disk) mark all their sectors, so the two agree.
     */
    private static void assertAgreesWithQemuMap(Path image) throws IOException {
        List<QemuMapEntry> qemu = ContentFixtures.qemuMap(image);
        try (VhdDisk disk = Vhd.openReadOnly(image)) {
            DiskMap ours = DiskContents.map(disk);
            List<long[]> qemuData = new ArrayList<>();
            for (QemuMapEntry e : qemu) {
                if (e.data()) {
                    qemuData.add(new long[] {e.start(), e.start() + e.length()});
                    assertEquals(OptionalLong.of(e.offset()), DiskContents.map(disk, e.start(), 512).ranges()
                            .getFirst().fileOffset(), "host offset of " + e);
                }
            }
            List<long[]> ourData = ours.ranges().stream().filter(DiskMap.Range::isData)
                    .map(r -> new long[] {r.offset(), r.end()}).toList();
            assertEquals(describe(ContentFixtures.merge(qemuData)), describe(ContentFixtures.merge(ourData)));
            // Per range too: where qemu says a data range starts in the file, so do we.
            for (DiskMap.Range r : ours.ranges()) {
                if (r.isData()) {
                    QemuMapEntry q = qemu.stream().filter(e -> e.start() <= r.offset()
                            && r.offset() < e.start() + e.length()).findFirst().orElseThrow();
                    assertEquals(q.offset() + (r.offset() - q.start()), r.fileOffset().getAsLong(), r.toString());
                }
            }
        }
    }

    private static String describe(List<long[]> ranges) {
        return ranges.stream().map(r -> "[" + r[0] + ", " + r[1] + ")").toList().toString();
    }

    @Test
    void qemuImgMapAgreesOnAQemuMadeDynamicDisk() throws IOException {
        ExternalTools.assumeAvailable("qemu-img", "qemu-io");
        assertAgreesWithQemuMap(ContentFixtures.qemuDynamic(ContentFixtures.sparseRandomModel(23), tmp));
    }

    @Test
    void qemuImgMapAgreesOnOurDynamicDisk() throws IOException {
        ExternalTools.assumeAvailable("qemu-img");
        assertAgreesWithQemuMap(ContentFixtures.write(ContentFixtures.Layout.DYNAMIC,
                ContentFixtures.sparseRandomModel(24), tmp));
    }

    @Test
    void qemuImgMapAgreesOnAWindowsMadeDynamicDisk() throws IOException {
        ExternalTools.assumeAvailable("qemu-img");
        Path image = Corpus.cached("dissect-hypervisor-dynamic.vhd.gz");
        assertAgreesWithQemuMap(image);
        // The corpus README: blocks 0, 3 and 1 at bitmap sectors 15, 4119 and 8223.
        try (VhdDisk disk = Vhd.openReadOnly(image)) {
            List<DiskMap.Range> data = DiskContents.map(disk).ranges().stream().filter(DiskMap.Range::isData).toList();
            assertEquals(List.of(
                    new DiskMap.Range(0, BLOCK, 0, image.toString(), OptionalLong.of(16 * 512)),
                    new DiskMap.Range(BLOCK, BLOCK, 0, image.toString(), OptionalLong.of(8224 * 512)),
                    new DiskMap.Range(3L * BLOCK, BLOCK, 0, image.toString(), OptionalLong.of(4120 * 512))), data);
        }
    }
}
