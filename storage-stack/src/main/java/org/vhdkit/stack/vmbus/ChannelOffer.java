package org.vhdkit.stack.vmbus;

import java.util.Objects;
import java.util.UUID;

/**
 * A channel the parent offers a guest: the channel id the guest names it by (the relid), the
 * interface type and the instance of the device behind it.
 *
 * <p>Immutable; safe to share between threads.
 */
public record ChannelOffer(int channelId, UUID type, UUID instance) {
    /** The synthetic SCSI controller (storvsc/storvsp). */
    public static final UUID STORAGE = UUID.fromString("ba6163d9-04a1-4d29-b605-72e2ffb1dc7f");
    /** The shutdown integration service. */
    public static final UUID SHUTDOWN = UUID.fromString("0e0b6031-5213-4934-818b-38d90ced39db");

    public ChannelOffer {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(instance, "instance");
    }
}
