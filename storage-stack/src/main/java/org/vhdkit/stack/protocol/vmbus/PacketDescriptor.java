package org.vhdkit.stack.protocol.vmbus;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;
import org.vhdkit.stack.protocol.ProtocolException;

/**
 * The 16-byte descriptor every VMBus packet in a ring starts with: {u16 type, u16 data offset in
 * 8-byte units, u16 total length in 8-byte units, u16 flags, u64 transaction id}. The packet's
 * in-band data starts at the data offset; between the descriptor and it sit the type's range
 * headers ({@link RangeHeaders}); after the packet's length comes an 8-byte trailer.
 *
 * <p>The record is the value form. A ring reads and writes a descriptor for every packet, so the
 * static {@link #word}, {@link #typeCode}, {@link #dataOffset}, {@link #length}, {@link #flags} and
 * {@link #check} work on the descriptor's first 8 bytes as one little-endian {@code long} without
 * making a record; {@link #check} names what is wrong with an enum constant, allocating nothing,
 * so that the ring reader can close the channel with the matching reason.
 *
 * <p>Immutable; safe to share between threads. The static methods are pure.
 *
 * @param type          the packet type
 * @param dataOffset    where the in-band data starts, in bytes from the descriptor (8-aligned, at least 16)
 * @param length        the packet's length in bytes, descriptor included, trailer not (8-aligned)
 * @param flags         0 or {@link #FLAG_COMPLETION_REQUESTED}
 * @param transactionId the sender's transaction id (a completion carries its request's)
 */
public record PacketDescriptor(PacketType type, int dataOffset, int length, int flags, long transactionId) {
    /** The descriptor's length in bytes. */
    public static final int LENGTH = 16;
    /** The longest packet the u16 length field (in 8-byte units) describes. */
    public static final int MAX_PACKET_LENGTH = 0xFFFF * 8;
    /** Flag 1: the sender asks for a completion packet with the same transaction id. */
    public static final int FLAG_COMPLETION_REQUESTED = 1;

    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** What {@link #check} finds wrong with a descriptor. */
    public enum Problem {
        /** The length is shorter than the descriptor itself. */
        SHORTER_THAN_DESCRIPTOR,
        /** The packet (and its trailer) run past the bytes available. */
        LONGER_THAN_AVAILABLE,
        /** The data offset lies before the end of the descriptor or past the packet. */
        DATA_OFFSET_OUTSIDE,
        /** The type is none of {@link PacketType}. */
        UNKNOWN_TYPE,
        /** A flag other than {@link #FLAG_COMPLETION_REQUESTED} is set. */
        UNKNOWN_FLAGS
    }

    public PacketDescriptor {
        Objects.requireNonNull(type, "type");
        if (length < LENGTH || length > MAX_PACKET_LENGTH || (length & 7) != 0) {
            throw new IllegalArgumentException("a packet of " + length + " bytes");
        }
        if (dataOffset < LENGTH || dataOffset > length || (dataOffset & 7) != 0) {
            throw new IllegalArgumentException("data at byte " + dataOffset + " of a " + length + "-byte packet");
        }
        if ((flags & ~FLAG_COMPLETION_REQUESTED) != 0) {
            throw new IllegalArgumentException("flags 0x" + Integer.toHexString(flags));
        }
    }

    /** The first 8 bytes of a descriptor (lengths in bytes, multiples of 8). Pure. */
    public static long word(int typeCode, int dataOffset, int length, int flags) {
        return (typeCode & 0xFFFFL) | (long) (dataOffset >>> 3 & 0xFFFF) << 16 | (long) (length >>> 3 & 0xFFFF) << 32
                | (long) (flags & 0xFFFF) << 48;
    }

    /** The type field of a descriptor word. Pure. */
    public static int typeCode(long word) {
        return (int) (word & 0xFFFF);
    }

    /** The data offset of a descriptor word, in bytes. Pure. */
    public static int dataOffset(long word) {
        return (int) (word >>> 16 & 0xFFFF) * 8;
    }

    /** The packet length of a descriptor word, in bytes. Pure. */
    public static int length(long word) {
        return (int) (word >>> 32 & 0xFFFF) * 8;
    }

    /** The flags of a descriptor word. Pure. */
    public static int flags(long word) {
        return (int) (word >>> 48);
    }

    /**
     * What is wrong with the descriptor word {@code word} of a packet that may take {@code available}
     * bytes (its trailer not counted), or null when nothing is; checked in the order of
     * {@link Problem}'s constants. Allocates nothing. Pure.
     */
    public static Problem check(long word, long available) {
        int length = length(word);
        int offset = dataOffset(word);
        if (length < LENGTH) {
            return Problem.SHORTER_THAN_DESCRIPTOR;
        }
        if (length > available) {
            return Problem.LONGER_THAN_AVAILABLE;
        }
        if (offset < LENGTH || offset > length) {
            return Problem.DATA_OFFSET_OUTSIDE;
        }
        if (PacketType.of(typeCode(word)) == null) {
            return Problem.UNKNOWN_TYPE;
        }
        if ((flags(word) & ~FLAG_COMPLETION_REQUESTED) != 0) {
            return Problem.UNKNOWN_FLAGS;
        }
        return null;
    }

    /**
     * The descriptor at {@code offset} of {@code segment}, for a packet that may take
     * {@code available} bytes (its trailer not counted). Thread-safe.
     *
     * @throws ProtocolException when fewer than 16 bytes are available or {@link #check} finds a problem
     */
    public static PacketDescriptor decode(MemorySegment segment, long offset, long available) throws ProtocolException {
        if (available < LENGTH) {
            throw new ProtocolException(RangeHeaders.PROTOCOL, "packet descriptor", -1,
                    available + " bytes; it takes " + LENGTH);
        }
        long word = segment.get(LONG, offset);
        Problem problem = check(word, available);
        if (problem != null) {
            throw new ProtocolException(RangeHeaders.PROTOCOL, "packet descriptor", 0, switch (problem) {
                case SHORTER_THAN_DESCRIPTOR -> "a packet of " + length(word) + " bytes, shorter than its descriptor";
                case LONGER_THAN_AVAILABLE -> "a packet of " + length(word) + " bytes in " + available;
                case DATA_OFFSET_OUTSIDE -> "data at byte " + dataOffset(word) + ", outside [16, " + length(word) + "]";
                case UNKNOWN_TYPE -> "type " + typeCode(word);
                case UNKNOWN_FLAGS -> "flags 0x" + Integer.toHexString(flags(word));
            });
        }
        return new PacketDescriptor(PacketType.of(typeCode(word)), dataOffset(word), length(word), flags(word),
                segment.get(LONG, offset + 8));
    }

    /** Writes the descriptor's {@link #LENGTH} bytes at {@code offset} of {@code segment}. Thread-safe. */
    public void encode(MemorySegment segment, long offset) {
        segment.set(LONG, offset, word(type.code(), dataOffset, length, flags));
        segment.set(LONG, offset + 8, transactionId);
    }
}
