package org.vhdkit.stack.vmbus;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.ReentrantLock;
import org.vhdkit.stack.protocol.vmbus.PacketType;

/**
 * One side of an open channel, parent or guest: the ring it reads, the ring it writes, and the
 * event the other side raises for it. Sending and receiving poll briefly before they park, so a
 * request and its answer at queue depth 1 usually cost no signal; a receiver keeps the interrupt
 * mask of its ring set except while parked, and a blocked sender sets its ring's pending send size.
 * A ring value this side refuses closes the channel.
 *
 * <p>Thread-safety: sends are serialized by {@link #sendLock} (which also guards the prefix
 * buffer), receives by {@link #receiveLock}; any threads may send and receive at once.
 */
final class Endpoint {
    static final long FOREVER = Long.MAX_VALUE;
    /** Busy spins before a poll starts yielding the processor. */
    private static final int SPINS_BEFORE_YIELD = 64;

    private final OpenChannel link;
    private final RingReader in;
    private final RingWriter out;
    private final Signal myEvent;
    private final long pollNanos;
    private final String side;
    private final ReentrantLock sendLock = new ReentrantLock();
    private final ReentrantLock receiveLock = new ReentrantLock();
    /** Range headers of the packet being sent; guarded by sendLock. */
    private MemorySegment prefix = MemorySegment.ofArray(new byte[256]);

    Endpoint(OpenChannel link, RingReader in, RingWriter out, Signal myEvent, long pollNanos, String side) {
        this.link = link;
        this.in = in;
        this.out = out;
        this.myEvent = myEvent;
        this.pollNanos = pollNanos;
        this.side = side;
    }

    /**
     * Sends one packet: waits up to {@code timeoutNanos} for room ({@code 0}: not at all,
     * {@link #FOREVER}: until room or close); returns false if there was none.
     */
    boolean send(PacketType type, int flags, long transactionId, GpaRangeList gpaRanges, TransferPageRanges transferRanges,
            MemorySegment payload, long payloadOffset, int payloadLength, long timeoutNanos)
            throws ChannelClosedException, InterruptedException {
        sendLock.lockInterruptibly();
        try {
            link.ensureOpen();
            int prefixLength = encodePrefix(gpaRanges, transferRanges);
            if (out.tryWrite(type, flags, transactionId, prefix, prefixLength, payload, payloadOffset, payloadLength)) {
                return true;
            }
            if (timeoutNanos == 0) {
                return false;
            }
            int footprint = RingWriter.footprint(prefixLength, payloadLength);
            long deadline = System.nanoTime() + timeoutNanos;
            try {
                for (;;) {
                    if (pollFor(footprint)) {
                        link.ensureOpen();
                        if (out.tryWrite(type, flags, transactionId, prefix, prefixLength, payload, payloadOffset,
                                payloadLength)) {
                            return true;
                        }
                    }
                    long seen = myEvent.generation();
                    out.setPendingSendSize(footprint);
                    if (out.tryWrite(type, flags, transactionId, prefix, prefixLength, payload, payloadOffset,
                            payloadLength)) {
                        return true;
                    }
                    link.ensureOpen();
                    long left = timeoutNanos == FOREVER ? FOREVER : deadline - System.nanoTime();
                    if (left <= 0) {
                        return false;
                    }
                    myEvent.await(seen, left);
                    link.ensureOpen();
                }
            } finally {
                if (link.isOpen()) {
                    out.setPendingSendSize(0);
                }
            }
        } catch (RingException e) {
            throw fault(e);
        } finally {
            sendLock.unlock();
        }
    }

    private int encodePrefix(GpaRangeList gpaRanges, TransferPageRanges transferRanges) {
        int length;
        if (gpaRanges != null) {
            length = gpaRanges.encodedLength();
            gpaRanges.encode(prefix(length));
        } else if (transferRanges != null) {
            length = transferRanges.encodedLength();
            transferRanges.encode(prefix(length));
        } else {
            length = 0;
        }
        return length;
    }

    private MemorySegment prefix(int length) {
        if (prefix.byteSize() < length) {
            prefix = MemorySegment.ofArray(new byte[Math.max(length, (int) prefix.byteSize() * 2)]);
        }
        return prefix;
    }

    private boolean pollFor(int footprint) throws RingException {
        if (pollNanos <= 0) {
            return false;
        }
        long end = System.nanoTime() + pollNanos;
        for (int spins = 0;; spins++) {
            if (out.hasRoom(footprint) || !link.isOpen()) {
                return true;
            }
            if (System.nanoTime() - end >= 0) {
                return false;
            }
            pause(spins);
        }
    }

    /**
     * Reads the next packet into {@code packet}, waiting up to {@code timeoutNanos} ({@code 0}: not
     * at all, {@link #FOREVER}: until one arrives or the channel closes); false if none came.
     */
    boolean receive(VmbusPacket packet, long timeoutNanos) throws ChannelClosedException, InterruptedException {
        receiveLock.lockInterruptibly();
        try {
            long deadline = System.nanoTime() + timeoutNanos;
            for (;;) {
                link.ensureOpen();
                if (in.read(packet)) {
                    return true;
                }
                if (timeoutNanos == 0) {
                    return false;
                }
                if (pollForData()) {
                    continue;
                }
                long seen = myEvent.generation();
                in.setInterruptMask(false);
                try {
                    VarHandle.fullFence();
                    if (in.hasData() || !link.isOpen()) {
                        continue;
                    }
                    long left = timeoutNanos == FOREVER ? FOREVER : deadline - System.nanoTime();
                    if (left <= 0 || !myEvent.await(seen, left)) {
                        link.ensureOpen();
                        return in.read(packet);
                    }
                } finally {
                    if (link.isOpen()) {
                        in.setInterruptMask(true);
                    }
                }
            }
        } catch (RingException e) {
            throw fault(e);
        } finally {
            receiveLock.unlock();
        }
    }

    private boolean pollForData() throws RingException {
        if (pollNanos <= 0) {
            return false;
        }
        long end = System.nanoTime() + pollNanos;
        for (int spins = 0;; spins++) {
            if (in.hasData() || !link.isOpen()) {
                return true;
            }
            if (System.nanoTime() - end >= 0) {
                return false;
            }
            pause(spins);
        }
    }

    /**
     * Waits a moment between two looks at a ring: a few spins first (the other side is running and
     * about to write), then yields, so that on a busy host the thread it waits for gets the core.
     */
    private static void pause(int spins) {
        if (spins < SPINS_BEFORE_YIELD) {
            Thread.onSpinWait();
        } else {
            Thread.yield();
        }
    }

    private ChannelClosedException fault(RingException e) {
        link.close(new ChannelClosure(e.reason(), side + " side: " + e.getMessage()));
        return new ChannelClosedException(link.closure());
    }
}
