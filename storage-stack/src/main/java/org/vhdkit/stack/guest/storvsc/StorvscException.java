package org.vhdkit.stack.guest.storvsc;



/**
 * The guest's storage driver could not do what it was asked: the partition has no VMBus, the
 * parent refused the initialization, a channel closed, a disk went away, a request failed.
 *
 * <p>Immutable; safe to share between threads.
 */
public final class StorvscException extends Exception {
    private static final long serialVersionUID = 1L;

    public StorvscException(String message) {
        super(message);
    }

    public StorvscException(String message, Throwable cause) {
        super(message, cause);
    }
}
