package org.vhdkit.stack.vmbus;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.vhdkit.stack.protocol.vmbus.PacketType;

/**
 * The guest's side of one open channel, for guest programs (a VSC, an integration service): send
 * in-band and GPA-direct packets with transaction ids, receive completions and the parent's
 * packets. Receiving polls briefly, then unmasks the parent's interrupt and parks; sending into a
 * full ring sets the pending send size and parks until the parent has read enough.
 *
 * <p>Thread-safety: any threads may send and receive at once; sends are serialized by the
 * channel's send lock and receives by its receive lock. {@link #close} may be called from any
 * thread; operations after it throw {@link ChannelClosedException}.
 */
public final class GuestChannel implements AutoCloseable {
    private final VmbusGuest guest;
    private final OpenChannel link;
    private final Endpoint endpoint;
    private final int ownedGpadl;

    GuestChannel(VmbusGuest guest, OpenChannel link, long pollNanos, int ownedGpadl) {
        this.guest = guest;
        this.link = link;
        this.ownedGpadl = ownedGpadl;
        this.endpoint = new Endpoint(link,
                new RingReader(link.toGuest, link.parentEvent, link.toGuestRead),
                new RingWriter(link.toParent, link.parentEvent, link.toParentWrite),
                link.guestEvent, pollNanos, "guest");
    }

    OpenChannel link() {
        return link;
    }

    /** The offer this channel was opened on. */
    public ChannelOffer offer() {
        return link.offer;
    }

    /** The GPADL the rings live in. */
    public int gpadl() {
        return link.gpadl.handle();
    }

    /** Whether the channel is still open. */
    public boolean isOpen() {
        return link.isOpen();
    }

    /** Why the channel closed, or null while it is open. */
    public ChannelClosure closure() {
        return link.closure();
    }

    /** Signals this guest raised to the parent on this channel. */
    public long signalsToParent() {
        return link.parentEvent.count();
    }

    /** Interrupts the parent raised to this guest on this channel. */
    public long interruptsFromParent() {
        return link.guestEvent.count();
    }

    /** Sends an in-band packet if the ring has room now; false if not. */
    public boolean trySendInBand(long transactionId, boolean completionRequested, MemorySegment payload, long offset,
            int length) throws ChannelClosedException {
        return trySend(PacketType.IN_BAND, ParentChannel.flags(completionRequested), transactionId, null, payload,
                offset, length);
    }

    /** Sends an in-band packet, waiting for room as long as the channel is open. */
    public void sendInBand(long transactionId, boolean completionRequested, MemorySegment payload, long offset,
            int length) throws ChannelClosedException, InterruptedException {
        endpoint.send(PacketType.IN_BAND, ParentChannel.flags(completionRequested), transactionId, null, null, payload,
                offset, length, Endpoint.FOREVER);
    }

    /** Sends a completion for the parent's transaction {@code transactionId} if there is room now. */
    public boolean trySendCompletion(long transactionId, MemorySegment payload, long offset, int length)
            throws ChannelClosedException {
        return trySend(PacketType.COMPLETION, 0, transactionId, null, payload, offset, length);
    }

    /** Sends a completion, waiting for room as long as the channel is open. */
    public void sendCompletion(long transactionId, MemorySegment payload, long offset, int length)
            throws ChannelClosedException, InterruptedException {
        endpoint.send(PacketType.COMPLETION, 0, transactionId, null, null, payload, offset, length, Endpoint.FOREVER);
    }

    /**
     * Sends a GPA-direct packet: {@code ranges} (guest memory the parent may read or write for this
     * request), then {@code length} in-band bytes of {@code payload}; false if there is no room now.
     */
    public boolean trySendGpaDirect(long transactionId, boolean completionRequested, GpaRangeList ranges,
            MemorySegment payload, long offset, int length) throws ChannelClosedException {
        return trySend(PacketType.GPA_DIRECT, ParentChannel.flags(completionRequested), transactionId, ranges, payload,
                offset, length);
    }

    /** Sends a GPA-direct packet, waiting for room as long as the channel is open. */
    public void sendGpaDirect(long transactionId, boolean completionRequested, GpaRangeList ranges,
            MemorySegment payload, long offset, int length) throws ChannelClosedException, InterruptedException {
        checkRanges(ranges);
        endpoint.send(PacketType.GPA_DIRECT, ParentChannel.flags(completionRequested), transactionId, ranges, null,
                payload, offset, length, Endpoint.FOREVER);
    }

    private boolean trySend(PacketType type, int flags, long transactionId, GpaRangeList ranges, MemorySegment payload,
            long offset, int length) throws ChannelClosedException {
        if (type == PacketType.GPA_DIRECT) {
            checkRanges(ranges);
        }
        try {
            return endpoint.send(type, flags, transactionId, ranges, null, payload, offset, length, 0);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static void checkRanges(GpaRangeList ranges) {
        if (ranges.rangeCount() == 0) {
            throw new IllegalArgumentException("a GPA-direct packet needs at least one range");
        }
    }

    /** Reads the next packet into {@code packet} if one is there; false if the ring is empty. */
    public boolean tryReceive(VmbusPacket packet) throws ChannelClosedException {
        try {
            return endpoint.receive(packet, 0);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Reads the next packet into {@code packet}, waiting as long as the channel is open. */
    public void receive(VmbusPacket packet) throws ChannelClosedException, InterruptedException {
        endpoint.receive(packet, Endpoint.FOREVER);
    }

    /** Reads the next packet into {@code packet}, waiting up to {@code timeout}; false if none came. */
    public boolean receive(VmbusPacket packet, long timeout, TimeUnit unit)
            throws ChannelClosedException, InterruptedException {
        return endpoint.receive(packet, unit.toNanos(timeout));
    }

    /**
     * Closes the channel: the parent stops reading and writing its rings (this waits for that), and
     * a GPADL the library made for the channel is torn down. Closing twice does nothing.
     */
    @Override
    public void close() {
        guest.close(this);
    }

    int ownedGpadl() {
        return ownedGpadl;
    }

    @Override
    public String toString() {
        return "GuestChannel[" + link.offer + (isOpen() ? "" : ", " + closure()) + "]";
    }
}
