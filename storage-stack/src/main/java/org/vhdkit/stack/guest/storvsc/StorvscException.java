package org.vhdkit.stack.guest.storvsc;

import java.io.IOException;

/**
 * The guest's storage driver could not do what it was asked: the partition has no VMBus, the
 * parent refused the initialization, a channel closed, a disk went away, a request failed (or
 * {@code GuestPages} has no pages left). Part of the {@link IOException} family: to the guest
 * program it is a failed I/O, like the IDE driver's {@code IdeException}.
 *
 * <p>Immutable; safe to share between threads.
 */
public final class StorvscException extends IOException {
    private static final long serialVersionUID = 1L;

    public StorvscException(String message) {
        super(message);
    }

    public StorvscException(String message, Throwable cause) {
        super(message, cause);
    }
}
