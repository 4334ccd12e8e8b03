package org.vhdkit.stack.vmbus;

/**
 * A device provider in the parent partition (StorVSP, the shutdown service) behind a channel
 * offer. Each time the guest opens the channel the server starts a consumer thread for it, which
 * calls {@link #opened}, then {@link #packet} for every packet in order, then {@link #closed}
 * exactly once, all on that thread.
 *
 * <p>Thread-safety: an implementation's methods are called from the channel's consumer thread only,
 * one at a time per open channel; a device behind several channels (or reopened) must guard what
 * they share itself. It may send on the {@link ParentChannel} from any thread.
 */
public interface VmbusDevice {
    /** The guest opened the channel; called before any packet. */
    default void opened(ParentChannel channel) throws VmbusException {
    }

    /**
     * One packet from the guest, checked as {@link VmbusPacket} describes. The view and its runs
     * are valid only during the call. Throw {@link VmbusException} with
     * {@link ChannelClosedReason#DEVICE_REFUSED} to close the channel for a packet the device
     * refuses; any other exception closes it as {@link ChannelClosedReason#DEVICE_FAILED} and is
     * logged. Neither ever leaves the consumer thread.
     */
    void packet(ParentChannel channel, VmbusPacket packet) throws VmbusException, InterruptedException;

    /** The channel closed (the guest closed it, the parent refused its input, rescind, stop). */
    default void closed(ParentChannel channel, ChannelClosure closure) {
    }
}
