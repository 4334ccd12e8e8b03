package org.vhdkit.export.nbd.protocol;

import java.nio.ByteBuffer;

/**
 * The start of a structured reply chunk: magic, flags ({@link ChunkType#FLAG_DONE}), type
 * ({@link ChunkType}), the request's handle and the payload's length (unsigned, held as a long).
 * {@value #SIZE} bytes.
 */
public record ChunkHeader(int flags, int type, long handle, long length) {
    public static final int SIZE = 20;

    public ChunkHeader {
        if ((flags & ~0xffff) != 0 || (type & ~0xffff) != 0) {
            throw new IllegalArgumentException("flags and type are 16 bits: " + flags + ", " + type);
        }
        if (length < 0 || length > 0xffff_ffffL) {
            throw new IllegalArgumentException("length is 32 bits unsigned: " + length);
        }
    }

    public boolean done() {
        return (flags & ChunkType.FLAG_DONE) != 0;
    }

    public void encode(ByteBuffer out) {
        int start = out.position();
        out.putInt(Magic.STRUCTURED_REPLY).putShort((short) flags).putShort((short) type).putLong(handle)
                .putInt((int) length);
        WireString.checkWritten(out, start, SIZE, "chunk header");
    }

    public static ChunkHeader decode(ByteBuffer in) throws NbdProtocolException {
        WireString.requireRemaining(in, SIZE, "chunk header");
        Magic.check(in.getInt(), Magic.STRUCTURED_REPLY, "structured reply magic");
        return new ChunkHeader(Short.toUnsignedInt(in.getShort()), Short.toUnsignedInt(in.getShort()), in.getLong(),
                Integer.toUnsignedLong(in.getInt()));
    }
}
