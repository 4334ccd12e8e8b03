package org.vhdkit.vhd.image;

import java.io.IOException;
import org.vhdkit.vhd.io.ByteStore;

/**
 * Reads and sets the sector bitmap of one block where it lies in the file: one bit per sector of
 * the block, most significant bit first, 1 where the block holds the sector.
 *
 * <p>The bitmaps stay in the file (mapped, on the default file system) rather than in memory: a
 * fully allocated 2040 GiB disk has 510 MiB of them.
 *
 * <p>Thread-safety: reads are safe at any time; {@link #set} reads, changes and writes whole bytes,
 * so callers that set bits of one block hold that block's lock.
 */
final class SectorBitmap {
    private SectorBitmap() {
    }

    /** Whether the bit of {@code sector} is set in the bitmap at {@code bitmapOffset}. */
    static boolean isSet(ByteStore store, long bitmapOffset, int sector) throws IOException {
        return (store.readByte(bitmapOffset + (sector >>> 3)) & (0x80 >>> (sector & 7))) != 0;
    }

    /** The most bitmap bytes {@link #runEnd} reads at once (512 sectors, 256 KiB of data). */
    private static final int RUN_READ = 64;

    /**
     * The first sector in {@code [from, to)} whose bit is not {@code set}, or {@code to} when they
     * all are. A range of more than {@value #RUN_READ} sectors is read up to {@value #RUN_READ}
     * bytes at a time: one call where the store serves the bytes by a system call (the part of a
     * growing file not mapped yet) rather than one per byte.
     */
    static int runEnd(ByteStore store, long bitmapOffset, int from, int to, boolean set) throws IOException {
        byte whole = set ? (byte) 0xFF : 0;
        int sector = from;
        if (to - from <= RUN_READ) {
            // A small range (a 4 KiB request is 8 sectors): byte by byte, allocating nothing.
            while (sector < to) {
                byte b = store.readByte(bitmapOffset + (sector >>> 3));
                if ((sector & 7) == 0 && to - sector >= 8 && b == whole) {
                    sector += 8;
                    continue;
                }
                if (((b & (0x80 >>> (sector & 7))) != 0) != set) {
                    return sector;
                }
                sector++;
            }
            return to;
        }
        while (sector < to) {
            int firstByte = sector >>> 3;
            int count = Math.min(RUN_READ, ((to - 1) >>> 3) - firstByte + 1);
            byte[] bytes = store.readBytes(bitmapOffset + firstByte, count);
            int stop = Math.min(to, (firstByte + count) << 3);
            while (sector < stop) {
                byte b = bytes[(sector >>> 3) - firstByte];
                if ((sector & 7) == 0 && stop - sector >= 8 && b == whole) {
                    sector += 8;
                    continue;
                }
                boolean bit = (b & (0x80 >>> (sector & 7))) != 0;
                if (bit != set) {
                    return sector;
                }
                sector++;
            }
        }
        return to;
    }

    /**
     * Whether every sector of a block of {@code sectors} sectors has its bit set in the bitmap at
     * {@code bitmapOffset} (one read of its bytes).
     */
    static boolean isWhole(ByteStore store, long bitmapOffset, int sectors) throws IOException {
        byte[] bytes = store.readBytes(bitmapOffset, (sectors + 7) >>> 3);
        int fullBytes = sectors >>> 3;
        for (int i = 0; i < fullBytes; i++) {
            if (bytes[i] != (byte) 0xFF) {
                return false;
            }
        }
        int rest = sectors & 7;
        return rest == 0 || (bytes[fullBytes] & (0xFF00 >>> rest) & 0xFF) == ((0xFF00 >>> rest) & 0xFF);
    }

    /** Sets the bits of sectors {@code [from, to)}, writing only the bytes that change. */
    static void set(ByteStore store, long bitmapOffset, int from, int to) throws IOException {
        int firstByte = from >>> 3;
        int lastByte = (to - 1) >>> 3;
        byte[] bytes = store.readBytes(bitmapOffset + firstByte, lastByte - firstByte + 1);
        boolean changed = false;
        for (int sector = from; sector < to; sector++) {
            int i = (sector >>> 3) - firstByte;
            byte before = bytes[i];
            bytes[i] |= (byte) (0x80 >>> (sector & 7));
            changed |= before != bytes[i];
        }
        if (changed) {
            store.writeBytes(bitmapOffset + firstByte, bytes);
        }
    }

    /** A bitmap of {@code length} bytes with every bit set. */
    static byte[] full(int length) {
        byte[] bytes = new byte[length];
        java.util.Arrays.fill(bytes, (byte) 0xFF);
        return bytes;
    }
}
