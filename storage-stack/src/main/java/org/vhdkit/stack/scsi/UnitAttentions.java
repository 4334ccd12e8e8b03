package org.vhdkit.stack.scsi;

import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Supplier;

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

    /**
     * Answers REQUEST SENSE for the unit: the oldest unit attention, else what {@code pending}
     * hands over (the sense of the unit's last failed command, which it then forgets), else NO
     * SENSE, in fixed format; DESC must be 0. What is reported is no longer pending.
     */
    void requestSense(ScsiCommand c, byte[] cdb, Supplier<Sense> pending) {
        if (cdb[1] != 0) {
            c.checkCondition(Sense.INVALID_FIELD_IN_CDB);
            return;
        }
        int n = Math.min(Cdb.u8(cdb, 4), Sense.FIXED_LENGTH);
        if (n > 0 && (c.direction() != ScsiCommand.Direction.IN || c.dataLength() < n)) {
            c.checkCondition(Sense.INVALID_FIELD_IN_CDB);
            return;
        }
        Sense sense = take();
        if (sense == null) {
            sense = pending.get();
        }
        if (sense == null) {
            sense = Sense.NO_SENSE;
        }
        if (n > 0) {
            c.put(sense.toFixed(), n);
        }
        c.good(n);
    }

    /** The oldest pending condition, now no longer pending; null when none. */
    Sense take() {
        return pending.poll();
    }
}
