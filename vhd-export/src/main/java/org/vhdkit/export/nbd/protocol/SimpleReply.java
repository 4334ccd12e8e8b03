package org.vhdkit.export.nbd.protocol;

import java.nio.ByteBuffer;

/** A simple reply: magic, error ({@link ErrorCode}, 0 for success) and the request's handle. {@value #SIZE} bytes; a read's data follows. */
public record SimpleReply(int error, long handle) {
    public static final int SIZE = 16;

    public void encode(ByteBuffer out) {
        int start = out.position();
        out.putInt(Magic.SIMPLE_REPLY).putInt(error).putLong(handle);
        WireString.checkWritten(out, start, SIZE, "simple reply");
    }

    public static SimpleReply decode(ByteBuffer in) throws NbdProtocolException {
        WireString.requireRemaining(in, SIZE, "simple reply");
        Magic.check(in.getInt(), Magic.SIMPLE_REPLY, "simple reply magic");
        return new SimpleReply(in.getInt(), in.getLong());
    }
}
