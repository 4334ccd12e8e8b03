package org.vhdkit.export.nbd.protocol;

/** The request types of the transmission phase ({@code NBD_CMD_...}). */
public final class CommandType {
    public static final int READ = 0;
    public static final int WRITE = 1;
    public static final int DISC = 2;
    public static final int FLUSH = 3;
    public static final int TRIM = 4;
    public static final int CACHE = 5;
    public static final int WRITE_ZEROES = 6;
    public static final int BLOCK_STATUS = 7;
    /**
     * The experimental resize extension. Not offered (NBD_FLAG_CAN_RESIZE is never set: an export's
     * size is its image's), so the server answers it {@link ErrorCode#EINVAL}, as proto.md requires
     * for a command the export did not advertise.
     */
    public static final int RESIZE = 8;

    private static final String[] NAMES = {"READ", "WRITE", "DISC", "FLUSH", "TRIM", "CACHE", "WRITE_ZEROES",
        "BLOCK_STATUS", "RESIZE"};

    private CommandType() {
    }

    /** {@code NBD_CMD_READ} for 0, or the number of an unknown type; for logs. */
    public static String name(int type) {
        return type >= 0 && type < NAMES.length ? "NBD_CMD_" + NAMES[type] : "command " + type;
    }
}
