package org.vhdkit.export.nbd.protocol;

import java.nio.ByteBuffer;

/**
 * The start of every reply to an option (fixed newstyle): the reply magic, the option answered,
 * the reply type ({@link OptionReplyType}) and the length of the data that follows. {@value #SIZE}
 * bytes.
 */
public record OptionReplyHeader(int option, int type, int length) {
    public static final int SIZE = 20;

    public OptionReplyHeader {
        if (length < 0) {
            throw new IllegalArgumentException("reply length " + Integer.toUnsignedString(length) + " is too large");
        }
    }

    public void encode(ByteBuffer out) {
        int start = out.position();
        out.putLong(Magic.OPTION_REPLY).putInt(option).putInt(type).putInt(length);
        WireString.checkWritten(out, start, SIZE, "option reply header");
    }

    public static OptionReplyHeader decode(ByteBuffer in) throws NbdProtocolException {
        WireString.requireRemaining(in, SIZE, "option reply header");
        Magic.check(in.getLong(), Magic.OPTION_REPLY, "option reply magic");
        int option = in.getInt();
        int type = in.getInt();
        int length = in.getInt();
        if (length < 0) {
            throw new NbdProtocolException("option reply length", Integer.toUnsignedString(length) + " bytes");
        }
        return new OptionReplyHeader(option, type, length);
    }
}
