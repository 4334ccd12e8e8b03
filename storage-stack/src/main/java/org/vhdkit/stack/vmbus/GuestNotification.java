package org.vhdkit.stack.vmbus;

/**
 * A message from the parent's VMBus server to the guest: a channel offered (hot add), an offer
 * rescinded (hot remove), or an open channel closed by the parent.
 *
 * <p>Immutable; safe to share between threads.
 */
public sealed interface GuestNotification {
    /** The channel the notification is about. */
    ChannelOffer offer();

    /** The parent offers a channel. */
    record Offered(ChannelOffer offer) implements GuestNotification {
    }

    /** The parent withdrew an offer; an open channel on it is closed. */
    record Rescinded(ChannelOffer offer) implements GuestNotification {
    }

    /** The parent closed an open channel, for the reason given. */
    record Closed(ChannelOffer offer, ChannelClosure closure) implements GuestNotification {
    }
}
