package org.vhdkit.stack.vmbus;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.vhdkit.stack.protocol.vmbus.RangeHeaders;
import org.vhdkit.stack.protocol.vmbus.TransferPageRange;

/**
 * The ranges of a transfer-page packet about to be sent, built in place and reused: a transfer page
 * set id, then {u32 byte count, u32 byte offset} per range into that set ({@link TransferPageRange}),
 * written with {@link RangeHeaders} without a record per range.
 *
 * <p>Thread-safety: not thread-safe; one thread builds and sends a list at a time.
 */
public final class TransferPageRanges {
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private int setId;
    private long[] ranges = new long[4];
    private int count;

    /** Empties the list and names the transfer page set (u16) the next packet's ranges index. */
    public TransferPageRanges clear(int transferPageSetId) {
        if (transferPageSetId < 0 || transferPageSetId > 0xFFFF) {
            throw new IllegalArgumentException("transfer page set id " + transferPageSetId + " is not a u16");
        }
        setId = transferPageSetId;
        count = 0;
        return this;
    }

    /** Adds {@code byteCount} bytes at {@code byteOffset} into the set (both u32, passed as ints). */
    public TransferPageRanges add(int byteOffset, int byteCount) {
        if (count == ranges.length) {
            ranges = Arrays.copyOf(ranges, count * 2);
        }
        ranges[count++] = RangeHeaders.rangeWord(Integer.toUnsignedLong(byteCount), Integer.toUnsignedLong(byteOffset));
        return this;
    }

    /** The number of ranges added. */
    public int rangeCount() {
        return count;
    }

    int encodedLength() {
        return 8 + count * 8;
    }

    void encode(MemorySegment dst) {
        RangeHeaders.writeTransferPages(dst, 0, setId, count);
        for (int i = 0; i < count; i++) {
            dst.set(LONG, 8 + 8L * i, ranges[i]);
        }
    }
}
