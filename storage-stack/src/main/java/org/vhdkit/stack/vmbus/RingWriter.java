package org.vhdkit.stack.vmbus;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import org.vhdkit.stack.memory.GuestMemoryException;
import org.vhdkit.stack.protocol.vmbus.PacketDescriptor;
import org.vhdkit.stack.protocol.vmbus.PacketType;

/**
 * The writing end of one ring. Keeps its write index to itself (publishing it, never reading it
 * back), reads the other side's read index and interrupt mask as untrusted values, writes each
 * packet as descriptor, range headers, payload padded to 8 bytes and the trailer ({@code (u64)}
 * write index before the packet {@code << 32}), and signals the reader only when the ring went from
 * empty to non-empty and the reader's interrupt mask is clear.
 *
 * <p>Thread-safety: not thread-safe; callers serialize writes (the channel's send lock).
 */
final class RingWriter {
    private final Ring ring;
    private final Signal readerEvent;
    private int writeIndex;

    RingWriter(Ring ring, Signal readerEvent, int writeIndex) {
        if (!ring.valid(writeIndex)) {
            throw new IllegalArgumentException("write index " + writeIndex);
        }
        this.ring = ring;
        this.readerEvent = readerEvent;
        this.writeIndex = writeIndex;
    }

    int writeIndex() {
        return writeIndex;
    }

    /** The ring bytes a packet takes: descriptor, prefix, padded payload, trailer. */
    static int footprint(int prefixLength, int payloadLength) {
        return VmbusPacket.DESCRIPTOR + prefixLength + align8(payloadLength) + 8;
    }

    static int align8(int n) {
        return (n + 7) & ~7;
    }

    /** Refuses (as a programming error) a packet that could never fit this ring or the length field. */
    void checkFits(int prefixLength, int payloadLength) {
        if (payloadLength < 0 || prefixLength < 0 || (prefixLength & 7) != 0) {
            throw new IllegalArgumentException("payload " + payloadLength + ", prefix " + prefixLength);
        }
        long total = (long) VmbusPacket.DESCRIPTOR + prefixLength + align8(payloadLength) + 8;
        if (total - 8 > VmbusPacket.MAX_LENGTH || total > ring.size() - 8) {
            throw new IllegalArgumentException("a packet of " + (total - 8) + " bytes does not fit a ring of "
                    + ring.size() + " data bytes (at most " + Math.min(ring.size() - 16, VmbusPacket.MAX_LENGTH) + ")");
        }
    }

    private int readIndex() throws RingException, GuestMemoryException {
        int r = ring.readIndex();
        if (!ring.valid(r)) {
            throw new RingException(ChannelClosedReason.BAD_READ_INDEX, String.format(
                    "read index 0x%x is not an 8-aligned offset below the ring's %d data bytes", r, ring.size()));
        }
        return r;
    }

    /** Whether {@code footprint} bytes are free now. */
    boolean hasRoom(int footprint) throws RingException {
        try {
            return ring.free(writeIndex, readIndex()) >= footprint;
        } catch (GuestMemoryException e) {
            throw RingReader.memoryFault(e);
        }
    }

    /** Asks the reader to signal once {@code bytes} are free (0: no longer waiting). */
    void setPendingSendSize(int bytes) throws RingException {
        try {
            ring.setPendingSendSize(bytes);
            VarHandle.fullFence();
        } catch (GuestMemoryException e) {
            throw RingReader.memoryFault(e);
        }
    }

    /** Declares that this writer sets a pending send size when the ring is full. */
    void announcePendingSendSize() throws RingException {
        try {
            ring.setFeatureBits(ring.featureBits() | Ring.FEATURE_PENDING_SEND_SIZE);
        } catch (GuestMemoryException e) {
            throw RingReader.memoryFault(e);
        }
    }

    /**
     * Writes one packet if it fits now; false if the ring lacks room. {@code prefix} holds
     * {@code prefixLength} (8-aligned) bytes of type-specific headers placed after the descriptor.
     */
    boolean tryWrite(PacketType type, int flags, long transactionId, MemorySegment prefix, int prefixLength,
            MemorySegment payload, long payloadOffset, int payloadLength) throws RingException {
        checkFits(prefixLength, payloadLength);
        int footprint = footprint(prefixLength, payloadLength);
        try {
            int r = readIndex();
            if (ring.free(writeIndex, r) < footprint) {
                return false;
            }
            int at = writeIndex;
            ring.putLong(at, PacketDescriptor.word(type.code(), VmbusPacket.DESCRIPTOR + prefixLength, footprint - 8, flags));
            ring.putLong(ring.advance(at, 8), transactionId);
            int pos = ring.advance(at, VmbusPacket.DESCRIPTOR);
            if (prefixLength > 0) {
                ring.write(pos, prefix, 0, prefixLength);
                pos = ring.advance(pos, prefixLength);
            }
            if ((payloadLength & 7) != 0) {
                ring.putLong(ring.advance(pos, payloadLength & ~7), 0L);
            }
            ring.write(pos, payload, payloadOffset, payloadLength);
            pos = ring.advance(pos, align8(payloadLength));
            ring.putLong(pos, (long) at << 32);
            writeIndex = ring.advance(pos, 8);
            ring.publishWriteIndex(writeIndex);
            VarHandle.fullFence();
            if (ring.interruptMask() == 0 && ring.readIndex() == at) {
                readerEvent.raise();
            }
            return true;
        } catch (GuestMemoryException e) {
            throw RingReader.memoryFault(e);
        }
    }
}
