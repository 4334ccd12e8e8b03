package org.vhdkit.stack.protocol.vhostuser;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.vhdkit.stack.protocol.ProtocolException;

/**
 * The header of every vhost-user message: {@code u32 request, u32 flags, u32 size} (the payload's
 * length), 12 bytes. Thread-safety: immutable.
 */
public record MessageHeader(int request, int flags, int size) {
    /** The header's length in bytes. */
    public static final int LENGTH = 12;

    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * Reads a header at {@code offset} of {@code src}: the version must be 1 and the payload at most
     * {@link VhostUser#MAX_PAYLOAD} bytes, or the stream cannot be followed any further.
     *
     * @throws ProtocolException naming the field
     */
    public static MessageHeader decode(MemorySegment src, long offset) throws ProtocolException {
        int request = src.get(U32, offset);
        int flags = src.get(U32, offset + 4);
        int size = src.get(U32, offset + 8);
        if ((flags & VhostUser.VERSION_MASK) != VhostUser.VERSION) {
            throw new ProtocolException(VhostUser.PROTOCOL, VhostUser.requestName(request) + " flags", 4,
                    "version " + (flags & VhostUser.VERSION_MASK) + "; only version 1 is spoken");
        }
        if (size < 0 || size > VhostUser.MAX_PAYLOAD) {
            throw new ProtocolException(VhostUser.PROTOCOL, VhostUser.requestName(request) + " size", 8,
                    Integer.toUnsignedString(size) + " bytes; at most " + VhostUser.MAX_PAYLOAD);
        }
        return new MessageHeader(request, flags, size);
    }

    /** Writes this header at {@code offset} of {@code dst}. */
    public void encode(MemorySegment dst, long offset) {
        dst.set(U32, offset, request);
        dst.set(U32, offset + 4, flags);
        dst.set(U32, offset + 8, size);
    }

    /** The header of a reply to {@code request} carrying {@code size} bytes. */
    public static MessageHeader reply(int request, int size) {
        return new MessageHeader(request, VhostUser.VERSION | VhostUser.FLAG_REPLY, size);
    }

    /** Whether the front-end asked for an acknowledgement. */
    public boolean needsReply() {
        return (flags & VhostUser.FLAG_NEED_REPLY) != 0;
    }

    /** The request's name for messages. */
    public String name() {
        return VhostUser.requestName(request);
    }

    /** Refuses a payload shorter than {@code needed} bytes. */
    public void requireSize(int needed) throws ProtocolException {
        if (size < needed) {
            throw new ProtocolException(VhostUser.PROTOCOL, name() + " payload", LENGTH,
                    size + " bytes; the payload is " + needed);
        }
    }

    /** Reads the u64 payload of a request that carries one (at the start of {@code payload}). */
    public long u64(MemorySegment payload) throws ProtocolException {
        requireSize(8);
        return payload.get(U64, 0);
    }
}
