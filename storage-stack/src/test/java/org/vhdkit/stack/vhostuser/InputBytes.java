package org.vhdkit.stack.vhostuser;

import java.util.Arrays;

/**
 * A fuzz input read front to back in little-endian fields; bytes past its end read as 0, so every
 * input is a whole one and seeds can be written by hand. Thread-safety: none.
 */
final class InputBytes {
    private final byte[] bytes;
    private int at;

    InputBytes(byte[] bytes) {
        this.bytes = bytes;
    }

    int u8() {
        return at < bytes.length ? bytes[at++] & 0xFF : 0;
    }

    int u16() {
        return u8() | u8() << 8;
    }

    long u64() {
        return (u16() | (long) u16() << 16) | (long) (u16() | u16() << 16) << 32;
    }

    boolean exhausted() {
        return at >= bytes.length;
    }

    /** The next {@code n} bytes (fewer at the end). */
    byte[] take(int n) {
        int from = Math.min(at, bytes.length);
        at = Math.min(bytes.length, from + n);
        return Arrays.copyOfRange(bytes, from, at);
    }

    /** Whatever is left, at most {@code max} bytes. */
    byte[] rest(int max) {
        return take(max);
    }
}
