package org.vhdkit.stack.protocol.vhostuser;

import java.lang.foreign.MemorySegment;
import org.vhdkit.stack.protocol.ProtocolException;

/**
 * The payload of SET_VRING_ADDR: {@code u32 index, u32 flags, u64 descriptor, u64 used, u64 avail,
 * u64 log}; the three ring addresses are in the front-end's address space (a region's
 * {@code userspace_addr}), the log address a guest physical one. Thread-safety: immutable.
 */
public record VringAddress(int index, int flags, long descriptorTable, long usedRing, long availableRing,
                           long log) {
    /** The payload's length. */
    public static final int LENGTH = 40;
    /** Flag: log writes to the used ring. */
    public static final int F_LOG = 1;

    /** Reads the payload of {@code header}'s message. */
    public static VringAddress decode(MessageHeader header, MemorySegment payload) throws ProtocolException {
        header.requireSize(LENGTH);
        return new VringAddress(payload.get(MessageHeader.U32, 0), payload.get(MessageHeader.U32, 4),
                payload.get(MessageHeader.U64, 8), payload.get(MessageHeader.U64, 16),
                payload.get(MessageHeader.U64, 24), payload.get(MessageHeader.U64, 32));
    }

    /** Writes the payload; returns its length. */
    public int encode(MemorySegment dst) {
        dst.set(MessageHeader.U32, 0, index);
        dst.set(MessageHeader.U32, 4, flags);
        dst.set(MessageHeader.U64, 8, descriptorTable);
        dst.set(MessageHeader.U64, 16, usedRing);
        dst.set(MessageHeader.U64, 24, availableRing);
        dst.set(MessageHeader.U64, 32, log);
        return LENGTH;
    }
}
