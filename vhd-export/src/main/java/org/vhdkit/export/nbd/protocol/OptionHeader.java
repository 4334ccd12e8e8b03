package org.vhdkit.export.nbd.protocol;

import java.nio.ByteBuffer;

/**
 * The start of every option request: {@code IHAVEOPT}, the option ({@link OptionType}) and the
 * length of the data that follows (unsigned; held here as a long). {@value #SIZE} bytes.
 */
public record OptionHeader(int option, long length) {
    public static final int SIZE = 16;

    public OptionHeader {
        if (length < 0 || length > 0xffff_ffffL) {
            throw new IllegalArgumentException("option length is 32 bits unsigned: " + length);
        }
    }

    public void encode(ByteBuffer out) {
        int start = out.position();
        out.putLong(Magic.IHAVEOPT).putInt(option).putInt((int) length);
        WireString.checkWritten(out, start, SIZE, "option header");
    }

    /** @throws NbdProtocolException when the magic is not {@code IHAVEOPT} */
    public static OptionHeader decode(ByteBuffer in) throws NbdProtocolException {
        WireString.requireRemaining(in, SIZE, "option header");
        Magic.check(in.getLong(), Magic.IHAVEOPT, "option magic");
        return new OptionHeader(in.getInt(), Integer.toUnsignedLong(in.getInt()));
    }
}
