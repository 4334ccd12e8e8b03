package org.vhdkit.vhd.check;

/**
 * A range of the file that a structure of a dynamic or differencing image occupies, for finding
 * overlaps and the space between structures.
 *
 * <p>Records are immutable and safe to share between threads.
 *
 * @param start where it starts
 * @param end   where it ends (exclusive); may lie past the end of the file for a damaged entry
 * @param kind  what it is
 * @param index the block number, or the locator number (1 to 8); 0 otherwise
 */
record Region(long start, long end, Kind kind, int index) implements Comparable<Region> {
    /** The structures of a sparse image. */
    enum Kind { FOOTER_COPY, DYNAMIC_HEADER, TABLE, LOCATOR, BLOCK }

    Region {
        if (start < 0 || end < start) {
            throw new IllegalArgumentException("region [" + start + ", " + end + ")");
        }
    }

    boolean isBlock() {
        return kind == Kind.BLOCK;
    }

    /** The structure in words, with its range: {@code block 5 at [7680, 2105344)}. */
    String describe() {
        String what = switch (kind) {
            case FOOTER_COPY -> "the footer copy";
            case DYNAMIC_HEADER -> "the dynamic header";
            case TABLE -> "the Block Allocation Table";
            case LOCATOR -> "the data of parent locator " + index;
            case BLOCK -> "block " + index;
        };
        return what + " at " + Messages.range(start, end);
    }

    @Override
    public int compareTo(Region other) {
        int byStart = Long.compare(start, other.start);
        return byStart != 0 ? byStart : Long.compare(end, other.end);
    }
}
