package org.vhdkit.stack.guest.storvsc;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.vhdkit.stack.guest.GuestPages;
import org.vhdkit.stack.guest.vmbus.VmbusGuest;
import org.vhdkit.stack.partition.GuestContext;
import org.vhdkit.stack.vmbus.ChannelOffer;

/**
 * The guest's storage driver (StorVSC): the entry point of the guest side of the synthetic SCSI
 * path. {@link #open} finds the partition's VMBus, opens every synthetic SCSI controller the parent
 * offers (one channel each, rings in pages from a {@link GuestPages} region the program reserved),
 * negotiates the storage protocol (begin, the highest version both sides support, properties, end)
 * and scans each controller's LUNs (REPORT LUNS, INQUIRY, READ CAPACITY). Guest programs then use
 * the disks ({@link StorvscDisk}) as block devices with requests in flight.
 *
 * <pre>{@code
 * GuestPages pages = new GuestPages(ctx.memory(), 0x100000, 0x200000);
 * try (Storvsc storvsc = Storvsc.open(ctx, pages)) {
 *     StorvscDisk disk = storvsc.disks().getFirst();
 *     int tag = disk.read(0, 8, buffer);
 *     int finished = disk.controller().awaitCompletion();   // == tag
 *     IoStatus status = disk.controller().status(finished);
 *     disk.controller().release(finished);
 * }
 * }</pre>
 *
 * <p>After a save and resume the program opens the driver again: the parent keeps no channel
 * through a save, so the driver negotiates afresh.
 *
 * <p>Thread-safety: confined to the virtual processor whose context opened it, as are its
 * controllers and disks.
 */
public final class Storvsc implements AutoCloseable {
    private final GuestContext ctx;
    private final VmbusGuest bus;
    private final GuestPages pages;
    private final int queueDepth;
    private final List<StorvscController> controllers = new ArrayList<>();

    private Storvsc(GuestContext ctx, VmbusGuest bus, GuestPages pages, int queueDepth) {
        this.ctx = ctx;
        this.bus = bus;
        this.pages = pages;
        this.queueDepth = queueDepth;
    }

    /**
     * Opens every synthetic SCSI controller offered to the guest of {@code ctx}, with up to
     * {@link StorvscController#DEFAULT_QUEUE_DEPTH} requests in flight on each.
     *
     * @throws StorvscException when the partition has no VMBus (integration components off), or a
     *     controller cannot be opened or refuses the initialization
     */
    public static Storvsc open(GuestContext ctx, GuestPages pages) throws StorvscException {
        return open(ctx, pages, StorvscController.DEFAULT_QUEUE_DEPTH);
    }

    /** As {@link #open(GuestContext, GuestPages)} with {@code queueDepth} requests in flight per controller (1 to 256). */
    public static Storvsc open(GuestContext ctx, GuestPages pages, int queueDepth) throws StorvscException {
        Objects.requireNonNull(ctx, "ctx");
        Objects.requireNonNull(pages, "pages");
        if (queueDepth < 1 || queueDepth > 256) {
            throw new IllegalArgumentException("a queue depth of 1 to 256, not " + queueDepth);
        }
        VmbusGuest bus = VmbusGuest.of(ctx).orElseThrow(() -> new StorvscException(
                "the partition has no VMBus: are its integration components on?"));
        Storvsc storvsc = new Storvsc(ctx, bus, pages, queueDepth);
        try {
            storvsc.refresh();
        } catch (StorvscException | RuntimeException | Error e) {
            storvsc.close();
            throw e;
        }
        return storvsc;
    }

    /**
     * Opens the storage offers not yet open (a controller hot added to the VM) and forgets
     * controllers whose channel closed; returns whether anything changed.
     */
    public boolean refresh() throws StorvscException {
        boolean changed = controllers.removeIf(c -> !c.isOpen());
        List<ChannelOffer> offers = new ArrayList<>(bus.offers());
        offers.sort(Comparator.comparingInt(ChannelOffer::channelId));
        for (ChannelOffer offer : offers) {
            if (!offer.type().equals(ChannelOffer.STORAGE)) {
                continue;
            }
            if (controllers.stream().anyMatch(c -> c.offer().equals(offer))) {
                continue;
            }
            controllers.add(new StorvscController(this, ctx, bus, offer, pages, queueDepth));
            changed = true;
        }
        return changed;
    }

    /** The open controllers, in the order the parent offered them. */
    public List<StorvscController> controllers() {
        return List.copyOf(controllers);
    }

    /** Every disk of every controller, controller by controller, LUN by LUN. */
    public List<StorvscDisk> disks() {
        List<StorvscDisk> all = new ArrayList<>();
        for (StorvscController c : controllers) {
            all.addAll(c.disks());
        }
        return all;
    }

    /** The disk at {@code lun} of the {@code controller}-th controller, if there is one. */
    public Optional<StorvscDisk> disk(int controller, int lun) {
        return controller >= 0 && controller < controllers.size() ? controllers.get(controller).disk(lun)
                : Optional.empty();
    }

    /** Signals the guest raised to the parent, over every controller. */
    public long signalsToParent() {
        long n = 0;
        for (StorvscController c : controllers) {
            n += c.signalsToParent();
        }
        return n;
    }

    /** Interrupts the parent raised to the guest, over every controller. */
    public long interruptsFromParent() {
        long n = 0;
        for (StorvscController c : controllers) {
            n += c.interruptsFromParent();
        }
        return n;
    }

    /** Closes every controller's channel. */
    @Override
    public void close() {
        for (StorvscController c : controllers) {
            c.close();
        }
        controllers.clear();
    }
}
