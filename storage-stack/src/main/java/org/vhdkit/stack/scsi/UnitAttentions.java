package org.vhdkit.stack.scsi;

import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The unit attention conditions pending on one logical unit, oldest first, each at most once.
 *
 * <p>Thread-safety: any threads at once. Taking is lock-free ({@link ConcurrentLinkedQueue}), so
 * each condition goes to exactly one command; posting holds the queue's monitor so that the
 * duplicate check and the append are one step.
 */
final class UnitAttentions {
    private final ConcurrentLinkedQueue<Sense> pending = new ConcurrentLinkedQueue<>();

    void post(Sense sense) {
        Objects.requireNonNull(sense, "sense");
        if (sense.key() != Sense.Key.UNIT_ATTENTION) {
            throw new IllegalArgumentException("not a unit attention: " + sense);
        }
        synchronized (pending) {
            if (!pending.contains(sense)) {
                pending.add(sense);
            }
        }
    }

    void clear(Sense sense) {
        pending.remove(sense);
    }

    /** Whether any is pending; allocation-free, for every command. */
    boolean any() {
        return !pending.isEmpty();
    }

    /** The oldest pending condition, now no longer pending; null when none. */
    Sense take() {
        return pending.poll();
    }
}
