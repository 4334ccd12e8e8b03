package org.vhdkit.stack.protocol.storage;

import static org.vhdkit.stack.protocol.storage.Wire.INT;
import static org.vhdkit.stack.protocol.storage.Wire.LONG;
import static org.vhdkit.stack.protocol.storage.Wire.SHORT;

import java.lang.foreign.MemorySegment;
import org.vhdkit.stack.protocol.ProtocolException;

/**
 * The union of the parent's answer to QUERY_PROPERTIES: {u32 reserved, u16 max sub-channel count,
 * u16 reserved, u32 flags, u32 max transfer bytes, u64 reserved}, 24 bytes.
 *
 * <p>Immutable; safe to share between threads.
 *
 * @param maxSubChannels   sub-channels the parent offers (u16)
 * @param flags            property flags (u32)
 * @param maxTransferBytes the largest transfer of one request (u32, as an int)
 */
public record ChannelProperties(int maxSubChannels, int flags, int maxTransferBytes) {
    /** The union's length in bytes. */
    public static final int LENGTH = 24;

    private static final int MAX_CHANNELS = 4;
    private static final int FLAGS = 8;
    private static final int MAX_TRANSFER = 12;

    public ChannelProperties {
        if (maxSubChannels < 0 || maxSubChannels > 0xFFFF) {
            throw new IllegalArgumentException("max sub-channel count " + maxSubChannels + " is not a u16");
        }
    }

    /**
     * The union in the {@code available} bytes at {@code offset} of {@code segment}. Reserved
     * fields are ignored, as the drivers do. Thread-safe.
     *
     * @throws ProtocolException when fewer than {@link #LENGTH} bytes are available
     */
    public static ChannelProperties decode(MemorySegment segment, long offset, long available)
            throws ProtocolException {
        Wire.require(segment, offset, available, LENGTH, "QUERY_PROPERTIES union");
        return new ChannelProperties(Wire.u16(segment, offset + MAX_CHANNELS), segment.get(INT, offset + FLAGS),
                segment.get(INT, offset + MAX_TRANSFER));
    }

    /**
     * The max transfer bytes of a properties answer in {@code available} bytes at {@code offset},
     * or 0 when the answer is too short to hold that field (a peer's short answer means "no limit
     * given"). Thread-safe.
     */
    public static int maxTransferBytes(MemorySegment segment, long offset, long available) {
        return available >= MAX_TRANSFER + 4 ? segment.get(INT, offset + MAX_TRANSFER) : 0;
    }

    /** Writes the union's {@link #LENGTH} bytes at {@code offset} of {@code segment}, reserved fields zero. Thread-safe. */
    public void encode(MemorySegment segment, long offset) {
        segment.set(INT, offset, 0);
        segment.set(SHORT, offset + MAX_CHANNELS, (short) maxSubChannels);
        segment.set(SHORT, offset + MAX_CHANNELS + 2, (short) 0);
        segment.set(INT, offset + FLAGS, flags);
        segment.set(INT, offset + MAX_TRANSFER, maxTransferBytes);
        segment.set(LONG, offset + 16, 0L);
    }
}
