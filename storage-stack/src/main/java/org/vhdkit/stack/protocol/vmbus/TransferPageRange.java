package org.vhdkit.stack.protocol.vmbus;

import static org.vhdkit.stack.protocol.vmbus.RangeHeaders.LONG;

import java.lang.foreign.MemorySegment;
import org.vhdkit.stack.protocol.ProtocolException;

/**
 * One range of a transfer-page packet: {u32 byte count, u32 byte offset} into the transfer page set
 * the packet's header names. Which offsets are valid is the device's to judge (it agreed on the
 * set), so the codec accepts any values.
 *
 * <p>Immutable; safe to share between threads.
 *
 * @param byteCount  the range's bytes, u32
 * @param byteOffset where they start in the set, u32
 */
public record TransferPageRange(long byteCount, long byteOffset) {
    /** The range's length in bytes. */
    public static final int LENGTH = 8;

    public TransferPageRange {
        if (byteCount < 0 || byteCount > 0xFFFF_FFFFL || byteOffset < 0 || byteOffset > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException(byteCount + " bytes at " + byteOffset + ": both are u32");
        }
    }

    /**
     * The range at {@code offset} of {@code segment}, within {@code available} bytes. Thread-safe.
     *
     * @throws ProtocolException when fewer than {@link #LENGTH} bytes are available
     */
    public static TransferPageRange decode(MemorySegment segment, long offset, long available)
            throws ProtocolException {
        if (available < LENGTH) {
            throw new ProtocolException(RangeHeaders.PROTOCOL, "transfer-page range", -1,
                    available + " bytes; it takes " + LENGTH);
        }
        long word = segment.get(LONG, offset);
        return new TransferPageRange(RangeHeaders.byteCount(word), RangeHeaders.byteOffset(word));
    }

    /** Writes the range's {@link #LENGTH} bytes at {@code offset} of {@code segment}. Thread-safe. */
    public void encode(MemorySegment segment, long offset) {
        segment.set(LONG, offset, RangeHeaders.rangeWord(byteCount, byteOffset));
    }
}
