package org.vhdkit.stack.vmbus;

/**
 * The channel an operation needed is closed; {@link #closure()} says why (the guest closed it, the
 * parent refused something the guest wrote, the offer was rescinded, the partition stopped).
 *
 * <p>Immutable; safe to share between threads.
 */
public final class ChannelClosedException extends VmbusException {
    private static final long serialVersionUID = 1L;

    private final transient ChannelClosure closure;

    public ChannelClosedException(ChannelClosure closure) {
        super(closure.reason(), "channel closed: " + closure.detail());
        this.closure = closure;
    }

    /** Why the channel closed. */
    public ChannelClosure closure() {
        return closure;
    }
}
