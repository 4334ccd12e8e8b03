package org.vhdkit.stack.partition;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.LockSupport;

/**
 * An event the parent raises and a guest virtual processor waits for: an interrupt line from an
 * emulated device, the VMBus event flag of a channel, a shutdown request. It latches: a raise
 * with nobody waiting is kept until a wait or a poll consumes it, and several raises before that
 * count as one (as an edge-triggered interrupt that is still pending).
 *
 * <p>Guests wait through {@link GuestContext#await(GuestSignal)} (a safe point: the processor can be
 * paused or stopped while it waits) and poll through {@link GuestContext#poll(GuestSignal)}. A
 * signal belongs to the partition that made it ({@link ChildPartition#newSignal()}); another
 * partition's processors cannot wait on it.
 *
 * <p>Several processors may wait on one signal; a raise wakes them all and one of them consumes it
 * (the others wait on).
 *
 * <p>Thread-safety: {@link #raise()} may be called from any thread at any time, without a lock and
 * without allocating. Each processor's waiting thread is held in its slot of an atomic array.
 */
public final class GuestSignal {
    private final ChildPartition owner;
    private final AtomicBoolean raised = new AtomicBoolean();
    private final AtomicReferenceArray<Thread> waiters;

    GuestSignal(ChildPartition owner) {
        this.owner = owner;
        this.waiters = new AtomicReferenceArray<>(owner.processorCount());
    }

    /** Raises the signal, waking its waiters if there are any. Cheap when it is already raised. */
    public void raise() {
        if (raised.compareAndSet(false, true)) {
            for (int i = 0; i < waiters.length(); i++) {
                Thread w = waiters.get(i);
                if (w != null) {
                    LockSupport.unpark(w);
                }
            }
        }
    }

    /** Whether the signal is raised and not yet consumed (for the parent's tests and diagnostics). */
    public boolean isRaised() {
        return raised.get();
    }

    ChildPartition owner() {
        return owner;
    }

    boolean consume() {
        return raised.getAndSet(false);
    }

    /**
     * Waits on the calling virtual processor's thread until the signal is raised (consuming it),
     * {@code timeoutNanos} pass ({@code Long.MAX_VALUE} for no limit) or the processor is stopped.
     */
    boolean await(VirtualProcessor vp, long timeoutNanos) {
        waiters.set(vp.index(), Thread.currentThread());
        try {
            long deadline = timeoutNanos == Long.MAX_VALUE ? Long.MAX_VALUE : System.nanoTime() + timeoutNanos;
            while (true) {
                if (consume()) {
                    return true;
                }
                vp.checkStop();
                if (deadline == Long.MAX_VALUE) {
                    LockSupport.park(this);
                } else {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        return false;
                    }
                    LockSupport.parkNanos(this, left);
                }
                if (Thread.interrupted()) {
                    vp.checkStop(); // only a stop interrupts a processor; anything else is ignored
                }
            }
        } finally {
            waiters.set(vp.index(), null);
        }
    }
}
