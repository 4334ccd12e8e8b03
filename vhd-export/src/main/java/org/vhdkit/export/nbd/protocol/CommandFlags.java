package org.vhdkit.export.nbd.protocol;

/** The 16 command flags of a request ({@code NBD_CMD_FLAG_...}). */
public final class CommandFlags {
    /** Any command: reply only once what it wrote is durable. */
    public static final int FUA = 1;
    /** {@code WRITE_ZEROES}: leave the range allocated, not a hole. */
    public static final int NO_HOLE = 1 << 1;
    /** {@code READ}: one content chunk only. */
    public static final int DF = 1 << 2;
    /** {@code BLOCK_STATUS}: one extent only. */
    public static final int REQ_ONE = 1 << 3;
    /** {@code WRITE_ZEROES}: fail with {@link ErrorCode#ENOTSUP} unless it is faster than a write. */
    public static final int FAST_ZERO = 1 << 4;

    private CommandFlags() {
    }
}
