package org.vhdkit.vhd.format;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.UUID;

/**
 * Big-endian reads and writes of the fixed-width fields of VHD structures, at a byte index into an
 * array. Out-of-range indexes throw {@link IndexOutOfBoundsException}.
 *
 * <p>Stateless; safe to call from any thread.
 */
final class BigEndian {
    private static final VarHandle SHORT = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

    private BigEndian() {
    }

    static int readUnsignedByte(byte[] bytes, int at) {
        return bytes[at] & 0xFF;
    }

    static int readUnsignedShort(byte[] bytes, int at) {
        return (short) SHORT.get(bytes, at) & 0xFFFF;
    }

    static int readInt(byte[] bytes, int at) {
        return (int) INT.get(bytes, at);
    }

    static long readUnsignedInt(byte[] bytes, int at) {
        return Integer.toUnsignedLong(readInt(bytes, at));
    }

    static long readLong(byte[] bytes, int at) {
        return (long) LONG.get(bytes, at);
    }

    /** Sixteen bytes, most significant first (the order in which they are stored). */
    static UUID readUuid(byte[] bytes, int at) {
        return new UUID(readLong(bytes, at), readLong(bytes, at + 8));
    }

    static void writeByte(byte[] bytes, int at, int value) {
        bytes[at] = (byte) value;
    }

    static void writeShort(byte[] bytes, int at, int value) {
        SHORT.set(bytes, at, (short) value);
    }

    static void writeInt(byte[] bytes, int at, int value) {
        INT.set(bytes, at, value);
    }

    static void writeLong(byte[] bytes, int at, long value) {
        LONG.set(bytes, at, value);
    }

    static void writeUuid(byte[] bytes, int at, UUID value) {
        writeLong(bytes, at, value.getMostSignificantBits());
        writeLong(bytes, at + 8, value.getLeastSignificantBits());
    }

    /** The four-character code of a 32-bit field written as ASCII, e.g. {@code "Wi2k"}. */
    static int fourCharacterCode(String text) {
        if (text.length() != 4) {
            throw new IllegalArgumentException("not four characters: \"" + text + "\"");
        }
        int code = 0;
        for (int i = 0; i < 4; i++) {
            char c = text.charAt(i);
            if (c > 0xFF) {
                throw new IllegalArgumentException("not a one-byte character in \"" + text + "\"");
            }
            code = code << 8 | c;
        }
        return code;
    }

    /**
     * Bytes shown for a message: printable ASCII as is, everything else as {@code \xNN}, in quotes.
     */
    static String quoted(byte[] bytes, int at, int length) {
        StringBuilder text = new StringBuilder(length + 2).append('"');
        for (int i = at; i < at + length; i++) {
            int b = bytes[i] & 0xFF;
            if (b >= 0x20 && b < 0x7F && b != '"' && b != '\\') {
                text.append((char) b);
            } else {
                text.append(String.format("\\x%02x", b));
            }
        }
        return text.append('"').toString();
    }
}
