package org.vhdkit.stack.vmbus;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.vhdkit.stack.memory.GuestMemory;
import org.vhdkit.stack.memory.GuestMemoryException;

/**
 * The guest's port onto its partition's VMBus server, standing in for the hypercall and SynIC
 * message path: the offers, the parent's notifications, GPADL registration, and opening a channel
 * whose rings lie in a GPADL. The parent offers it to the guest as a service
 * ({@code ctx.service(GuestPort.class)}); guest programs use it through the guest library
 * {@code org.vhdkit.stack.guest.vmbus.VmbusGuest}. Everything the guest passes is checked by the
 * server, as a hypercall's arguments would be.
 *
 * <p>Thread-safety: every method may be called from any guest thread; requests are serialized by
 * the server's lock.
 */
public final class GuestPort {
    private final VmbusServer server;
    private final GuestMemory memory;
    private final long pollNanos;

    GuestPort(VmbusServer server, GuestMemory memory, long pollNanos) {
        this.server = server;
        this.memory = memory;
        this.pollNanos = pollNanos;
    }

    /** The guest's own memory. */
    public GuestMemory memory() {
        return memory;
    }

    /** The offers the guest may open now. */
    public List<ChannelOffer> offers() {
        return server.offers();
    }

    /** The next notification from the parent, or null if none is waiting. */
    public GuestNotification pollNotification() {
        return server.pollNotification();
    }

    /** The next notification from the parent, waiting up to {@code timeout}; null if none came. */
    public GuestNotification nextNotification(long timeout, TimeUnit unit) throws InterruptedException {
        return server.nextNotification(timeout, unit);
    }

    /** Registers the guest pages {@code pfns} (in order) as a GPADL; returns its handle. */
    public int createGpadl(long... pfns) throws VmbusException {
        return server.createGpadl(pfns.clone());
    }

    /** Releases a GPADL no open channel uses. */
    public void teardownGpadl(int handle) throws VmbusException {
        server.teardownGpadl(handle);
    }

    /**
     * Opens {@code offer} with its rings in GPADL {@code gpadl}: the first {@code outboundPages}
     * pages (a control page and data pages) carry the guest's packets to the parent, the rest the
     * parent's packets to the guest. Both rings' indices are zeroed first. When {@code ownsGpadl},
     * closing the channel tears the GPADL down too.
     */
    public GuestEnd open(ChannelOffer offer, int gpadl, int outboundPages, boolean ownsGpadl) throws VmbusException {
        OpenChannel link = server.open(offer.channelId(), gpadl, outboundPages, GuestPort::initializeRings);
        return new GuestEnd(this, link, pollNanos, ownsGpadl ? gpadl : -1);
    }

    /** Zeroes both rings' indices and masks, declares pending-send-size support in both. */
    private static void initializeRings(Gpadl gpadl, int outboundPages) throws GuestMemoryException {
        for (Ring ring : new Ring[] {gpadl.ring(0, outboundPages), gpadl.ring(outboundPages, gpadl.pages() - outboundPages)}) {
            ring.publishWriteIndex(0);
            ring.publishReadIndex(0);
            ring.setInterruptMask(1);
            ring.setPendingSendSize(0);
            ring.setFeatureBits(Ring.FEATURE_PENDING_SEND_SIZE);
        }
    }

    void close(GuestEnd end) {
        server.guestClose(end.link());
        if (end.ownedGpadl() >= 0) {
            server.releaseClosedChannelsGpadl(end.ownedGpadl());
        }
    }

    @Override
    public String toString() {
        return "GuestPort[" + memory.owner() + "]";
    }
}
