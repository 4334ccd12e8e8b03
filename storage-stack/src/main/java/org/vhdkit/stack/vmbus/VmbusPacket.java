package org.vhdkit.stack.vmbus;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Objects;
import org.vhdkit.stack.memory.GuestMemory;
import org.vhdkit.stack.memory.GuestMemoryException;
import org.vhdkit.stack.protocol.vmbus.PacketDescriptor;
import org.vhdkit.stack.protocol.vmbus.PacketType;
import org.vhdkit.stack.protocol.vmbus.RangeHeaders;

/**
 * One packet read from a ring, as a reusable view: the reader copies the packet (descriptor, range
 * headers and in-band data, never the data GPA ranges point at) out of the ring into this object's
 * own buffer before it looks at a single field, so the other side cannot change a value after it
 * was checked. Reading the next packet into the same object reuses its arrays: nothing is allocated
 * per packet once the arrays have grown to the channel's traffic.
 *
 * <p>What a reader guarantees about a packet it hands out: the type is one of {@link PacketType},
 * the flags are at most {@code completion requested}, the data offset lies inside the packet, and
 * for {@link PacketType#GPA_DIRECT} every range has bytes, starts inside its first page, is covered
 * by the page numbers given, and every page lies inside the guest's memory. The ranges are exposed
 * as runs of (guest physical address, length), contiguous pages merged, ready for
 * {@link GuestMemory#slice}. Transfer-page ranges are exposed as sent: they index a transfer page
 * set the device agreed on, which the device must check.
 *
 * <p>Thread-safety: not thread-safe; one thread fills and reads a packet at a time (a channel's
 * consumer thread, or a guest thread holding the channel's receive side).
 */
public final class VmbusPacket {
    /** The descriptor: type, data offset, length, flags, transaction id ({@link PacketDescriptor}). */
    static final int DESCRIPTOR = PacketDescriptor.LENGTH;
    /** The longest packet the u16 length field (in 8-byte units) describes. */
    static final int MAX_LENGTH = PacketDescriptor.MAX_PACKET_LENGTH;
    /** The most GPA ranges one packet may carry. */
    public static final int MAX_GPA_RANGES = RangeHeaders.MAX_GPA_RANGES;
    /** Flag 1: the sender asks for a completion packet with the same transaction id. */
    public static final int FLAG_COMPLETION_REQUESTED = PacketDescriptor.FLAG_COMPLETION_REQUESTED;

    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int PAGE = GuestMemory.PAGE_SIZE;

    private byte[] bytes;
    private MemorySegment buffer;

    private PacketType type;
    private int flags;
    private long transactionId;
    private int length;
    private int dataOffset;

    private int rangeCount;
    private long[] rangeBytes = new long[2];
    private int[] rangeRunStart = new int[3];
    private int runCount;
    private long[] runGpa = new long[8];
    private long[] runLength = new long[8];

    private int transferPageSetId;
    private int transferRangeCount;

    /** An empty packet view, to be filled by a receive. */
    public VmbusPacket() {
        bytes = new byte[256];
        buffer = MemorySegment.ofArray(bytes);
    }

    /** The packet's type. */
    public PacketType type() {
        return type;
    }

    /** The packet's flags: 0 or {@link #FLAG_COMPLETION_REQUESTED}. */
    public int flags() {
        return flags;
    }

    /** Whether the sender asked for a completion. */
    public boolean completionRequested() {
        return (flags & FLAG_COMPLETION_REQUESTED) != 0;
    }

    /** The transaction id the sender chose (a completion carries its request's). */
    public long transactionId() {
        return transactionId;
    }

    /** The packet's length in bytes, descriptor included, trailer not. */
    public int length() {
        return length;
    }

    /**
     * The length of the in-band data after the descriptor and range headers, padded to 8 bytes:
     * VMBus carries no finer length, so a protocol on top carries its own.
     */
    public int payloadLength() {
        return length - dataOffset;
    }

    /** The payload byte at {@code at}; throws IndexOutOfBoundsException past {@link #payloadLength()}. */
    public byte payloadByte(int at) {
        return buffer.get(ValueLayout.JAVA_BYTE, payloadAt(at, 1));
    }

    /** The little-endian u16 at payload offset {@code at}, as a short. */
    public short payloadShort(int at) {
        return buffer.get(SHORT, payloadAt(at, 2));
    }

    /** The little-endian u32 at payload offset {@code at}, as an int. */
    public int payloadInt(int at) {
        return buffer.get(INT, payloadAt(at, 4));
    }

    /** The little-endian u64 at payload offset {@code at}. */
    public long payloadLong(int at) {
        return buffer.get(LONG, payloadAt(at, 8));
    }

    /** Copies {@code count} payload bytes from {@code from} on into {@code dst} at {@code dstOffset}. */
    public void copyPayload(int from, MemorySegment dst, long dstOffset, int count) {
        MemorySegment.copy(buffer, payloadAt(from, count), dst, dstOffset, count);
    }

    /** The payload as a read-only segment over this view's buffer (a new view object; valid until the next receive). */
    public MemorySegment payload() {
        return buffer.asSlice(dataOffset, payloadLength()).asReadOnly();
    }

    private long payloadAt(int at, int count) {
        Objects.checkFromIndexSize(at, count, payloadLength());
        return dataOffset + at;
    }

    /** The number of GPA-direct ranges (0 for other types). */
    public int rangeCount() {
        return rangeCount;
    }

    /** The byte count of range {@code range}. */
    public long rangeByteCount(int range) {
        Objects.checkIndex(range, rangeCount);
        return rangeBytes[range];
    }

    /** The index of the first run of range {@code range}. */
    public int rangeFirstRun(int range) {
        Objects.checkIndex(range, rangeCount);
        return rangeRunStart[range];
    }

    /** One past the index of the last run of range {@code range}. */
    public int rangeEndRun(int range) {
        Objects.checkIndex(range, rangeCount);
        return rangeRunStart[range + 1];
    }

    /** The number of (address, length) runs over all ranges, in range order. */
    public int runCount() {
        return runCount;
    }

    /** The guest physical address of run {@code run}; checked to lie inside guest memory. */
    public long runGpa(int run) {
        Objects.checkIndex(run, runCount);
        return runGpa[run];
    }

    /** The length of run {@code run}. */
    public long runLength(int run) {
        Objects.checkIndex(run, runCount);
        return runLength[run];
    }

    /** The transfer page set a {@link PacketType#TRANSFER_PAGES} packet names. */
    public int transferPageSetId() {
        return transferPageSetId;
    }

    /** The number of transfer-page ranges (0 for other types). */
    public int transferRangeCount() {
        return transferRangeCount;
    }

    /** The byte count of transfer-page range {@code i}, unsigned. */
    public long transferRangeByteCount(int i) {
        Objects.checkIndex(i, transferRangeCount);
        return RangeHeaders.byteCount(buffer.get(LONG, DESCRIPTOR + RangeHeaders.LENGTH + 8L * i));
    }

    /** The byte offset into the transfer page set of transfer-page range {@code i}, unsigned. */
    public long transferRangeOffset(int i) {
        Objects.checkIndex(i, transferRangeCount);
        return RangeHeaders.byteOffset(buffer.get(LONG, DESCRIPTOR + RangeHeaders.LENGTH + 8L * i));
    }

    @Override
    public String toString() {
        return "VmbusPacket[" + type + ", flags " + flags + ", txid " + transactionId + ", " + length + " bytes, "
                + rangeCount + " GPA ranges, " + transferRangeCount + " transfer ranges]";
    }

    // ---- filled by RingReader -------------------------------------------------------------------

    /** The buffer, grown to hold at least {@code capacity} bytes, keeping what it holds. */
    MemorySegment buffer(int capacity) {
        if (capacity > bytes.length) {
            int grown = Math.max(capacity, Math.min(MAX_LENGTH, bytes.length * 2));
            bytes = Arrays.copyOf(bytes, grown);
            buffer = MemorySegment.ofArray(bytes);
        }
        return buffer;
    }

    /**
     * Checks the descriptor the reader copied into the first 16 bytes and returns the packet's
     * length. {@code available} is what the ring holds from the packet on, trailer included.
     */
    int decodeDescriptor(int available, int at) throws RingException {
        clear();
        long word = buffer.get(LONG, 0);
        int len = PacketDescriptor.length(word);
        PacketDescriptor.Problem problem = PacketDescriptor.check(word, available - 8L);
        if (problem != null) {
            throw switch (problem) {
                case SHORTER_THAN_DESCRIPTOR -> new RingException(ChannelClosedReason.BAD_PACKET_LENGTH, String.format(
                        "packet at ring offset %d is %d bytes long, shorter than its descriptor", at, len));
                case LONGER_THAN_AVAILABLE -> new RingException(ChannelClosedReason.BAD_PACKET_LENGTH, String.format(
                        "packet at ring offset %d is %d bytes long plus an 8-byte trailer, but the ring holds only %d bytes",
                        at, len, available));
                case DATA_OFFSET_OUTSIDE -> new RingException(ChannelClosedReason.BAD_DATA_OFFSET, String.format(
                        "packet at ring offset %d puts its data at byte %d, outside [16, %d]", at,
                        PacketDescriptor.dataOffset(word), len));
                case UNKNOWN_TYPE -> new RingException(ChannelClosedReason.BAD_PACKET_TYPE, String.format(
                        "packet at ring offset %d has type %d", at, PacketDescriptor.typeCode(word)));
                case UNKNOWN_FLAGS -> new RingException(ChannelClosedReason.BAD_PACKET_FLAGS, String.format(
                        "packet at ring offset %d has flags 0x%x", at, PacketDescriptor.flags(word)));
            };
        }
        type = PacketType.of(PacketDescriptor.typeCode(word));
        flags = PacketDescriptor.flags(word);
        transactionId = buffer.get(LONG, 8);
        length = len;
        dataOffset = PacketDescriptor.dataOffset(word);
        return len;
    }

    /** Checks the type-specific headers of the whole packet, now in the buffer. */
    void decodeBody(GuestMemory memory) throws RingException {
        switch (type) {
            case GPA_DIRECT -> decodeGpaDirect(memory);
            case TRANSFER_PAGES -> decodeTransferPages();
            default -> {
            }
        }
    }

    private void clear() {
        type = null;
        flags = 0;
        transactionId = 0;
        length = 0;
        dataOffset = 0;
        rangeCount = 0;
        runCount = 0;
        transferPageSetId = 0;
        transferRangeCount = 0;
    }

    private void decodeGpaDirect(GuestMemory memory) throws RingException {
        int end = dataOffset;
        if (end < DESCRIPTOR + 8) {
            throw new RingException(ChannelClosedReason.BAD_DATA_OFFSET, String.format(
                    "GPA-direct packet puts its data at byte %d, leaving no room for its range header", end));
        }
        long count = RangeHeaders.rangeCount(buffer, DESCRIPTOR);
        if (count == 0 || count > MAX_GPA_RANGES || count * 16 > end - (DESCRIPTOR + 8)) {
            throw new RingException(ChannelClosedReason.BAD_GPA_RANGE_COUNT, String.format(
                    "GPA-direct packet claims %d ranges; 1 to %d fit in its %d bytes of range headers",
                    count, Math.min(MAX_GPA_RANGES, (end - (DESCRIPTOR + 8)) / 16), end - (DESCRIPTOR + 8)));
        }
        int ranges = (int) count;
        ensureRanges(ranges, (end - (DESCRIPTOR + 8)) / 8);
        int at = DESCRIPTOR + 8;
        int runs = 0;
        for (int r = 0; r < ranges; r++) {
            if (at + 8 > end) {
                throw new RingException(ChannelClosedReason.BAD_GPA_RANGE, String.format(
                        "GPA range %d of %d starts at byte %d, past the packet's range headers ending at %d",
                        r, ranges, at, end));
            }
            long rangeWord = buffer.get(LONG, at);
            long byteCount = RangeHeaders.byteCount(rangeWord);
            long byteOffset = RangeHeaders.byteOffset(rangeWord);
            if (byteCount == 0 || byteOffset >= PAGE) {
                throw new RingException(ChannelClosedReason.BAD_GPA_RANGE, String.format(
                        "GPA range %d has %d bytes at offset %d into its first page", r, byteCount, byteOffset));
            }
            long pages = RangeHeaders.pagesSpanned(byteOffset, byteCount);
            if (pages > (end - at - 8) / 8) {
                throw new RingException(ChannelClosedReason.BAD_GPA_RANGE, String.format(
                        "GPA range %d of %d bytes at offset %d needs %d page numbers, the packet gives %d",
                        r, byteCount, byteOffset, pages, (end - at - 8) / 8));
            }
            rangeBytes[r] = byteCount;
            rangeRunStart[r] = runs;
            long left = byteCount;
            for (int p = 0; p < pages; p++) {
                long pfn = buffer.get(LONG, at + 8 + 8L * p);
                long page;
                try {
                    page = memory.pageAddress(pfn);
                } catch (GuestMemoryException e) {
                    throw new RingException(ChannelClosedReason.GPA_OUTSIDE_MEMORY, String.format(
                            "GPA range %d names frame 0x%x, outside the guest's %d pages", r, pfn, memory.pages()));
                }
                long start = p == 0 ? page + byteOffset : page;
                long chunk = Math.min(left, p == 0 ? PAGE - byteOffset : PAGE);
                if (runs > rangeRunStart[r] && runGpa[runs - 1] + runLength[runs - 1] == start) {
                    runLength[runs - 1] += chunk;
                } else {
                    runGpa[runs] = start;
                    runLength[runs] = chunk;
                    runs++;
                }
                left -= chunk;
            }
            at += 8 + (int) pages * 8;
        }
        rangeRunStart[ranges] = runs;
        rangeCount = ranges;
        runCount = runs;
    }

    private void ensureRanges(int ranges, int maxRuns) {
        if (rangeBytes.length < ranges) {
            rangeBytes = new long[Math.max(ranges, rangeBytes.length * 2)];
            rangeRunStart = new int[rangeBytes.length + 1];
        }
        if (runGpa.length < maxRuns) {
            int grown = Math.max(maxRuns, runGpa.length * 2);
            runGpa = new long[grown];
            runLength = new long[grown];
        }
    }

    private void decodeTransferPages() throws RingException {
        int end = dataOffset;
        if (end < DESCRIPTOR + 8) {
            throw new RingException(ChannelClosedReason.BAD_DATA_OFFSET, String.format(
                    "transfer-page packet puts its data at byte %d, leaving no room for its range header", end));
        }
        int setId = RangeHeaders.transferPageSetId(buffer, DESCRIPTOR);
        long count = RangeHeaders.rangeCount(buffer, DESCRIPTOR);
        if (count * 8 > end - (DESCRIPTOR + 8)) {
            throw new RingException(ChannelClosedReason.BAD_TRANSFER_RANGES, String.format(
                    "transfer-page packet claims %d ranges; its range headers hold %d",
                    count, (end - (DESCRIPTOR + 8)) / 8));
        }
        transferPageSetId = setId;
        transferRangeCount = (int) count;
    }
}
