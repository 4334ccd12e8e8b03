package org.vhdkit.stack.protocol.vmbus;

import static org.vhdkit.stack.protocol.vmbus.RangeHeaders.LONG;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import org.vhdkit.stack.protocol.ProtocolException;

/**
 * One range of a GPA-direct packet: {u32 byte count, u32 byte offset into the first page}, then
 * the u64 guest page numbers the bytes span, exactly as many as they need. The value form of what
 * {@link RangeHeaders} reads and writes in place.
 *
 * <p>Immutable; safe to share between threads ({@link #pageNumbers()} returns a copy).
 *
 * @param byteCount   the range's bytes, 1 to 2^32 - 1
 * @param byteOffset  where they start in the first page, below {@link RangeHeaders#PAGE_SIZE}
 * @param pageNumbers the guest page frame numbers, {@link RangeHeaders#pagesSpanned} of them
 */
public record GpaRange(long byteCount, int byteOffset, long[] pageNumbers) {
    public GpaRange {
        if (byteCount <= 0 || byteCount > 0xFFFF_FFFFL || byteOffset < 0 || byteOffset >= RangeHeaders.PAGE_SIZE) {
            throw new IllegalArgumentException(byteCount + " bytes at offset " + byteOffset);
        }
        if (pageNumbers.length != RangeHeaders.pagesSpanned(byteOffset, byteCount)) {
            throw new IllegalArgumentException(byteCount + " bytes at offset " + byteOffset + " span "
                    + RangeHeaders.pagesSpanned(byteOffset, byteCount) + " pages, not " + pageNumbers.length);
        }
        pageNumbers = pageNumbers.clone();
    }

    @Override
    public long[] pageNumbers() {
        return pageNumbers.clone();
    }

    /** The range's encoded length: 8 bytes and 8 per page. Thread-safe. */
    public int encodedLength() {
        return 8 + 8 * pageNumbers.length;
    }

    /**
     * The range at {@code offset} of {@code segment}, within {@code available} bytes. Refuses a
     * range of no bytes, one starting outside its first page, and one whose page numbers run past
     * the bytes available. Thread-safe.
     *
     * @throws ProtocolException when the bytes are not such a range
     */
    public static GpaRange decode(MemorySegment segment, long offset, long available) throws ProtocolException {
        if (available < 8) {
            throw new ProtocolException(RangeHeaders.PROTOCOL, "GPA range", -1, available + " bytes; it takes at least 8");
        }
        long word = segment.get(LONG, offset);
        long count = RangeHeaders.byteCount(word);
        long start = RangeHeaders.byteOffset(word);
        if (count == 0 || start >= RangeHeaders.PAGE_SIZE) {
            throw new ProtocolException(RangeHeaders.PROTOCOL, "GPA range", 0,
                    count + " bytes at offset " + start + " into its first page");
        }
        long pages = RangeHeaders.pagesSpanned(start, count);
        if (pages > (available - 8) / 8) {
            throw new ProtocolException(RangeHeaders.PROTOCOL, "GPA range page numbers", 8, count + " bytes at offset "
                    + start + " need " + pages + " page numbers, the bytes give " + (available - 8) / 8);
        }
        long[] pfns = new long[(int) pages];
        for (int i = 0; i < pfns.length; i++) {
            pfns[i] = segment.get(LONG, offset + 8 + 8L * i);
        }
        return new GpaRange(count, (int) start, pfns);
    }

    /** Writes the range's {@link #encodedLength()} bytes at {@code offset} of {@code segment}. Thread-safe. */
    public void encode(MemorySegment segment, long offset) {
        segment.set(LONG, offset, RangeHeaders.rangeWord(byteCount, byteOffset));
        for (int i = 0; i < pageNumbers.length; i++) {
            segment.set(LONG, offset + 8 + 8L * i, pageNumbers[i]);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GpaRange r && byteCount == r.byteCount && byteOffset == r.byteOffset
                && Arrays.equals(pageNumbers, r.pageNumbers);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(byteCount) * 31 + byteOffset * 17 + Arrays.hashCode(pageNumbers);
    }

    @Override
    public String toString() {
        return "GpaRange[" + byteCount + " bytes at offset " + byteOffset + " of pages " + Arrays.toString(pageNumbers)
                + "]";
    }
}
