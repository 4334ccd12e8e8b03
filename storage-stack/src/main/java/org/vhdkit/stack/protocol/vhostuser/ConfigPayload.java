package org.vhdkit.stack.protocol.vhostuser;

import java.lang.foreign.MemorySegment;
import org.vhdkit.stack.protocol.ProtocolException;

/**
 * The head of the payload of GET_CONFIG and SET_CONFIG: {@code u32 offset, u32 size, u32 flags},
 * then {@code size} bytes of the device's configuration space. Thread-safety: immutable.
 */
public record ConfigPayload(int offset, int size, int flags) {
    /** The head's length; the configuration bytes follow. */
    public static final int HEAD = 12;
    /** The most configuration bytes one message carries. */
    public static final int MAX_SIZE = 256;

    /** Reads the head of {@code header}'s message and checks the bytes it claims are there. */
    public static ConfigPayload decode(MessageHeader header, MemorySegment payload) throws ProtocolException {
        header.requireSize(HEAD);
        ConfigPayload c = new ConfigPayload(payload.get(MessageHeader.U32, 0), payload.get(MessageHeader.U32, 4),
                payload.get(MessageHeader.U32, 8));
        if (c.offset < 0 || c.offset > MAX_SIZE || c.size < 0 || c.size > MAX_SIZE - c.offset) {
            throw new ProtocolException(VhostUser.PROTOCOL, header.name() + " offset and size", MessageHeader.LENGTH,
                    Integer.toUnsignedString(c.offset) + " and " + Integer.toUnsignedString(c.size) + "; at most "
                            + MAX_SIZE + " bytes of configuration space");
        }
        header.requireSize(HEAD + c.size);
        return c;
    }

    /** Writes the head; returns its length. */
    public int encode(MemorySegment dst) {
        dst.set(MessageHeader.U32, 0, offset);
        dst.set(MessageHeader.U32, 4, size);
        dst.set(MessageHeader.U32, 8, flags);
        return HEAD;
    }
}
