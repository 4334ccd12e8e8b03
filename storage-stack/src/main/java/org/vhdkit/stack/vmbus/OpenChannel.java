package org.vhdkit.stack.vmbus;

import java.util.concurrent.atomic.AtomicReference;

/**
 * What the two sides of one open channel share, standing in for the hypercall and SynIC paths: the
 * two rings in the GPADL (guest to parent first, parent to guest after the split), the two events,
 * the ring indices found at open, and whether and why the channel closed.
 *
 * <p>Thread-safety: immutable but for {@link #closure}, set once atomically; {@link #close} may be
 * called from any thread and only the first call has an effect.
 */
final class OpenChannel {
    final ChannelOffer offer;
    final Gpadl gpadl;
    final int outboundPages;
    /** The ring the guest writes and the parent reads. */
    final Ring toParent;
    /** The ring the parent writes and the guest reads. */
    final Ring toGuest;
    /** Raised by the guest: new data for the parent, or room for the parent's writes. */
    final Signal parentEvent = new Signal();
    /** Raised by the parent: new data for the guest, or room for the guest's writes. */
    final Signal guestEvent = new Signal();
    final int toParentRead;
    final int toParentWrite;
    final int toGuestRead;
    final int toGuestWrite;

    private final VmbusServer server;
    private final AtomicReference<ChannelClosure> closure = new AtomicReference<>();

    OpenChannel(VmbusServer server, ChannelOffer offer, Gpadl gpadl, int outboundPages, int[] indices) {
        this.server = server;
        this.offer = offer;
        this.gpadl = gpadl;
        this.outboundPages = outboundPages;
        this.toParent = gpadl.ring(0, outboundPages);
        this.toGuest = gpadl.ring(outboundPages, gpadl.pages() - outboundPages);
        this.toParentRead = indices[0];
        this.toParentWrite = indices[1];
        this.toGuestRead = indices[2];
        this.toGuestWrite = indices[3];
    }

    boolean isOpen() {
        return closure.get() == null;
    }

    /** Why the channel closed, or null while it is open. */
    ChannelClosure closure() {
        return closure.get();
    }

    /** Closes the channel for {@code why}; returns false if it was already closed. */
    boolean close(ChannelClosure why) {
        if (!closure.compareAndSet(null, why)) {
            return false;
        }
        parentEvent.wake();
        guestEvent.wake();
        server.channelClosed(this, why);
        return true;
    }

    void ensureOpen() throws ChannelClosedException {
        ChannelClosure c = closure.get();
        if (c != null) {
            throw new ChannelClosedException(c);
        }
    }
}
