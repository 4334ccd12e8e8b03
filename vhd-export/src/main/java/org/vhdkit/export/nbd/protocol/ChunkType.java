package org.vhdkit.export.nbd.protocol;

/** The types of structured reply chunks ({@code NBD_REPLY_TYPE_...}) and their one flag. */
public final class ChunkType {
    /** The flag of the last chunk of a reply ({@code NBD_REPLY_FLAG_DONE}). */
    public static final int FLAG_DONE = 1;

    public static final int NONE = 0;
    public static final int OFFSET_DATA = 1;
    public static final int OFFSET_HOLE = 2;
    public static final int BLOCK_STATUS = 5;
    /** Error chunk types have bit 15 set. */
    public static final int ERROR = (1 << 15) + 1;
    public static final int ERROR_OFFSET = (1 << 15) + 2;

    private ChunkType() {
    }
}
