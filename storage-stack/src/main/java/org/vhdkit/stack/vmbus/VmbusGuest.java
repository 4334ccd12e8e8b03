package org.vhdkit.stack.vmbus;

import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.vhdkit.stack.memory.GuestMemory;
import org.vhdkit.stack.memory.GuestMemoryException;

/**
 * The guest's view of its partition's VMBus, for guest programs: the channels offered, the
 * parent's notifications (offers, rescinds, channels it closed), GPADLs over the guest's own pages,
 * and opening channels whose rings the guest lays out in a GPADL. Pages are the guest's to choose
 * (any guest page frames, contiguous or not); the library initializes the two control pages.
 *
 * <p>Thread-safety: every method may be called from any guest thread; requests are serialized by
 * the server's lock.
 */
public final class VmbusGuest {
    private final VmbusServer server;
    private final GuestMemory memory;
    private final long pollNanos;

    VmbusGuest(VmbusServer server, GuestMemory memory, long pollNanos) {
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

    /** The first offer of interface {@code type}, if any. */
    public Optional<ChannelOffer> offer(UUID type) {
        return offers().stream().filter(o -> o.type().equals(type)).findFirst();
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
     * parent's packets to the guest. The library zeroes both rings' indices first.
     */
    public GuestChannel open(ChannelOffer offer, int gpadl, int outboundPages) throws VmbusException {
        return open(offer, gpadl, outboundPages, -1);
    }

    /**
     * Opens {@code offer} with its rings on the guest pages {@code ringPfns}, registering them as a
     * GPADL that {@link GuestChannel#close()} tears down again.
     */
    public GuestChannel open(ChannelOffer offer, long[] ringPfns, int outboundPages) throws VmbusException {
        int handle = createGpadl(ringPfns);
        try {
            return open(offer, handle, outboundPages, handle);
        } catch (VmbusException | RuntimeException e) {
            try {
                server.teardownGpadl(handle);
            } catch (VmbusException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    private GuestChannel open(ChannelOffer offer, int gpadl, int outboundPages, int owned) throws VmbusException {
        OpenChannel link = server.open(offer.channelId(), gpadl, outboundPages, VmbusGuest::initializeRings);
        return new GuestChannel(this, link, pollNanos, owned);
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

    void close(GuestChannel channel) {
        server.guestClose(channel.link());
        if (channel.ownedGpadl() >= 0) {
            server.releaseClosedChannelsGpadl(channel.ownedGpadl());
        }
    }

    @Override
    public String toString() {
        return "VmbusGuest[" + memory.owner() + "]";
    }
}
