package org.vhdkit.stack.vmbus;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One direction of a channel's event: the guest's signal to the parent (a hypercall in Hyper-V) or
 * the parent's interrupt to the guest (a SynIC event). Every {@link #raise()} is counted: the
 * synthetic path's cost is measured in signals per I/O.
 *
 * <p>A waiter reads the {@link #generation()} before it checks the condition it waits for (a ring
 * holding data, room in a ring) and then {@linkplain #await waits} until the generation moves, so a
 * signal raised between the check and the wait is never lost. Raising costs two atomic updates when
 * nobody waits; waking a waiter goes through {@link #lock}.
 *
 * <p>Thread-safety: any number of threads may raise and wait at once. {@link #waiters} is written
 * only under {@link #lock}; {@link #generation} and {@link #raised} are atomics.
 */
final class Signal {
    private final AtomicLong raised = new AtomicLong();
    private final AtomicLong generation = new AtomicLong();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition moved = lock.newCondition();
    private volatile int waiters;

    /** Raises the signal: counted, and wakes every waiter. */
    void raise() {
        raised.incrementAndGet();
        bump();
    }

    /** Wakes every waiter without counting a signal (the channel closed; not a VMBus signal). */
    void wake() {
        bump();
    }

    private void bump() {
        generation.incrementAndGet();
        if (waiters != 0) {
            lock.lock();
            try {
                moved.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    /** The current generation, to pass to {@link #await} after checking the awaited condition. */
    long generation() {
        return generation.get();
    }

    /**
     * Waits until the generation differs from {@code seen} or {@code timeoutNanos} pass; returns
     * whether it moved. {@code Long.MAX_VALUE} waits without limit.
     */
    boolean await(long seen, long timeoutNanos) throws InterruptedException {
        if (generation.get() != seen) {
            return true;
        }
        lock.lockInterruptibly();
        try {
            waiters++;
            try {
                long left = timeoutNanos;
                while (generation.get() == seen) {
                    if (left <= 0) {
                        return false;
                    }
                    if (left == Long.MAX_VALUE) {
                        moved.await();
                    } else {
                        left = moved.awaitNanos(left);
                    }
                }
                return true;
            } finally {
                waiters--;
            }
        } finally {
            lock.unlock();
        }
    }

    /** Waits as {@link #await(long, long)} with a unit. */
    boolean await(long seen, long timeout, TimeUnit unit) throws InterruptedException {
        return await(seen, unit.toNanos(timeout));
    }

    /** How many times the signal was raised. */
    long count() {
        return raised.get();
    }
}
