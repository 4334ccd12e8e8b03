package org.vhdkit.stack.vmbus;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.vhdkit.stack.memory.GuestMemory;
import org.vhdkit.stack.protocol.vmbus.GpaRange;
import org.vhdkit.stack.protocol.vmbus.RangeHeaders;

/**
 * The GPA ranges of a GPA-direct packet a guest is about to send, built in place and reused: each
 * range is {u32 byte count, u32 byte offset into the first page, u64 page numbers...}
 * ({@link GpaRange}), written with {@link RangeHeaders} without a record per range.
 *
 * <p>Thread-safety: not thread-safe; one guest thread builds and sends a list at a time.
 */
public final class GpaRangeList {
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private long[] words = new long[8];
    private int wordCount;
    private int rangeCount;

    /** Empties the list for the next packet. */
    public GpaRangeList clear() {
        wordCount = 0;
        rangeCount = 0;
        return this;
    }

    /** The number of ranges added. */
    public int rangeCount() {
        return rangeCount;
    }

    /**
     * Adds a range of {@code byteCount} bytes starting {@code byteOffset} bytes into page
     * {@code pfns[from]}, over {@code count} pages, exactly as many as the bytes need.
     */
    public GpaRangeList add(int byteOffset, int byteCount, long[] pfns, int from, int count) {
        if (byteOffset < 0 || byteOffset >= GuestMemory.PAGE_SIZE || byteCount <= 0) {
            throw new IllegalArgumentException("a GPA range has 1 or more bytes starting inside its first page, not "
                    + byteCount + " bytes at offset " + byteOffset);
        }
        long needed = RangeHeaders.pagesSpanned(byteOffset, byteCount);
        if (count != needed) {
            throw new IllegalArgumentException(byteCount + " bytes at offset " + byteOffset + " span " + needed
                    + " pages, not " + count);
        }
        if (rangeCount == VmbusPacket.MAX_GPA_RANGES) {
            throw new IllegalArgumentException("at most " + VmbusPacket.MAX_GPA_RANGES + " GPA ranges per packet");
        }
        ensure(1 + count);
        words[wordCount++] = RangeHeaders.rangeWord(byteCount, byteOffset);
        System.arraycopy(pfns, from, words, wordCount, count);
        wordCount += count;
        rangeCount++;
        return this;
    }

    /** Adds the {@code byteCount} bytes of guest memory starting at guest physical address {@code gpa}. */
    public GpaRangeList addBuffer(long gpa, int byteCount) {
        if (gpa < 0 || byteCount <= 0) {
            throw new IllegalArgumentException("a GPA range of " + byteCount + " bytes at 0x" + Long.toHexString(gpa));
        }
        int byteOffset = (int) (gpa & (GuestMemory.PAGE_SIZE - 1));
        int pages = (int) RangeHeaders.pagesSpanned(byteOffset, byteCount);
        if (rangeCount == VmbusPacket.MAX_GPA_RANGES) {
            throw new IllegalArgumentException("at most " + VmbusPacket.MAX_GPA_RANGES + " GPA ranges per packet");
        }
        ensure(1 + pages);
        words[wordCount++] = RangeHeaders.rangeWord(byteCount, byteOffset);
        long first = gpa >>> GuestMemory.PAGE_SHIFT;
        for (int i = 0; i < pages; i++) {
            words[wordCount++] = first + i;
        }
        rangeCount++;
        return this;
    }

    private void ensure(int more) {
        if (wordCount + more > words.length) {
            words = Arrays.copyOf(words, Math.max(wordCount + more, words.length * 2));
        }
    }

    /** The bytes {@link #encode} writes: the {reserved, count} header and every range. */
    int encodedLength() {
        return 8 + wordCount * 8;
    }

    void encode(MemorySegment dst) {
        RangeHeaders.writeGpaDirect(dst, 0, rangeCount);
        for (int i = 0; i < wordCount; i++) {
            dst.set(LONG, 8 + 8L * i, words[i]);
        }
    }
}
