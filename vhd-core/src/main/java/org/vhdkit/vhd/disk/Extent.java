package org.vhdkit.vhd.disk;

/**
 * A range of a disk and the layer its bytes come from.
 *
 * @param offset where the range starts, in bytes from the start of the disk
 * @param length its length in bytes
 * @param layer  0 when the disk itself holds the bytes, 1 for its parent, 2 for the parent's
 *               parent and so on; {@link #ZERO} when no layer holds them and they read as zero
 */
public record Extent(long offset, long length, int layer) {
    /** The layer of a range that nothing holds: it reads as zeros. */
    public static final int ZERO = -1;

    public Extent {
        if (offset < 0 || length <= 0 || layer < ZERO) {
            throw new IllegalArgumentException("offset " + offset + ", length " + length + ", layer " + layer);
        }
    }

    /** Where the range ends (exclusive). */
    public long end() {
        return offset + length;
    }

    /** Whether some layer holds the bytes. */
    public boolean isData() {
        return layer != ZERO;
    }
}
