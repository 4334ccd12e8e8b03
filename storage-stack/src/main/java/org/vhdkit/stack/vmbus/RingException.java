package org.vhdkit.stack.vmbus;

/**
 * A ring held something the reader or writer refuses: the channel is closed with {@link #reason}.
 * Carries no stack trace; it is a verdict on guest input, not a bug, and for the same reason as
 * {@link VmbusException} not an {@link java.io.IOException}: it never leaves the package, and becomes
 * the channel's {@link ChannelClosure}.
 *
 * <p>Immutable; safe to share between threads.
 */
final class RingException extends Exception {
    private static final long serialVersionUID = 1L;

    private final ChannelClosedReason reason;

    RingException(ChannelClosedReason reason, String detail) {
        super(detail, null, false, false);
        this.reason = reason;
    }

    ChannelClosedReason reason() {
        return reason;
    }

    ChannelClosure closure() {
        return new ChannelClosure(reason, getMessage());
    }
}
