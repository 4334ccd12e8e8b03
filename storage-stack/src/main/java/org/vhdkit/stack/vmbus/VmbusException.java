package org.vhdkit.stack.vmbus;

import java.util.Objects;

/**
 * The parent refused a VMBus request (an unknown channel, a bad GPADL, a ring it will not use), or
 * the channel an operation needed is closed ({@link ChannelClosedException}). Device providers throw
 * it from {@link VmbusDevice#packet} with {@link ChannelClosedReason#DEVICE_REFUSED} to close a
 * channel whose guest sent something they refuse.
 *
 * <p>Deliberately not an {@link java.io.IOException}: on the parent's side it is a verdict on
 * guest input (the {@link ChannelClosedReason} says which rule the guest broke), thrown through
 * providers whose disk I/O throws {@code IOException}; a provider's {@code catch (IOException e)}
 * must not take a refused request for a failing disk. The guest libraries wrap it in their own
 * {@code IOException}s ({@code StorvscException}, {@code IcException}).
 *
 * <p>Immutable; safe to share between threads.
 */
public class VmbusException extends Exception {
    private static final long serialVersionUID = 1L;

    private final ChannelClosedReason reason;

    public VmbusException(ChannelClosedReason reason, String detail) {
        super(Objects.requireNonNull(reason, "reason") + ": " + detail);
        this.reason = reason;
    }

    /** Why the request was refused. */
    public ChannelClosedReason reason() {
        return reason;
    }
}
