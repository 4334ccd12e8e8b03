package org.vhdkit.export.nbd.protocol;

import java.nio.ByteBuffer;

/**
 * What the server sends first in the newstyle handshake: {@code NBDMAGIC}, {@code IHAVEOPT} and its
 * 16 handshake flags ({@link HandshakeFlags}). {@value #SIZE} bytes.
 */
public record Greeting(int handshakeFlags) {
    public static final int SIZE = 18;

    public Greeting {
        if ((handshakeFlags & ~0xffff) != 0) {
            throw new IllegalArgumentException("handshake flags are 16 bits: " + handshakeFlags);
        }
    }

    public void encode(ByteBuffer out) {
        int start = out.position();
        out.putLong(Magic.NBDMAGIC).putLong(Magic.IHAVEOPT).putShort((short) handshakeFlags);
        WireString.checkWritten(out, start, SIZE, "greeting");
    }

    public static Greeting decode(ByteBuffer in) throws NbdProtocolException {
        WireString.requireRemaining(in, SIZE, "greeting");
        Magic.check(in.getLong(), Magic.NBDMAGIC, "greeting magic (NBDMAGIC)");
        Magic.check(in.getLong(), Magic.IHAVEOPT, "greeting magic (IHAVEOPT; an oldstyle server?)");
        return new Greeting(Short.toUnsignedInt(in.getShort()));
    }
}
