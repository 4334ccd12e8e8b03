package org.vhdkit.export.nbd.protocol;

import java.nio.ByteBuffer;

/**
 * A request of the transmission phase, in the compact form: magic, command flags
 * ({@link CommandFlags}), type ({@link CommandType}), the client's handle (the "cookie"), offset
 * and length (both unsigned; the length is held as a long). {@value #SIZE} bytes; a write's data
 * follows.
 */
public record RequestHeader(int flags, int type, long handle, long offset, long length) {
    public static final int SIZE = 28;

    public RequestHeader {
        if ((flags & ~0xffff) != 0 || (type & ~0xffff) != 0) {
            throw new IllegalArgumentException("flags and type are 16 bits: " + flags + ", " + type);
        }
        if (length < 0 || length > 0xffff_ffffL) {
            throw new IllegalArgumentException("length is 32 bits unsigned: " + length);
        }
    }

    /** The offset as the unsigned number it is; an offset of 2^63 or more reads as negative. */
    public boolean offsetBeyond(long size) {
        return Long.compareUnsigned(offset, size) > 0;
    }

    public void encode(ByteBuffer out) {
        int start = out.position();
        out.putInt(Magic.REQUEST).putShort((short) flags).putShort((short) type).putLong(handle).putLong(offset)
                .putInt((int) length);
        WireString.checkWritten(out, start, SIZE, "request header");
    }

    /** @throws NbdProtocolException when the magic is not {@code NBD_REQUEST_MAGIC} */
    public static RequestHeader decode(ByteBuffer in) throws NbdProtocolException {
        WireString.requireRemaining(in, SIZE, "request header");
        Magic.check(in.getInt(), Magic.REQUEST, "request magic");
        return new RequestHeader(Short.toUnsignedInt(in.getShort()), Short.toUnsignedInt(in.getShort()), in.getLong(),
                in.getLong(), Integer.toUnsignedLong(in.getInt()));
    }
}
