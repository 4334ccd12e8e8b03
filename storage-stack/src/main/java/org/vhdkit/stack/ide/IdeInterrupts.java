package org.vhdkit.stack.ide;

import java.util.Objects;
import org.vhdkit.stack.partition.GuestSignal;

/**
 * The interrupt lines of the emulated IDE controller (IRQ 14 and 15 on a PC), as the parent offers
 * them to the guest: {@code ctx.service(IdeInterrupts.class)}. A line is raised when a drive on its
 * channel asserts INTRQ and nIEN is clear.
 *
 * <p>Immutable; safe to share between threads.
 */
public record IdeInterrupts(GuestSignal primary, GuestSignal secondary) {
    public IdeInterrupts {
        Objects.requireNonNull(primary, "primary");
        Objects.requireNonNull(secondary, "secondary");
    }

    /** The line of channel {@code channel} (0 primary, 1 secondary). */
    public GuestSignal of(int channel) {
        return switch (channel) {
            case 0 -> primary;
            case 1 -> secondary;
            default -> throw new IllegalArgumentException("an IDE controller has channels 0 and 1, not " + channel);
        };
    }
}
