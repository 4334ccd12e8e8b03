package org.vhdkit.vhd.format;

/**
 * The Disk Type field of the footer: how the virtual disk's sectors are laid out in the file.
 *
 * <p>Constants are immutable and safe to share between threads.
 */
public enum DiskType {
    /** The sectors follow one another from offset 0; the footer is the only metadata. */
    FIXED(2),
    /** Sparse: a dynamic header and a Block Allocation Table map blocks to the file. */
    DYNAMIC(3),
    /** Sparse like {@link #DYNAMIC}, over a parent disk that holds the sectors not written here. */
    DIFFERENCING(4);

    private final int code;

    DiskType(int code) {
        this.code = code;
    }

    /** The value stored in the footer. */
    public int code() {
        return code;
    }

    /**
     * The type stored as {@code code}.
     *
     * @throws IllegalArgumentException for any value other than 2, 3 and 4 (the specification's
     *                                  0 "None" and the deprecated 1, 5 and 6 included)
     */
    public static DiskType fromCode(int code) {
        return switch (code) {
            case 2 -> FIXED;
            case 3 -> DYNAMIC;
            case 4 -> DIFFERENCING;
            default -> throw new IllegalArgumentException("disk type " + describe(code) + " is not supported");
        };
    }

    /** A stored value with the specification's name for it, for messages: {@code 5 (reserved, deprecated)}. */
    static String describe(int code) {
        String name = switch (code) {
            case 0 -> "none";
            case 1, 5, 6 -> "reserved, deprecated";
            case 2 -> "fixed";
            case 3 -> "dynamic";
            case 4 -> "differencing";
            default -> "unknown";
        };
        return Integer.toUnsignedString(code) + " (" + name + ")";
    }
}
