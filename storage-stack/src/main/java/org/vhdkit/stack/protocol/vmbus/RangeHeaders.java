package org.vhdkit.stack.protocol.vmbus;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The range headers between a packet's descriptor and its in-band data, for the two packet types
 * that carry them, as the ring reader and the packet builders read and write them in place:
 * <ul>
 *   <li>{@link PacketType#GPA_DIRECT}: {u32 reserved, u32 range count}, then per range
 *       ({@link GpaRange}) {u32 byte count, u32 byte offset into the first page, u64 page numbers...}.
 *   <li>{@link PacketType#TRANSFER_PAGES}: {u16 transfer page set id, u16 reserved, u32 range
 *       count}, then per range ({@link TransferPageRange}) {u32 byte count, u32 byte offset into the set}.
 * </ul>
 * Both kinds of range start with the same word, {u32 byte count, u32 byte offset}: {@link #rangeWord}
 * and its accessors. Static functions only (no record per packet on the ring's path).
 *
 * <p>Thread-safety: pure functions, or writes to the segment given only.
 */
public final class RangeHeaders {
    /** The header before the ranges, both types. */
    public static final int LENGTH = 8;
    /** The guest page size the GPA ranges count in. */
    public static final int PAGE_SIZE = 4096;
    /** The most GPA ranges one packet may carry. */
    public static final int MAX_GPA_RANGES = 1024;

    static final String PROTOCOL = "VMBus packet";
    static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private RangeHeaders() {
    }

    /** The range count of the header at {@code offset}, unsigned. */
    public static long rangeCount(MemorySegment segment, long offset) {
        return Integer.toUnsignedLong(segment.get(INT, offset + 4));
    }

    /** The transfer page set id of a transfer-page header at {@code offset}. */
    public static int transferPageSetId(MemorySegment segment, long offset) {
        return Short.toUnsignedInt(segment.get(SHORT, offset));
    }

    /** Writes a GPA-direct header for {@code rangeCount} ranges at {@code offset}. */
    public static void writeGpaDirect(MemorySegment segment, long offset, int rangeCount) {
        segment.set(INT, offset, 0);
        segment.set(INT, offset + 4, rangeCount);
    }

    /** Writes a transfer-page header for set {@code setId} and {@code rangeCount} ranges at {@code offset}. */
    public static void writeTransferPages(MemorySegment segment, long offset, int setId, int rangeCount) {
        segment.set(SHORT, offset, (short) setId);
        segment.set(SHORT, offset + 2, (short) 0);
        segment.set(INT, offset + 4, rangeCount);
    }

    /** The first word of a range: {u32 byte count, u32 byte offset}. Pure. */
    public static long rangeWord(long byteCount, long byteOffset) {
        return (byteCount & 0xFFFF_FFFFL) | (byteOffset & 0xFFFF_FFFFL) << 32;
    }

    /** The byte count of a range word, unsigned. Pure. */
    public static long byteCount(long rangeWord) {
        return rangeWord & 0xFFFF_FFFFL;
    }

    /** The byte offset of a range word, unsigned. Pure. */
    public static long byteOffset(long rangeWord) {
        return rangeWord >>> 32;
    }

    /** The pages {@code byteCount} bytes starting {@code byteOffset} into their first page span. Pure. */
    public static long pagesSpanned(long byteOffset, long byteCount) {
        return (byteOffset + byteCount + PAGE_SIZE - 1) / PAGE_SIZE;
    }
}
