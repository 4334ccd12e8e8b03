package org.vhdkit.vhd.format;

import java.time.Instant;
import java.util.Objects;

/**
 * VHD time stamps: unsigned 32-bit counts of seconds since 2000-01-01T00:00:00Z, as stored in the
 * footer's Time Stamp and the dynamic header's Parent Time Stamp. They run out in 2136.
 *
 * <p>Stateless; every method is safe to call from any thread.
 */
public final class VhdTime {
    /** 2000-01-01T00:00:00Z, time stamp 0. */
    public static final Instant EPOCH = Instant.parse("2000-01-01T00:00:00Z");

    /** The largest time stamp, 2136-02-07T06:28:15Z. */
    static final long MAX = 0xFFFF_FFFFL;

    private VhdTime() {
    }

    /**
     * The time stamp of {@code t}, in whole seconds (rounded down), clamped to
     * {@code [0, 0xFFFFFFFF]}: instants before 2000 give 0, instants after 2136 the largest value.
     */
    public static long fromInstant(Instant t) {
        Objects.requireNonNull(t, "t");
        long seconds = t.getEpochSecond() - EPOCH.getEpochSecond();
        return Math.clamp(seconds, 0, MAX);
    }

    /**
     * The instant of a stored time stamp.
     *
     * @throws IllegalArgumentException when {@code vhdSeconds} is not an unsigned 32-bit value
     */
    public static Instant toInstant(long vhdSeconds) {
        checkRange(vhdSeconds, "time stamp");
        return EPOCH.plusSeconds(vhdSeconds);
    }

    static long checkRange(long vhdSeconds, String what) {
        if (vhdSeconds < 0 || vhdSeconds > MAX) {
            throw new IllegalArgumentException(what + " " + vhdSeconds + " is not an unsigned 32-bit value");
        }
        return vhdSeconds;
    }
}
