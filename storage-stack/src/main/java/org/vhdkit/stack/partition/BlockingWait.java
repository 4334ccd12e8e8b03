package org.vhdkit.stack.partition;

/**
 * A wait inside a guest-side library (a VMBus receive, a driver waiting for its device) that the
 * library runs through {@link GuestContext#blocking} so that the wait is a safe point.
 *
 * @param <T> what the wait returns
 * @param <E> the checked exception it may throw besides being interrupted
 */
@FunctionalInterface
public interface BlockingWait<T, E extends Exception> {
    /** Waits; must return or throw InterruptedException promptly when its thread is interrupted. */
    T call() throws E, InterruptedException;
}
