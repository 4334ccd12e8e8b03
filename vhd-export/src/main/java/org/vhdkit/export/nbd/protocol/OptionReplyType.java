package org.vhdkit.export.nbd.protocol;

/** The types of the server's replies to options ({@code NBD_REP_...}); errors have bit 31 set. */
public final class OptionReplyType {
    public static final int ACK = 1;
    public static final int SERVER = 2;
    public static final int INFO = 3;
    public static final int META_CONTEXT = 4;
    private static final int ERROR = 1 << 31;
    public static final int ERR_UNSUP = ERROR + 1;
    public static final int ERR_POLICY = ERROR + 2;
    public static final int ERR_INVALID = ERROR + 3;
    public static final int ERR_PLATFORM = ERROR + 4;
    public static final int ERR_TLS_REQD = ERROR + 5;
    public static final int ERR_UNKNOWN = ERROR + 6;
    public static final int ERR_SHUTDOWN = ERROR + 7;
    public static final int ERR_BLOCK_SIZE_REQD = ERROR + 8;
    public static final int ERR_TOO_BIG = ERROR + 9;

    private OptionReplyType() {
    }

    /** Whether {@code type} is an error reply (bit 31). */
    public static boolean isError(int type) {
        return (type & ERROR) != 0;
    }
}
