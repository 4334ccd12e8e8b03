package org.vhdkit.vhd.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.disk.Extent;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.format.DiskGeometry;
import org.vhdkit.vhd.format.DiskType;
import org.vhdkit.vhd.format.VhdFormatException;
import org.vhdkit.vhd.testing.Corpus;

/** Images made by Hyper-V, Virtual PC, Disk2vhd, Windows 10 and VirtualBox open and read as their README says. */
class CorpusImagesTest {
    private static final int MIB = 1 << 20;

    @TempDir
    Path tmp;

    private static byte[] read(VirtualDisk disk, long offset, int length) throws IOException {
        byte[] bytes = new byte[length];
        disk.read(offset, bytes);
        return bytes;
    }

    private static boolean allBytes(byte[] bytes, int value) {
        for (byte b : bytes) {
            if (b != (byte) value) {
                return false;
            }
        }
        return true;
    }

    @Test
    void virtualPcDynamicReadsAsItsCurrentSizeAndEmpty() throws IOException {
        try (VhdDisk disk = Vhd.openReadOnly(Corpus.cached("qemu-virtualpc-dynamic.vhd.bz2"))) {
            assertEquals(136365211648L, disk.size());
            assertEquals("vpc ", disk.footer().creatorApplication());
            assertEquals(new DiskGeometry(65278, 16, 255), disk.footer().geometry());
            assertEquals(65024, disk.blockAllocationTable().orElseThrow().size());
            assertEquals(0, disk.blockAllocationTable().orElseThrow().allocatedCount());
            assertTrue(allBytes(read(disk, disk.size() - MIB, MIB), 0));
        }
    }

    @Test
    void hyperV2012R2DynamicReadsAsItsCurrentSize() throws IOException {
        try (VhdDisk disk = Vhd.openReadOnly(Corpus.cached("qemu-hyperv2012r2-dynamic.vhd.bz2"))) {
            assertEquals(136365211648L, disk.size());
            assertEquals("win ", disk.footer().creatorApplication());
            assertEquals(266240, disk.fileSize());
            assertEquals(List.of(new Extent(0, disk.size(), Extent.ZERO)), disk.extents(0, disk.size()));
        }
    }

    @Test
    void disk2vhdImageIsAllZeroThoughEveryBlockIsAllocated() throws IOException {
        try (VhdDisk disk = Vhd.openReadOnly(Corpus.cached("qemu-d2v-zerofilled.vhd.bz2"))) {
            assertEquals(263454720L, disk.size());
            assertEquals("d2v\0", disk.footer().creatorApplication());
            assertEquals(DiskGeometry.MAX, disk.footer().geometry());
            assertEquals(126, disk.blockAllocationTable().orElseThrow().allocatedCount());
            assertEquals(4, disk.blockAllocationTable().orElseThrow().sector(0));
            assertTrue(allBytes(read(disk, 0, (int) disk.size()), 0));
            assertEquals(List.of(new Extent(0, disk.size(), 0)), disk.extents(0, disk.size()));
        }
    }

    @Test
    void windows10FixedImageHoldsAnMbrAndItsSizeExcludesTheFooter() throws IOException {
        try (VhdDisk disk = Vhd.openReadOnly(Corpus.cached("dissect-hypervisor-fixed.vhd.gz"))) {
            assertEquals(DiskType.FIXED, disk.type());
            assertEquals(10485760L, disk.size());
            assertEquals(10486272L, disk.fileSize());
            assertEquals(new DiskGeometry(301, 4, 17), disk.footer().geometry());
            byte[] mbr = read(disk, 0, 512);
            assertEquals("33c08ed0bc007c8e", HexFormat.of().formatHex(mbr, 0, 8));
            assertEquals("55aa", HexFormat.of().formatHex(mbr, 510, 512));
            assertTrue(allBytes(read(disk, 0x200000, 512), 0xFF));
        }
    }

    @Test
    void windows10DynamicImageReadsItsBlocksAtStride4104() throws IOException {
        try (VhdDisk disk = Vhd.openReadOnly(Corpus.cached("dissect-hypervisor-dynamic.vhd.gz"))) {
            assertEquals(DiskType.DYNAMIC, disk.type());
            assertEquals(10485760L, disk.size());
            var bat = disk.blockAllocationTable().orElseThrow();
            assertEquals(5, bat.size());
            assertEquals(15, bat.sector(0));
            assertEquals(4119, bat.sector(3));
            assertEquals(8223, bat.sector(1));
            assertEquals(-1, bat.sector(2));
            byte[] mbr = read(disk, 0, 512);
            assertEquals("33c08ed0bc007c8e", HexFormat.of().formatHex(mbr, 0, 8));
            assertEquals("55aa", HexFormat.of().formatHex(mbr, 510, 512));
            assertTrue(allBytes(read(disk, 0x200000, 512), 0xFF));
            assertTrue(allBytes(read(disk, 0x3FFFL * 512, 16 * 512), 0));
            // Block 2 is not allocated: it reads as zeros, and the map says so.
            assertTrue(allBytes(read(disk, 4L * MIB, 2 * MIB), 0));
            assertEquals(List.of(new Extent(0, 4 * MIB, 0), new Extent(4 * MIB, 2 * MIB, Extent.ZERO),
                    new Extent(6 * MIB, 2 * MIB, 0), new Extent(8 * MIB, 2 * MIB, Extent.ZERO)),
                    disk.extents(0, disk.size()));
        }
    }

    /** Its front only, rebuilt to full size: see {@link Corpus#cached}. */
    @Test
    void virtualBoxImageWithUnalignedBlocksOpens() throws IOException {
        try (VhdDisk disk = Vhd.openReadOnly(Corpus.cached("compactVD-3hfs.vhd.bz2"))) {
            assertEquals(8589934592L, disk.size());
            assertEquals("vbox", disk.footer().creatorApplication());
            assertEquals(new DiskGeometry(16644, 16, 63), disk.footer().geometry());
            assertEquals(4096, disk.blockAllocationTable().orElseThrow().size());
            assertEquals(3720, disk.blockAllocationTable().orElseThrow().allocatedCount());
            var bat = disk.blockAllocationTable().orElseThrow();
            assertEquals(bat.sector(0) + 4097, bat.sector(1), "VirtualBox does not align: stride 4097 sectors");
            // A partition table, then HFS+ volumes: the MBR's signature.
            byte[] first = read(disk, 0, 512);
            assertEquals("55aa", HexFormat.of().formatHex(first, 510, 512));
        }
    }

    /**
     * The fuzzer cut the image inside its dynamic header and changed the table size (to 1073741825
     * entries) without fixing the checksum: the first thing wrong is the checksum, and that is what
     * the refusal names.
     */
    @Test
    void theFuzzedImageIsRefusedNamingItsDynamicHeader() throws IOException {
        Path image = Corpus.cached("qemu-afl5.img.bz2");
        VhdFormatException refused = assertThrows(VhdFormatException.class, () -> Vhd.openReadOnly(image));
        assertEquals("dynamic header Checksum", refused.field(), refused.getMessage());
        assertEquals(548, refused.offset());
        assertTrue(refused.getMessage().startsWith(image.toString()), refused.getMessage());
    }
}
