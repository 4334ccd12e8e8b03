package org.vhdkit.stack.partition;

/**
 * Thrown into a guest program by its context when its virtual processor has been told to stop
 * (the VM is turned off, saved, or the guest powered off). The program must let it propagate; the
 * processor's thread then ends.
 *
 * <p>It is an {@link Error}, not an exception, so that a guest program's {@code catch (Exception
 * e)} does not swallow it by accident. A program that catches it anyway and keeps running is
 * abandoned after the stop's grace period.
 *
 * <p>Immutable; safe to share between threads.
 */
public final class ProcessorStopped extends Error {
    private static final long serialVersionUID = 1L;

    ProcessorStopped(String processor) {
        super(processor + " stopped", null, false, false);
    }
}
