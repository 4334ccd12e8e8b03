package org.vhdkit.vhd.format;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;

/**
 * Bytes of an on-disk structure that no field describes: the reserved areas of the footer and the
 * dynamic header, and what follows the terminating NUL of the parent name. They are zero in images
 * written by the usual tools, but not in every image found in the wild, and they are kept so that a
 * decoded structure encodes back to exactly the bytes it came from.
 *
 * <p>Instances are immutable (the bytes are copied in and out) and safe to share between threads.
 */
public final class ReservedBytes {
    private final byte[] bytes;

    private ReservedBytes(byte[] bytes) {
        this.bytes = bytes;
    }

    /** {@code length} zero bytes. */
    public static ReservedBytes zeros(int length) {
        if (length < 0) {
            throw new IllegalArgumentException("negative length " + length);
        }
        return new ReservedBytes(new byte[length]);
    }

    /** A copy of {@code bytes[from .. from + length)}. */
    public static ReservedBytes copyOf(byte[] bytes, int from, int length) {
        Objects.checkFromIndexSize(from, length, bytes.length);
        return new ReservedBytes(Arrays.copyOfRange(bytes, from, from + length));
    }

    /** A copy of all of {@code bytes}. */
    public static ReservedBytes of(byte[] bytes) {
        return new ReservedBytes(bytes.clone());
    }

    /** How many bytes there are. */
    public int length() {
        return bytes.length;
    }

    /** Whether every byte is zero (as in images written by the usual tools). */
    public boolean isZero() {
        for (byte b : bytes) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }

    /** A copy of the bytes. */
    public byte[] toByteArray() {
        return bytes.clone();
    }

    /** Copies {@code length} bytes starting at {@code from} into {@code target} at {@code at}. */
    void copyTo(int from, byte[] target, int at, int length) {
        System.arraycopy(bytes, from, target, at, length);
    }

    /** A copy with {@code [from .. from + length)} set to zero; this instance when already zero there. */
    ReservedBytes withZeros(int from, int length) {
        Objects.checkFromIndexSize(from, length, bytes.length);
        for (int i = from; i < from + length; i++) {
            if (bytes[i] != 0) {
                byte[] copy = bytes.clone();
                Arrays.fill(copy, from, from + length, (byte) 0);
                return new ReservedBytes(copy);
            }
        }
        return this;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof ReservedBytes that && Arrays.equals(bytes, that.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    /** {@code 427 bytes, all zero}, or the count of non-zero bytes and the first one's index and value. */
    @Override
    public String toString() {
        int nonZero = 0;
        int first = -1;
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] != 0) {
                nonZero++;
                if (first < 0) {
                    first = i;
                }
            }
        }
        return nonZero == 0
                ? bytes.length + " bytes, all zero"
                : String.format("%d bytes, %d non-zero, first at %d: 0x%s",
                        bytes.length, nonZero, first, HexFormat.of().toHexDigits(bytes[first]));
    }
}
