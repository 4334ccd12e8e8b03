package org.vhdkit.vhd.transform;

import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.format.DynamicHeader;
import org.vhdkit.vhd.format.Footer;

/**
 * Where the table and the blocks of a dynamic or differencing VHD go, in the layout this library
 * gives them (see {@code VhdCreation} and {@code SparseVhd}):
 * <ul>
 *   <li>after the footer copy, the dynamic header and any parent locator data, the table, padded
 *       with 0xFF to a whole sector, placed so that it ends exactly where the first block's bitmap
 *       goes (qemu puts its first new block right after the table's last sector without clearing
 *       it, so no padding may lie there);
 *   <li>each block's sector bitmap just before a 4 KiB boundary, so that its data is 4 KiB-aligned as
 *       Windows aligns it, the blocks following each other in that rhythm;
 *   <li>the trailing footer right after the last block's data, or where the first bitmap would go
 *       when there is no block.
 * </ul>
 *
 * <p>Conversion gets this layout from the library's own creation and allocation; compaction writes
 * it directly; measurement computes sizes from it. Tests check that all three agree, so a change of
 * the library's layout shows up as their failure.
 *
 * <p>Records are immutable and safe to share between threads.
 *
 * @param tableOffset where the table starts
 * @param tableBytes  the table's length in the file: four bytes an entry, rounded up to a sector
 * @param blockSize   the block size in bytes
 */
record SparseLayout(long tableOffset, long tableBytes, int blockSize) {
    /** Block data starts at multiples of this, as Windows places it. */
    static final int ALIGNMENT = 4096;
    /** Where the structures before a new image's table end: the footer copy and the dynamic header. */
    static final long NEW_METADATA_END = Footer.SIZE + DynamicHeader.SIZE;

    /**
     * The layout of an image whose structures before the table (footer copy, header, locator data)
     * end at {@code metadataEnd}, with a table of {@code entries}.
     */
    static SparseLayout after(long metadataEnd, long entries, int blockSize) {
        long tableBytes = roundUp(4 * entries, VirtualDisk.SECTOR_SIZE);
        long bitmapBytes = bitmapBytes(blockSize);
        long firstBitmap = roundUp(metadataEnd + tableBytes + bitmapBytes, ALIGNMENT) - bitmapBytes;
        return new SparseLayout(firstBitmap - tableBytes, tableBytes, blockSize);
    }

    /** The layout of a new dynamic disk of {@code size} bytes, as {@code Vhd.create} writes it. */
    static SparseLayout ofNewDisk(long size, int blockSize) {
        return after(NEW_METADATA_END, (size + blockSize - 1) / blockSize, blockSize);
    }

    /** The size of a block's sector bitmap: one bit a sector, padded to whole sectors. */
    long bitmapBytes() {
        return bitmapBytes(blockSize);
    }

    private static long bitmapBytes(int blockSize) {
        long bytes = (blockSize / VirtualDisk.SECTOR_SIZE + 7) / 8;
        return roundUp(bytes, VirtualDisk.SECTOR_SIZE);
    }

    /** Where the first block's bitmap goes (and an empty image's trailing footer): where the table ends. */
    long firstBitmap() {
        return tableOffset + tableBytes;
    }

    /** The distance from one block's bitmap to the next one's. */
    long stride() {
        return roundUp(bitmapBytes() + blockSize, ALIGNMENT);
    }

    /** Where the bitmap of the {@code n}-th block in the file (counting from 0) goes. */
    long bitmapOffset(long n) {
        return firstBitmap() + n * stride();
    }

    /** The size of a file holding {@code blocks} blocks: they, then the trailing footer. */
    long fileSize(long blocks) {
        if (blocks == 0) {
            return firstBitmap() + Footer.SIZE;
        }
        return bitmapOffset(blocks - 1) + bitmapBytes() + blockSize + Footer.SIZE;
    }

    /**
     * Refuses a block size that does not suit {@code type}: a dynamic image needs a power of two
     * from 512 bytes to 256 MiB, the others none (0).
     */
    static void checkBlockSize(ImageType type, int blockSize) {
        if (type == ImageType.DYNAMIC) {
            if (blockSize < DynamicHeader.MIN_BLOCK_SIZE || blockSize > DynamicHeader.MAX_BLOCK_SIZE
                    || Integer.bitCount(blockSize) != 1) {
                throw new IllegalArgumentException("the block size must be a power of two from 512 bytes to 256 MiB; "
                        + blockSize + " is not");
            }
        } else if (blockSize != 0) {
            throw new IllegalArgumentException("a block size applies to a dynamic image only, not to a "
                    + type.name().toLowerCase(java.util.Locale.ROOT) + " one");
        }
    }

    static long roundUp(long value, long multiple) {
        return (value + multiple - 1) / multiple * multiple;
    }
}
