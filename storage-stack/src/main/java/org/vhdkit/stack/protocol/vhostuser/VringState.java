package org.vhdkit.stack.protocol.vhostuser;

import java.lang.foreign.MemorySegment;
import org.vhdkit.stack.protocol.ProtocolException;

/**
 * The payload of SET_VRING_NUM, SET_VRING_BASE, GET_VRING_BASE and SET_VRING_ENABLE:
 * {@code u32 index, u32 num}. Thread-safety: immutable.
 */
public record VringState(int index, int num) {
    /** The payload's length. */
    public static final int LENGTH = 8;

    /** Reads the payload of {@code header}'s message. */
    public static VringState decode(MessageHeader header, MemorySegment payload) throws ProtocolException {
        header.requireSize(LENGTH);
        return new VringState(payload.get(MessageHeader.U32, 0), payload.get(MessageHeader.U32, 4));
    }

    /** Writes the payload; returns its length. */
    public int encode(MemorySegment dst) {
        dst.set(MessageHeader.U32, 0, index);
        dst.set(MessageHeader.U32, 4, num);
        return LENGTH;
    }
}
