package org.vhdkit.export.nbd.protocol;

/** The magic numbers that open NBD messages. */
public final class Magic {
    /** {@code NBDMAGIC}: the first eight bytes the server sends (also called {@code INIT_PASSWD}). */
    public static final long NBDMAGIC = 0x4e42444d41474943L;
    /** {@code IHAVEOPT}: after {@link #NBDMAGIC} in the newstyle greeting, and at the start of every option request. */
    public static final long IHAVEOPT = 0x49484156454f5054L;
    /** Starts every reply to an option (fixed newstyle). */
    public static final long OPTION_REPLY = 0x3e889045565a9L;
    /** {@code NBD_REQUEST_MAGIC}: starts every compact request header. */
    public static final int REQUEST = 0x25609513;
    /** {@code NBD_SIMPLE_REPLY_MAGIC}. */
    public static final int SIMPLE_REPLY = 0x67446698;
    /** {@code NBD_STRUCTURED_REPLY_MAGIC}: starts every structured reply chunk. */
    public static final int STRUCTURED_REPLY = 0x668e33ef;

    private Magic() {
    }

    /** Refuses a message whose magic is not {@code expected}; ints are compared as they were read. */
    static void check(long actual, long expected, String field) throws NbdProtocolException {
        if (actual != expected) {
            throw new NbdProtocolException(field, "0x" + Long.toHexString(actual) + ", not 0x" + Long.toHexString(expected));
        }
    }
}
