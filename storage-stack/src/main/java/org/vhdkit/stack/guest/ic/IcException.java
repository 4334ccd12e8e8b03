package org.vhdkit.stack.guest.ic;

import java.io.IOException;

/**
 * A guest's integration service cannot run: the partition has no VMBus or no such offer, the
 * channel does not open or closed, the parent sent what the library cannot make sense of, or the
 * guest's handler failed. Part of the {@link IOException} family: to the guest program it is an
 * I/O failure of the service, like the storage driver's {@code StorvscException}.
 *
 * <p>Immutable; safe to share between threads.
 */
public final class IcException extends IOException {
    private static final long serialVersionUID = 1L;

    public IcException(String message) {
        super(message);
    }

    public IcException(String message, Throwable cause) {
        super(message, cause);
    }
}
