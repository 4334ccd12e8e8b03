package org.vhdkit.stack.vmbus;

import java.lang.System.Logger.Level;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.vhdkit.stack.memory.GuestMemory;
import org.vhdkit.stack.protocol.vmbus.PacketType;

/**
 * The parent's side of one open channel, as a device provider sees it: packets arrive on the
 * channel's consumer thread through {@link VmbusDevice#packet}, and the device answers with
 * completions (or sends in-band and transfer-page packets of its own).
 *
 * <p>The consumer thread reads packets as long as the ring holds any, with the interrupt mask set
 * so the guest's sends cost no signal; when the ring runs dry it polls for the configured time,
 * then clears the mask and parks until the guest signals. Whatever the guest wrote that the reader
 * refuses closes this channel, never another, and never ends anything but this thread.
 *
 * <p>Thread-safety: the send methods and {@link #close} may be called from any thread (sends are
 * serialized by the channel's send lock); the rest are read-only.
 */
public final class ParentChannel {
    private static final System.Logger LOG = System.getLogger(ParentChannel.class.getName());

    private final VmbusServer server;
    private final OpenChannel link;
    private final VmbusDevice device;
    private final Endpoint endpoint;
    private final VmbusPacket packet = new VmbusPacket();
    private final Thread consumer;

    ParentChannel(VmbusServer server, OpenChannel link, VmbusDevice device, long pollNanos) {
        this.server = server;
        this.link = link;
        this.device = device;
        this.endpoint = new Endpoint(link,
                new RingReader(link.toParent, link.guestEvent, link.toParentRead),
                new RingWriter(link.toGuest, link.guestEvent, link.toGuestWrite),
                link.parentEvent, pollNanos, "parent");
        this.consumer = Thread.ofPlatform().daemon()
                .name("vmbus-" + server.memory().owner() + "-channel-" + link.offer.channelId())
                .unstarted(this::consume);
    }

    void start() {
        consumer.start();
    }

    OpenChannel link() {
        return link;
    }

    /** Waits up to {@code millis} for the consumer thread to finish; true if it did. */
    boolean awaitExit(long millis) throws InterruptedException {
        if (Thread.currentThread() == consumer) {
            return false;
        }
        consumer.join(millis);
        return !consumer.isAlive();
    }

    private void consume() {
        try {
            device.opened(this);
            for (;;) {
                endpoint.receive(packet, Endpoint.FOREVER);
                device.packet(this, packet);
            }
        } catch (ChannelClosedException e) {
            link.close(e.closure());
        } catch (VmbusException e) {
            link.close(new ChannelClosure(e.reason(), "device " + device.getClass().getSimpleName() + ": "
                    + e.getMessage()));
        } catch (InterruptedException e) {
            link.close(new ChannelClosure(ChannelClosedReason.PARTITION_STOPPED, "consumer thread interrupted"));
        } catch (Throwable t) {
            LOG.log(Level.ERROR, "VMBus channel " + link.offer.channelId() + " of " + server.memory().owner()
                    + ": device " + device.getClass().getName() + " failed", t);
            link.close(new ChannelClosure(ChannelClosedReason.DEVICE_FAILED, String.valueOf(t)));
        } finally {
            try {
                device.closed(this, link.closure());
            } catch (Throwable t) {
                LOG.log(Level.ERROR, "VMBus channel " + link.offer.channelId() + " of " + server.memory().owner()
                        + ": device " + device.getClass().getName() + " failed while closing", t);
            }
            server.consumerExited(this);
        }
    }

    /** The offer this channel was opened on. */
    public ChannelOffer offer() {
        return link.offer;
    }

    /** The guest's memory, for moving data to and from the runs of GPA-direct packets. */
    public GuestMemory memory() {
        return server.memory();
    }

    /** Whether the channel is still open. */
    public boolean isOpen() {
        return link.isOpen();
    }

    /** Why the channel closed, or null while it is open. */
    public ChannelClosure closure() {
        return link.closure();
    }

    /** Closes the channel for {@code reason} (usually {@link ChannelClosedReason#DEVICE_CLOSED}). */
    public void close(ChannelClosedReason reason, String detail) {
        link.close(new ChannelClosure(reason, detail));
    }

    /** Signals the guest raised on this channel (new requests, room for completions). */
    public long signalsFromGuest() {
        return link.parentEvent.count();
    }

    /** Interrupts the parent raised to the guest on this channel. */
    public long interruptsToGuest() {
        return link.guestEvent.count();
    }

    /**
     * Sends a completion for transaction {@code transactionId} carrying {@code length} bytes of
     * {@code payload} from {@code offset}, if the guest's ring has room now; false if not.
     */
    public boolean trySendCompletion(long transactionId, MemorySegment payload, long offset, int length)
            throws ChannelClosedException {
        return trySend(PacketType.COMPLETION, 0, transactionId, null, payload, offset, length);
    }

    /** Sends a completion, waiting for room in the guest's ring as long as the channel is open. */
    public void sendCompletion(long transactionId, MemorySegment payload, long offset, int length)
            throws ChannelClosedException, InterruptedException {
        endpoint.send(PacketType.COMPLETION, 0, transactionId, null, null, payload, offset, length, Endpoint.FOREVER);
    }

    /** Sends an in-band packet if there is room now; false if not. */
    public boolean trySendInBand(long transactionId, boolean completionRequested, MemorySegment payload, long offset,
            int length) throws ChannelClosedException {
        return trySend(PacketType.IN_BAND, flags(completionRequested), transactionId, null, payload, offset, length);
    }

    /** Sends an in-band packet, waiting for room as long as the channel is open. */
    public void sendInBand(long transactionId, boolean completionRequested, MemorySegment payload, long offset,
            int length) throws ChannelClosedException, InterruptedException {
        endpoint.send(PacketType.IN_BAND, flags(completionRequested), transactionId, null, null, payload, offset,
                length, Endpoint.FOREVER);
    }

    /** Sends an in-band packet, waiting up to {@code timeout} for room; false if none came. */
    public boolean sendInBand(long transactionId, boolean completionRequested, MemorySegment payload, long offset,
            int length, long timeout, TimeUnit unit) throws ChannelClosedException, InterruptedException {
        return endpoint.send(PacketType.IN_BAND, flags(completionRequested), transactionId, null, null, payload,
                offset, length, unit.toNanos(timeout));
    }

    /** Sends a transfer-page packet naming {@code ranges}, then {@code length} payload bytes, if there is room now. */
    public boolean trySendTransferPages(long transactionId, boolean completionRequested, TransferPageRanges ranges,
            MemorySegment payload, long offset, int length) throws ChannelClosedException {
        return trySend(PacketType.TRANSFER_PAGES, flags(completionRequested), transactionId, ranges, payload, offset,
                length);
    }

    /** Sends a transfer-page packet, waiting for room as long as the channel is open. */
    public void sendTransferPages(long transactionId, boolean completionRequested, TransferPageRanges ranges,
            MemorySegment payload, long offset, int length) throws ChannelClosedException, InterruptedException {
        endpoint.send(PacketType.TRANSFER_PAGES, flags(completionRequested), transactionId, null, ranges, payload,
                offset, length, Endpoint.FOREVER);
    }

    private boolean trySend(PacketType type, int flags, long transactionId, TransferPageRanges ranges,
            MemorySegment payload, long offset, int length) throws ChannelClosedException {
        try {
            return endpoint.send(type, flags, transactionId, null, ranges, payload, offset, length, 0);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    static int flags(boolean completionRequested) {
        return completionRequested ? VmbusPacket.FLAG_COMPLETION_REQUESTED : 0;
    }

    @Override
    public String toString() {
        return "ParentChannel[" + server.memory().owner() + ", " + link.offer + (isOpen() ? "" : ", " + closure()) + "]";
    }
}
