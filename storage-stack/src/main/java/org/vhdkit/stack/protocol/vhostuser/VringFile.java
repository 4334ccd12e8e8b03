package org.vhdkit.stack.protocol.vhostuser;

import java.lang.foreign.MemorySegment;
import org.vhdkit.stack.protocol.ProtocolException;

/**
 * The u64 payload of SET_VRING_KICK, SET_VRING_CALL and SET_VRING_ERR: the ring index in bits 0 to
 * 7, and bit 8 set when no file descriptor comes with the message (the ring is then polled, or not
 * signalled). Any other bit is refused. Thread-safety: immutable.
 */
public record VringFile(int index, boolean noFd) {
    /** Reads the payload of {@code header}'s message. */
    public static VringFile decode(MessageHeader header, MemorySegment payload) throws ProtocolException {
        long v = header.u64(payload);
        if ((v & ~(VhostUser.VRING_INDEX_MASK | VhostUser.VRING_NOFD_MASK)) != 0) {
            throw new ProtocolException(VhostUser.PROTOCOL, header.name() + " u64", MessageHeader.LENGTH,
                    "0x" + Long.toHexString(v) + " sets bits other than the index and the no-descriptor flag");
        }
        return new VringFile((int) (v & VhostUser.VRING_INDEX_MASK), (v & VhostUser.VRING_NOFD_MASK) != 0);
    }

    /** Writes the payload; returns its length. */
    public int encode(MemorySegment dst) {
        dst.set(MessageHeader.U64, 0, index | (noFd ? VhostUser.VRING_NOFD_MASK : 0));
        return 8;
    }
}
