package org.vhdkit.stack.vmbus;

import java.util.Objects;

/**
 * Why and how a channel ended: the reason and a sentence naming the value that was refused.
 *
 * <p>Immutable; safe to share between threads.
 */
public record ChannelClosure(ChannelClosedReason reason, String detail) {
    public ChannelClosure {
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(detail, "detail");
    }

    @Override
    public String toString() {
        return reason + ": " + detail;
    }
}
