package org.vhdkit.export.nbd.protocol;

import java.nio.ByteBuffer;

/** The client's answer to the {@link Greeting}: its 32 flags ({@link HandshakeFlags}). {@value #SIZE} bytes. */
public record ClientFlags(int flags) {
    public static final int SIZE = 4;

    public boolean noZeroes() {
        return (flags & HandshakeFlags.C_NO_ZEROES) != 0;
    }

    public void encode(ByteBuffer out) {
        out.putInt(flags);
    }

    public static ClientFlags decode(ByteBuffer in) throws NbdProtocolException {
        WireString.requireRemaining(in, SIZE, "client flags");
        return new ClientFlags(in.getInt());
    }
}
