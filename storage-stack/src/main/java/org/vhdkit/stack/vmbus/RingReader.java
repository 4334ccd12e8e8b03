package org.vhdkit.stack.vmbus;

import java.lang.invoke.VarHandle;
import org.vhdkit.stack.memory.GuestMemoryException;

/**
 * The reading end of one ring: the parent reading what the guest sends, or the guest reading what
 * the parent sends. Keeps its read index to itself (publishing it, never reading it back) and
 * treats everything the other side wrote, the write index, the pending send size and every packet
 * byte, as untrusted: a value it refuses raises {@link RingException} and the channel closes.
 *
 * <p>Each packet is copied out of the ring into the caller's {@link VmbusPacket} and checked there;
 * its space is given back at once, and the writer is {@linkplain #writerEvent signalled} when the
 * free space crosses the pending send size the writer asked for.
 *
 * <p>Thread-safety: not thread-safe; one thread reads at a time (the channel's consumer thread, or
 * the guest thread holding its channel's receive lock).
 */
final class RingReader {
    private final Ring ring;
    private final Signal writerEvent;
    private int readIndex;

    RingReader(Ring ring, Signal writerEvent, int readIndex) {
        if (!ring.valid(readIndex)) {
            throw new IllegalArgumentException("read index " + readIndex);
        }
        this.ring = ring;
        this.writerEvent = writerEvent;
        this.readIndex = readIndex;
    }

    int readIndex() {
        return readIndex;
    }

    /** Whether the ring holds a packet to read. */
    boolean hasData() throws RingException {
        return writeIndex() != readIndex;
    }

    private int writeIndex() throws RingException {
        int w;
        try {
            w = ring.writeIndex();
        } catch (GuestMemoryException e) {
            throw memoryFault(e);
        }
        if (!ring.valid(w)) {
            throw new RingException(ChannelClosedReason.BAD_WRITE_INDEX, String.format(
                    "write index 0x%x is not an 8-aligned offset below the ring's %d data bytes", w, ring.size()));
        }
        return w;
    }

    /**
     * Reads the next packet into {@code packet}; false if the ring is empty. The packet's space is
     * released before this returns.
     */
    boolean read(VmbusPacket packet) throws RingException {
        int w = writeIndex();
        int at = readIndex;
        if (w == at) {
            return false;
        }
        int available = ring.available(w, at);
        if (available < VmbusPacket.DESCRIPTOR + 8) {
            throw new RingException(ChannelClosedReason.BAD_PACKET_LENGTH, String.format(
                    "the ring holds %d bytes at offset %d, less than a descriptor and trailer", available, at));
        }
        try {
            ring.read(at, packet.buffer(VmbusPacket.DESCRIPTOR), 0, VmbusPacket.DESCRIPTOR);
            int length = packet.decodeDescriptor(available, at);
            ring.read(ring.advance(at, VmbusPacket.DESCRIPTOR), packet.buffer(length), VmbusPacket.DESCRIPTOR,
                    length - VmbusPacket.DESCRIPTOR);
            packet.decodeBody(ring.memory());
            readIndex = ring.advance(at, length + 8);
            ring.publishReadIndex(readIndex);
            signalWriterIfRoom(at);
        } catch (GuestMemoryException e) {
            throw memoryFault(e);
        }
        return true;
    }

    /** Signals a writer that asked for room once the free space crosses its pending send size. */
    private void signalWriterIfRoom(int before) throws GuestMemoryException {
        VarHandle.fullFence();
        long pending = Integer.toUnsignedLong(ring.pendingSendSize()) & ~7L;
        if (pending == 0 || (ring.featureBits() & Ring.FEATURE_PENDING_SEND_SIZE) == 0) {
            return;
        }
        int w = ring.writeIndex();
        if (!ring.valid(w)) {
            return;
        }
        if (ring.free(w, before) < pending && ring.free(w, readIndex) >= pending) {
            writerEvent.raise();
        }
    }

    /** Masks (or unmasks) the writer's signal for the ring going from empty to non-empty. */
    void setInterruptMask(boolean masked) throws RingException {
        try {
            ring.setInterruptMask(masked ? 1 : 0);
        } catch (GuestMemoryException e) {
            throw memoryFault(e);
        }
    }

    static RingException memoryFault(GuestMemoryException e) {
        return new RingException(ChannelClosedReason.MEMORY_FAULT, e.getMessage());
    }
}
