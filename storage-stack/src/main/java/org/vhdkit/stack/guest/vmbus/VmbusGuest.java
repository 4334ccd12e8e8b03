package org.vhdkit.stack.guest.vmbus;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.vhdkit.stack.memory.GuestMemory;
import org.vhdkit.stack.partition.GuestContext;
import org.vhdkit.stack.vmbus.ChannelOffer;
import org.vhdkit.stack.vmbus.GuestNotification;
import org.vhdkit.stack.vmbus.GuestPort;
import org.vhdkit.stack.vmbus.VmbusException;

/**
 * The guest's view of its partition's VMBus, for guest programs: the channels offered, the
 * parent's notifications (offers, rescinds, channels it closed), GPADLs over the guest's own pages,
 * and opening channels whose rings the guest lays out in a GPADL. Pages are the guest's to choose
 * (any guest page frames, contiguous or not); the library initializes the two control pages. It
 * speaks to the parent through the {@link GuestPort} the parent offers the partition.
 *
 * <p>Thread-safety: every method may be called from any guest thread; requests are serialized by
 * the server's lock.
 */
public final class VmbusGuest {
    private final GuestPort port;

    private VmbusGuest(GuestPort port) {
        this.port = port;
    }

    /** The bus of the partition {@code ctx} runs in, if the parent offered one. Thread-safe. */
    public static Optional<VmbusGuest> of(GuestContext ctx) {
        return ctx.service(GuestPort.class).map(VmbusGuest::new);
    }

    /** The bus reached through {@code port}. Thread-safe. */
    public static VmbusGuest on(GuestPort port) {
        return new VmbusGuest(Objects.requireNonNull(port, "port"));
    }

    /** The guest's own memory. */
    public GuestMemory memory() {
        return port.memory();
    }

    /** The offers the guest may open now. */
    public List<ChannelOffer> offers() {
        return port.offers();
    }

    /** The first offer of interface {@code type}, if any. */
    public Optional<ChannelOffer> offer(UUID type) {
        return offers().stream().filter(o -> o.type().equals(type)).findFirst();
    }

    /** The next notification from the parent, or null if none is waiting. */
    public GuestNotification pollNotification() {
        return port.pollNotification();
    }

    /** The next notification from the parent, waiting up to {@code timeout}; null if none came. */
    public GuestNotification nextNotification(long timeout, TimeUnit unit) throws InterruptedException {
        return port.nextNotification(timeout, unit);
    }

    /** Registers the guest pages {@code pfns} (in order) as a GPADL; returns its handle. */
    public int createGpadl(long... pfns) throws VmbusException {
        return port.createGpadl(pfns);
    }

    /** Releases a GPADL no open channel uses. */
    public void teardownGpadl(int handle) throws VmbusException {
        port.teardownGpadl(handle);
    }

    /**
     * Opens {@code offer} with its rings in GPADL {@code gpadl}: the first {@code outboundPages}
     * pages (a control page and data pages) carry the guest's packets to the parent, the rest the
     * parent's packets to the guest. The library zeroes both rings' indices first.
     */
    public GuestChannel open(ChannelOffer offer, int gpadl, int outboundPages) throws VmbusException {
        return new GuestChannel(port.open(offer, gpadl, outboundPages, false));
    }

    /**
     * Opens {@code offer} with its rings on the guest pages {@code ringPfns}, registering them as a
     * GPADL that {@link GuestChannel#close()} tears down again.
     */
    public GuestChannel open(ChannelOffer offer, long[] ringPfns, int outboundPages) throws VmbusException {
        int handle = createGpadl(ringPfns);
        try {
            return new GuestChannel(port.open(offer, handle, outboundPages, true));
        } catch (VmbusException | RuntimeException e) {
            try {
                port.teardownGpadl(handle);
            } catch (VmbusException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    @Override
    public String toString() {
        return "VmbusGuest[" + port.memory().owner() + "]";
    }
}
