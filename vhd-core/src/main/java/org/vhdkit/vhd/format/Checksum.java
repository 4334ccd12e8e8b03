package org.vhdkit.vhd.format;

import java.util.Objects;

/**
 * The checksum of the VHD footer and of the dynamic header: the one's complement of the sum of all
 * bytes of the structure, with the four bytes of the checksum field itself taken as zero.
 *
 * <p>Stateless; every method is safe to call from any thread.
 */
public final class Checksum {
    private Checksum() {
    }

    /**
     * The checksum of {@code bytes[from .. from + length)}, skipping the four bytes of the checksum
     * field.
     *
     * @param checksumFieldOffset where the checksum field sits, relative to {@code from}; it must lie
     *                            wholly inside the range
     * @throws IndexOutOfBoundsException when the range or the field is outside {@code bytes}
     */
    public static int compute(byte[] bytes, int from, int length, int checksumFieldOffset) {
        Objects.checkFromIndexSize(from, length, bytes.length);
        Objects.checkFromIndexSize(checksumFieldOffset, 4, length);
        int sum = 0;
        int skipFrom = from + checksumFieldOffset;
        int skipTo = skipFrom + 4;
        for (int i = from; i < from + length; i++) {
            if (i < skipFrom || i >= skipTo) {
                sum += bytes[i] & 0xFF;
            }
        }
        return ~sum;
    }
}
