package org.vhdkit.stack.protocol.storage;

import static org.vhdkit.stack.protocol.storage.Wire.INT;

import java.lang.foreign.MemorySegment;
import org.vhdkit.stack.protocol.ProtocolException;

/**
 * The 12-byte header every storage packet's payload starts with: {u32 operation, u32 flags, u32
 * status (NTSTATUS)}, then the union the operation selects ({@link ProtocolVersion},
 * {@link ChannelProperties}, an SRB).
 *
 * <p>The record is the value form; the static {@link #operation}, {@link #status} and {@link #write}
 * read and write the fields in place, for the per-request paths of both ends, which must not
 * allocate a record per packet.
 *
 * <p>Immutable; safe to share between threads. The static methods touch only the segment given.
 *
 * @param operation one of {@link StorageProtocol}'s operations, or any value a peer sent
 * @param flags     {@link StorageProtocol#REQUEST_COMPLETION_FLAG} or 0
 * @param status    an NTSTATUS value, {@link StorageProtocol#STATUS_SUCCESS} in a request
 */
public record PacketHeader(int operation, int flags, int status) {
    /** The header's length in bytes. */
    public static final int LENGTH = StorageProtocol.HEADER_LENGTH;

    private static final int OPERATION = 0;
    private static final int FLAGS = 4;
    private static final int STATUS = 8;

    /**
     * The header in the {@code available} bytes at {@code offset} of {@code segment}. Every
     * operation, flag and status value is representable (an unknown operation is answered, not
     * refused), so only a short message is refused. Thread-safe.
     *
     * @throws ProtocolException when fewer than {@link #LENGTH} bytes are available
     */
    public static PacketHeader decode(MemorySegment segment, long offset, long available) throws ProtocolException {
        Wire.require(segment, offset, available, LENGTH, "packet header");
        return new PacketHeader(operation(segment, offset), segment.get(INT, offset + FLAGS), status(segment, offset));
    }

    /** Writes the header's {@link #LENGTH} bytes at {@code offset} of {@code segment}. Thread-safe. */
    public void encode(MemorySegment segment, long offset) {
        write(segment, offset, operation, flags, status);
    }

    /** The operation of the header at {@code offset}; the caller checked the length. Thread-safe. */
    public static int operation(MemorySegment segment, long offset) {
        return segment.get(INT, offset + OPERATION);
    }

    /** The status of the header at {@code offset}; the caller checked the length. Thread-safe. */
    public static int status(MemorySegment segment, long offset) {
        return segment.get(INT, offset + STATUS);
    }

    /** Writes a header at {@code offset} without making a record. Thread-safe. */
    public static void write(MemorySegment segment, long offset, int operation, int flags, int status) {
        segment.set(INT, offset + OPERATION, operation);
        segment.set(INT, offset + FLAGS, flags);
        segment.set(INT, offset + STATUS, status);
    }
}
