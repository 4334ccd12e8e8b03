package org.vhdkit.export.nbd.protocol;

/** The options a client sends during the handshake ({@code NBD_OPT_...}). */
public final class OptionType {
    public static final int EXPORT_NAME = 1;
    public static final int ABORT = 2;
    public static final int LIST = 3;
    /** Withdrawn; not in use. */
    public static final int PEEK_EXPORT = 4;
    public static final int STARTTLS = 5;
    public static final int INFO = 6;
    public static final int GO = 7;
    public static final int STRUCTURED_REPLY = 8;
    public static final int LIST_META_CONTEXT = 9;
    public static final int SET_META_CONTEXT = 10;
    /**
     * Extended headers (64-bit request lengths). Not offered: the server answers
     * {@link OptionReplyType#ERR_UNSUP}, as proto.md says a server without them does, and the client
     * keeps compact headers, whose 32-bit lengths cover every request the server accepts.
     */
    public static final int EXTENDED_HEADERS = 11;

    private static final String[] NAMES = {null, "EXPORT_NAME", "ABORT", "LIST", "PEEK_EXPORT", "STARTTLS", "INFO",
        "GO", "STRUCTURED_REPLY", "LIST_META_CONTEXT", "SET_META_CONTEXT", "EXTENDED_HEADERS"};

    private OptionType() {
    }

    /** {@code NBD_OPT_GO} for 7, or the number for an unknown option; for logs. */
    public static String name(int option) {
        return option > 0 && option < NAMES.length ? "NBD_OPT_" + NAMES[option] : "option " + Integer.toUnsignedString(option);
    }
}
