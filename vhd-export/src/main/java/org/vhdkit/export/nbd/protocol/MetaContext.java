package org.vhdkit.export.nbd.protocol;

/** The one metadata context the protocol defines, {@code base:allocation}, and its status flags. */
public final class MetaContext {
    /** The namespace of contexts the protocol document defines. */
    public static final String BASE_NAMESPACE = "base:";
    /** Which ranges are allocated, and which read as zeros. */
    public static final String BASE_ALLOCATION = "base:allocation";
    /** {@code NBD_STATE_HOLE}: the range is not allocated. */
    public static final int STATE_HOLE = 1;
    /** {@code NBD_STATE_ZERO}: the range reads as zeros. */
    public static final int STATE_ZERO = 1 << 1;

    private MetaContext() {
    }
}
