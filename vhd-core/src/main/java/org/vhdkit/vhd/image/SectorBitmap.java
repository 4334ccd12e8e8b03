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

    /**
     * The first sector in {@code [from, to)} whose bit is not {@code set}, or {@code to} when they
     * all are.
     */
    static int runEnd(ByteStore store, long bitmapOffset, int from, int to, boolean set) throws IOException {
        byte whole = set ? (byte) 0xFF : 0;
        int sector = from;
        while (sector < to) {
            int b = store.readByte(bitmapOffset + (sector >>> 3));
            if ((sector & 7) == 0 && to - sector >= 8 && (byte) b == whole) {
                sector += 8;
                continue;
            }
            boolean bit = (b & (0x80 >>> (sector & 7))) != 0;
            if (bit != set) {
                return sector;
            }
            sector++;
        }
        return to;
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
