package org.vhdkit.export.nbd.protocol;

/** The server's 16 handshake flags and the client's 32 flags that answer them. */
public final class HandshakeFlags {
    /** Server: {@code NBD_FLAG_FIXED_NEWSTYLE}, bit 0. */
    public static final int FIXED_NEWSTYLE = 1;
    /** Server: {@code NBD_FLAG_NO_ZEROES}, bit 1. */
    public static final int NO_ZEROES = 1 << 1;
    /** Client: {@code NBD_FLAG_C_FIXED_NEWSTYLE}, bit 0. */
    public static final int C_FIXED_NEWSTYLE = 1;
    /** Client: {@code NBD_FLAG_C_NO_ZEROES}, bit 1. */
    public static final int C_NO_ZEROES = 1 << 1;

    private HandshakeFlags() {
    }
}
