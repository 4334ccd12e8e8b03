package org.vhdkit.stack.vmbus;

import java.lang.foreign.MemorySegment;
import org.vhdkit.stack.protocol.vmbus.PacketType;

/**
 * The guest's end of one open channel, as the {@link GuestPort} hands it out: the ring the guest
 * writes, the ring it reads, and the two events. Sending polls briefly, then sets the ring's
 * pending send size and parks until the parent has read enough; receiving polls briefly, then
 * unmasks the parent's interrupt and parks. The guest library
 * ({@code org.vhdkit.stack.guest.vmbus.GuestChannel}) builds its packet API on these two calls.
 *
 * <p>Thread-safety: any threads may send and receive at once; sends are serialized by the end's
 * send lock and receives by its receive lock. {@link #close} may be called from any thread;
 * operations after it throw {@link ChannelClosedException}.
 */
public final class GuestEnd {
    /** A timeout that waits as long as the channel is open. */
    public static final long FOREVER = Endpoint.FOREVER;

    private final GuestPort port;
    private final OpenChannel link;
    private final Endpoint endpoint;
    private final int ownedGpadl;

    GuestEnd(GuestPort port, OpenChannel link, long pollNanos, int ownedGpadl) {
        this.port = port;
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

    int ownedGpadl() {
        return ownedGpadl;
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

    /**
     * Sends one packet of {@code type} ({@code ranges} only for GPA direct, else null), then
     * {@code length} in-band bytes of {@code payload}: waits up to {@code timeoutNanos} for room
     * ({@code 0}: not at all, {@link #FOREVER}: until room or close); returns false if there was none.
     */
    public boolean send(PacketType type, boolean completionRequested, long transactionId, GpaRangeList ranges,
            MemorySegment payload, long offset, int length, long timeoutNanos)
            throws ChannelClosedException, InterruptedException {
        return endpoint.send(type, ParentChannel.flags(completionRequested), transactionId, ranges, null, payload,
                offset, length, timeoutNanos);
    }

    /**
     * Reads the next packet into {@code packet}, waiting up to {@code timeoutNanos} ({@code 0}: not
     * at all, {@link #FOREVER}: until one arrives or the channel closes); false if none came.
     */
    public boolean receive(VmbusPacket packet, long timeoutNanos) throws ChannelClosedException, InterruptedException {
        return endpoint.receive(packet, timeoutNanos);
    }

    /**
     * Closes the channel: the parent stops reading and writing its rings (this waits for that), and
     * a GPADL opened with the channel is torn down. Closing twice does nothing.
     */
    public void close() {
        port.close(this);
    }

    @Override
    public String toString() {
        return "GuestEnd[" + link.offer + (isOpen() ? "" : ", " + closure()) + "]";
    }
}
