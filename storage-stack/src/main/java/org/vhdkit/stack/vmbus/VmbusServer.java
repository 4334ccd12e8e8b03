package org.vhdkit.stack.vmbus;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.vhdkit.stack.memory.GuestMemory;
import org.vhdkit.stack.memory.GuestMemoryException;

/**
 * The parent's VMBus server for one child partition: it offers channels to the guest, registers the
 * guest's GPADLs after checking every page against the guest's memory, opens and closes channels on
 * the guest's request (one consumer thread per open channel, see {@link ParentChannel}), and
 * rescinds offers on hot remove. The guest talks to it through {@link #guest()}; this in-process
 * API stands in for the hypercall and SynIC message path, while ring contents live in guest memory.
 *
 * <p>Everything the guest hands the server (channel ids, GPADL page lists, ring splits, ring
 * indices) is checked; a refusal is a {@link VmbusException} naming a {@link ChannelClosedReason},
 * and a bad ring found later closes that one channel with its reason, logged, and reported by
 * {@link #lastClosure}. Nothing a guest does reaches another partition's server.
 *
 * <p>Close the server (turn off) before the guest memory: the consumer threads read the rings
 * until they have stopped.
 *
 * <p>Thread-safety: every method may be called from any thread. The offers, GPADLs, the closed flag
 * and the counters of channels gone are guarded by {@code this}; notifications to the guest go
 * through a bounded concurrent queue.
 */
public final class VmbusServer implements AutoCloseable {
    /** The most offers a partition holds at once. */
    public static final int MAX_OFFERS = 256;
    /** The most GPADLs a guest may register at once. */
    public static final int MAX_GPADLS = 1024;
    /** How many notifications wait for the guest before new ones are dropped (and counted). */
    public static final int MAX_NOTIFICATIONS = 1024;
    /** How long a consumer polls an empty ring before parking, unless told otherwise. */
    public static final Duration DEFAULT_POLL = Duration.ofNanos(50_000);
    /** How long closing a channel waits for its consumer thread (a device stuck in I/O). */
    static final long EXIT_WAIT_MILLIS = 10_000;

    private static final System.Logger LOG = System.getLogger(VmbusServer.class.getName());

    private final GuestMemory memory;
    private final long pollNanos;
    private final GuestPort guest;
    private final LinkedBlockingQueue<GuestNotification> notifications = new LinkedBlockingQueue<>(MAX_NOTIFICATIONS);
    private final AtomicLong droppedNotifications = new AtomicLong();

    private final Map<Integer, Slot> slots = new LinkedHashMap<>();
    private final Map<Integer, Gpadl> gpadls = new HashMap<>();
    private int nextChannelId = 1;
    private int nextGpadl = 1;
    private boolean stopped;
    private long goneSignalsToParent;
    private long goneInterruptsToGuest;

    /** An offer and, while the guest has it open, its channel. Guarded by the server. */
    private static final class Slot {
        final ChannelOffer offer;
        final VmbusDevice device;
        ParentChannel channel;
        ChannelClosure lastClosure;
        boolean rescinded;

        Slot(ChannelOffer offer, VmbusDevice device) {
            this.offer = offer;
            this.device = device;
        }
    }

    private VmbusServer(GuestMemory memory, long pollNanos) {
        this.memory = memory;
        this.pollNanos = pollNanos;
        this.guest = new GuestPort(this, memory, pollNanos);
    }

    /** A server for the partition owning {@code memory}, with consumers polling {@link #DEFAULT_POLL}. */
    public static VmbusServer create(GuestMemory memory) {
        return create(memory, DEFAULT_POLL);
    }

    /**
     * A server whose consumers (and the guest library's waits) poll an empty ring for {@code poll}
     * before parking; zero parks at once.
     */
    public static VmbusServer create(GuestMemory memory, Duration poll) {
        Objects.requireNonNull(memory, "memory");
        if (poll.isNegative()) {
            throw new IllegalArgumentException("negative poll time " + poll);
        }
        return new VmbusServer(memory, poll.toNanos());
    }

    GuestMemory memory() {
        return memory;
    }

    /** The guest's port onto the bus, which the guest programs of this partition use. */
    public GuestPort guest() {
        return guest;
    }

    /**
     * Offers a channel of interface {@code type} and instance {@code instance}, served by
     * {@code device}; the guest is notified (hot add).
     */
    public synchronized ChannelOffer offer(UUID type, UUID instance, VmbusDevice device) throws VmbusException {
        Objects.requireNonNull(device, "device");
        ensureRunning();
        if (slots.size() >= MAX_OFFERS) {
            throw new IllegalStateException("a partition holds at most " + MAX_OFFERS + " offers");
        }
        ChannelOffer offer = new ChannelOffer(nextChannelId++, type, instance);
        slots.put(offer.channelId(), new Slot(offer, device));
        notifyGuest(new GuestNotification.Offered(offer));
        return offer;
    }

    /**
     * Withdraws {@code offer} (hot remove): an open channel on it is closed, the guest is notified.
     * Returns false if it was not offered.
     */
    public boolean rescind(ChannelOffer offer) {
        ParentChannel open;
        synchronized (this) {
            Slot slot = slots.get(offer.channelId());
            if (slot == null || !slot.offer.equals(offer) || slot.rescinded) {
                return false;
            }
            slot.rescinded = true;
            open = slot.channel;
            if (open == null) {
                slots.remove(offer.channelId());
            }
            notifyGuest(new GuestNotification.Rescinded(offer));
        }
        if (open != null) {
            open.link().close(new ChannelClosure(ChannelClosedReason.RESCINDED, "the parent withdrew the offer"));
        }
        return true;
    }

    /** The offers the guest may open now. */
    public synchronized List<ChannelOffer> offers() {
        List<ChannelOffer> offers = new ArrayList<>(slots.size());
        for (Slot slot : slots.values()) {
            if (!slot.rescinded) {
                offers.add(slot.offer);
            }
        }
        return offers;
    }

    /** The parent's side of the open channel on {@code offer}, if the guest has it open. */
    public synchronized Optional<ParentChannel> channel(ChannelOffer offer) {
        Slot slot = slots.get(offer.channelId());
        return slot == null || slot.channel == null || !slot.channel.isOpen()
                ? Optional.empty() : Optional.of(slot.channel);
    }

    /** Why the last channel on {@code offer} closed or failed to open, if one did. */
    public synchronized Optional<ChannelClosure> lastClosure(ChannelOffer offer) {
        Slot slot = slots.get(offer.channelId());
        return slot == null ? Optional.empty() : Optional.ofNullable(slot.lastClosure);
    }

    /** Signals the guest raised to the parent, over all channels ever opened. */
    public synchronized long signalsToParent() {
        long total = goneSignalsToParent;
        for (Slot slot : slots.values()) {
            if (slot.channel != null) {
                total += slot.channel.signalsFromGuest();
            }
        }
        return total;
    }

    /** Interrupts the parent raised to the guest, over all channels ever opened. */
    public synchronized long interruptsToGuest() {
        long total = goneInterruptsToGuest;
        for (Slot slot : slots.values()) {
            if (slot.channel != null) {
                total += slot.channel.interruptsToGuest();
            }
        }
        return total;
    }

    /** Notifications dropped because the guest let {@link #MAX_NOTIFICATIONS} pile up unread. */
    public long droppedNotifications() {
        return droppedNotifications.get();
    }

    /**
     * Stops the server (turn off): every open channel closes as
     * {@link ChannelClosedReason#PARTITION_STOPPED} and its consumer thread is waited for; further
     * guest requests are refused. Closing twice does nothing.
     */
    @Override
    public void close() {
        List<ParentChannel> open = new ArrayList<>();
        synchronized (this) {
            if (stopped) {
                return;
            }
            stopped = true;
            for (Slot slot : slots.values()) {
                if (slot.channel != null) {
                    open.add(slot.channel);
                }
            }
        }
        for (ParentChannel channel : open) {
            channel.link().close(new ChannelClosure(ChannelClosedReason.PARTITION_STOPPED, "the partition stopped"));
        }
        awaitExits(open);
    }

    private void awaitExits(List<ParentChannel> channels) {
        boolean interrupted = false;
        for (ParentChannel channel : channels) {
            try {
                if (!channel.awaitExit(EXIT_WAIT_MILLIS)) {
                    LOG.log(Level.WARNING, "VMBus channel {0} of {1}: consumer still busy after {2} ms",
                            channel.offer().channelId(), memory.owner(), EXIT_WAIT_MILLIS);
                }
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private void ensureRunning() throws VmbusException {
        if (stopped) {
            throw new VmbusException(ChannelClosedReason.PARTITION_STOPPED, "the partition's VMBus has stopped");
        }
    }

    private void notifyGuest(GuestNotification notification) {
        if (!notifications.offer(notification)) {
            droppedNotifications.incrementAndGet();
        }
    }

    private VmbusException refuse(ChannelClosedReason reason, String detail) {
        LOG.log(Level.WARNING, "VMBus of {0}: refused guest request: {1}: {2}", memory.owner(), reason, detail);
        return new VmbusException(reason, detail);
    }

    // ---- the guest's requests (through GuestPort) --------------------------------------------------

    GuestNotification pollNotification() {
        return notifications.poll();
    }

    GuestNotification nextNotification(long timeout, TimeUnit unit) throws InterruptedException {
        return notifications.poll(timeout, unit);
    }

    synchronized int createGpadl(long[] pfns) throws VmbusException {
        ensureRunning();
        if (gpadls.size() >= MAX_GPADLS) {
            throw refuse(ChannelClosedReason.TOO_MANY_GPADLS, "the guest holds " + gpadls.size() + " GPADLs already");
        }
        Gpadl gpadl;
        try {
            gpadl = Gpadl.create(nextGpadl, memory, pfns);
        } catch (VmbusException e) {
            throw refuse(e.reason(), e.getMessage());
        }
        nextGpadl++;
        gpadls.put(gpadl.handle(), gpadl);
        return gpadl.handle();
    }

    /**
     * Tears down the GPADL a channel the guest library opened and has just closed, if the parent is
     * done with it. It is not when the consumer is still finishing (the closing thread was interrupted,
     * as when the VM stops): the GPADL then stays registered, to go with the bus, and nothing is
     * logged, as the guest did nothing wrong.
     */
    synchronized void releaseClosedChannelsGpadl(int handle) {
        Gpadl gpadl = gpadls.get(handle);
        if (gpadl != null && !gpadl.inUse) {
            gpadls.remove(handle);
        }
    }

    synchronized void teardownGpadl(int handle) throws VmbusException {
        Gpadl gpadl = gpadl(handle);
        if (gpadl.inUse) {
            throw refuse(ChannelClosedReason.GPADL_IN_USE, "GPADL " + handle + " holds an open channel's rings");
        }
        gpadls.remove(handle);
    }

    synchronized Gpadl gpadl(int handle) throws VmbusException {
        Gpadl gpadl = gpadls.get(handle);
        if (gpadl == null) {
            throw refuse(ChannelClosedReason.NO_SUCH_GPADL, "no GPADL " + handle);
        }
        return gpadl;
    }

    /** Runs in the server's lock once an open request passed its checks, before the rings are read. */
    interface RingSetup {
        void prepare(Gpadl gpadl, int outboundPages) throws GuestMemoryException;
    }

    /**
     * Opens channel {@code channelId} with its rings in GPADL {@code handle}: the first
     * {@code outboundPages} pages the guest-to-parent ring, the rest the parent-to-guest ring.
     */
    OpenChannel open(int channelId, int handle, int outboundPages, RingSetup setup) throws VmbusException {
        ParentChannel channel;
        synchronized (this) {
            ensureRunning();
            Slot slot = slots.get(channelId);
            if (slot == null || slot.rescinded) {
                throw refuse(ChannelClosedReason.NO_SUCH_CHANNEL, "no channel " + channelId + " is offered");
            }
            if (slot.channel != null) {
                throw refuse(ChannelClosedReason.ALREADY_OPEN, "channel " + channelId + " is open already");
            }
            Gpadl gpadl = gpadl(handle);
            if (gpadl.inUse) {
                throw refuse(ChannelClosedReason.GPADL_IN_USE, "GPADL " + handle + " holds an open channel's rings");
            }
            if (outboundPages < 2 || outboundPages > gpadl.pages() - 2) {
                throw refuse(ChannelClosedReason.BAD_RING_LAYOUT, String.format(
                        "a %d-page GPADL split after page %d leaves a ring without a control page and a data page",
                        gpadl.pages(), outboundPages));
            }
            int[] indices = new int[4];
            try {
                if (setup != null) {
                    setup.prepare(gpadl, outboundPages);
                }
                Ring toParent = gpadl.ring(0, outboundPages);
                Ring toGuest = gpadl.ring(outboundPages, gpadl.pages() - outboundPages);
                indices[0] = checkIndex(toParent, toParent.readIndex(), ChannelClosedReason.BAD_READ_INDEX, "read", slot);
                indices[1] = checkIndex(toParent, toParent.writeIndex(), ChannelClosedReason.BAD_WRITE_INDEX, "write", slot);
                indices[2] = checkIndex(toGuest, toGuest.readIndex(), ChannelClosedReason.BAD_READ_INDEX, "read", slot);
                indices[3] = checkIndex(toGuest, toGuest.writeIndex(), ChannelClosedReason.BAD_WRITE_INDEX, "write", slot);
                toParent.setInterruptMask(1);
                toGuest.setFeatureBits(toGuest.featureBits() | Ring.FEATURE_PENDING_SEND_SIZE);
            } catch (GuestMemoryException e) {
                throw refuse(ChannelClosedReason.MEMORY_FAULT, e.getMessage());
            }
            OpenChannel link = new OpenChannel(this, slot.offer, gpadl, outboundPages, indices);
            channel = new ParentChannel(this, link, slot.device, pollNanos);
            slot.channel = channel;
            gpadl.inUse = true;
        }
        channel.start();
        return channel.link();
    }

    private int checkIndex(Ring ring, int index, ChannelClosedReason reason, String which, Slot slot)
            throws ChannelClosedException {
        if (!ring.valid(index)) {
            ChannelClosure why = new ChannelClosure(reason, String.format(
                    "channel %d opened with %s index 0x%x, not an 8-aligned offset below its ring's %d data bytes",
                    slot.offer.channelId(), which, index, ring.size()));
            slot.lastClosure = why;
            LOG.log(Level.WARNING, "VMBus of {0}: refused to open channel: {1}", memory.owner(), why);
            throw new ChannelClosedException(why);
        }
        return index;
    }

    /** The guest closes {@code link}: the channel closes, and this waits for its consumer to stop. */
    void guestClose(OpenChannel link) {
        ParentChannel channel = null;
        synchronized (this) {
            Slot slot = slots.get(link.offer.channelId());
            if (slot != null && slot.channel != null && slot.channel.link() == link) {
                channel = slot.channel;
            }
        }
        link.close(new ChannelClosure(ChannelClosedReason.GUEST_CLOSED, "the guest closed the channel"));
        if (channel != null) {
            awaitExits(List.of(channel));
        }
    }

    /** Called once per channel, by whichever thread closed it. */
    void channelClosed(OpenChannel link, ChannelClosure why) {
        Level level = why.reason().guestFault() ? Level.WARNING
                : why.reason() == ChannelClosedReason.DEVICE_FAILED || why.reason() == ChannelClosedReason.MEMORY_FAULT
                        ? Level.ERROR : Level.DEBUG;
        LOG.log(level, "VMBus channel {0} of {1} closed: {2}", link.offer.channelId(), memory.owner(), why);
        synchronized (this) {
            Slot slot = slots.get(link.offer.channelId());
            if (slot != null && slot.channel != null && slot.channel.link() == link) {
                slot.lastClosure = why;
            }
        }
        if (why.reason() != ChannelClosedReason.GUEST_CLOSED && why.reason() != ChannelClosedReason.RESCINDED) {
            notifyGuest(new GuestNotification.Closed(link.offer, why));
        }
    }

    /** The consumer of {@code channel} finished: the offer may be opened again, the GPADL torn down. */
    synchronized void consumerExited(ParentChannel channel) {
        Slot slot = slots.get(channel.offer().channelId());
        if (slot == null || slot.channel != channel) {
            return;
        }
        slot.channel = null;
        // The consumer may see the closure and exit before the closing thread reaches channelClosed.
        if (channel.closure() != null) {
            slot.lastClosure = channel.closure();
        }
        channel.link().gpadl.inUse = false;
        goneSignalsToParent += channel.signalsFromGuest();
        goneInterruptsToGuest += channel.interruptsToGuest();
        if (slot.rescinded) {
            slots.remove(slot.offer.channelId());
        }
    }

    @Override
    public String toString() {
        return "VmbusServer[" + memory.owner() + "]";
    }
}
