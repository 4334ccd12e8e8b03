package org.vhdkit.stack.ide;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.vhdkit.stack.memory.GuestMemoryException;
import org.vhdkit.stack.partition.GuestSignal;
import org.vhdkit.stack.scsi.CdRom;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.DeviceProvider;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmDevice;
import org.vhdkit.stack.vm.VmException;
import org.vhdkit.stack.vm.VmWorker;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.disk.RawDisk;
import org.vhdkit.vhd.disk.VirtualDisk;

/**
 * The emulated IDE storage of VMs: the {@link DeviceProvider} that gives every VM its PIIX-style IDE
 * controller with the {@code ide:C:D} attachments of its configuration, and the entry point for
 * changing DVD media on a running VM. Give it to the hypervisor with
 * {@code HypervisorOptions.defaults().withDeviceProvider(EmulatedIde.create())}.
 *
 * <h2>When a VM starts</h2>
 * The controller ("ide" among the worker's devices) decodes ports 0x1F0-0x1F7 and 0x3F6 (primary),
 * 0x170-0x177 and 0x376 (secondary) and the bus-master registers at {@link #BUS_MASTER_BASE}
 * (16 ports). Each channel's interrupt line is a {@link GuestSignal}, offered to the guest as
 * {@link IdeInterrupts}. Disks open with {@link Vhd#open} (read-write, or read-only as attached),
 * pass-through disks with {@link RawDisk#open}, DVD media with {@code RawDisk.open(iso, true)}; a
 * disk that does not open refuses the start, and what was opened is closed again. Every VM gets the
 * controller, with or without drives, as a generation-1 VM does.
 *
 * <h2>Stopping</h2>
 * Turning off (or saving) the VM flushes and closes every disk and closes the media. The controller
 * keeps no state through a save: a restored VM finds its drives as after a reset and the DVD drives
 * holding what the configuration names.
 *
 * <h2>Media</h2>
 * {@link #insert}, {@link #eject} and {@link #media} change and show what a DVD drive holds on a
 * running (or paused) VM. The change is made on the VM's worker between two port accesses, and the
 * guest sees it as a real drive's: NOT READY / MEDIUM NOT PRESENT while empty, then UNIT ATTENTION /
 * MEDIUM MAY HAVE CHANGED once, then the data. {@link #insert}, {@link #eject} and an eject by the
 * guest (START STOP UNIT) then record the drive's new medium in the VM's stored configuration, so a
 * save, a restart or another process sees it.
 *
 * <p>Thread-safety: the provider holds no state and may serve any number of VMs at once. The media
 * methods may be called from any thread; they run their change on the VM's worker thread, which
 * serializes them with each other and with the guest's port I/O.
 */
public final class EmulatedIde implements DeviceProvider {
    /** The first of the 16 bus-master DMA ports (PIIX BMIBA): primary at +0, secondary at +8. */
    public static final int BUS_MASTER_BASE = 0xC000;
    /** Primary and secondary command-block ports. */
    public static final int PRIMARY_PORTS = 0x1F0;
    public static final int SECONDARY_PORTS = 0x170;
    /** Primary and secondary device-control / alternate-status ports. */
    public static final int PRIMARY_CONTROL = 0x3F6;
    public static final int SECONDARY_CONTROL = 0x376;

    private static final System.Logger LOG = System.getLogger(EmulatedIde.class.getName());
    private static final Duration WORKER_WAIT = Duration.ofSeconds(10);

    private EmulatedIde() {
    }

    /** The provider. Thread-safe. */
    public static EmulatedIde create() {
        return new EmulatedIde();
    }

    /** Builds the VM's IDE controller from its configuration; see the class comment. Starting thread. */
    @Override
    public void attach(VmWorker worker) throws IOException {
        GuestSignal primary = worker.newSignal();
        GuestSignal secondary = worker.newSignal();
        IdeController controller;
        try {
            controller = new IdeController(new IdeChannel(0, primary, worker.memory()),
                    new IdeChannel(1, secondary, worker.memory()));
        } catch (GuestMemoryException e) {
            throw new VmException("cannot build the IDE controller of '" + worker.vmName() + "': " + e.getMessage(), e);
        }
        worker.addDevice(controller); // released (closing what was opened) if anything below fails
        for (Attachment a : worker.configuration().attachments()) {
            if (a.slot().bus() == Slot.Bus.IDE) {
                plug(worker, controller, a);
            }
        }
        for (int c = 0; c < 2; c++) {
            worker.mapPorts(IdeController.COMMAND_BLOCK[c], 8, controller);
            worker.mapPorts(IdeController.CONTROL_BLOCK[c], 1, controller);
        }
        worker.mapPorts(BUS_MASTER_BASE, 16, controller);
        worker.offerGuestService(IdeInterrupts.class, new IdeInterrupts(primary, secondary));
    }

    private static void plug(VmWorker worker, IdeController controller, Attachment a) throws VmException {
        Slot slot = a.slot();
        IdeChannel channel = controller.channels[slot.controller()];
        if (channel.drives[slot.unit()] != null) {
            throw new VmException("cannot attach " + a + " to '" + worker.vmName() + "': " + slot + " is taken");
        }
        String serial = serial(worker.configuration().id(), slot);
        if (a.kind() == Attachment.Kind.DVD) {
            CdRom cd = new CdRom(worker.vmName() + "/" + slot, disk -> guestEjected(worker, controller, slot, disk));
            AtapiDrive drive = new AtapiDrive(channel, cd, serial);
            channel.drives[slot.unit()] = drive;
            if (a.path() != null) {
                cd.insert(open(worker.vmName(), a));
                cd.clearUnitAttention(org.vhdkit.stack.scsi.Sense.MEDIUM_MAY_HAVE_CHANGED); // in at power on
                controller.media[slot.controller()][slot.unit()] = a.path();
            }
            return;
        }
        VirtualDisk disk = open(worker.vmName(), a);
        channel.drives[slot.unit()] = new AtaDisk(channel, disk, a.readOnly(), serial);
    }

    private static VirtualDisk open(String vm, Attachment a) throws VmException {
        try {
            return switch (a.kind()) {
                case DISK -> Vhd.open(a.path(), a.readOnly() ? OpenOptions.READ_ONLY : OpenOptions.READ_WRITE);
                case PASS_THROUGH -> RawDisk.open(a.path(), a.readOnly());
                case DVD -> RawDisk.open(a.path(), true);
            };
        } catch (IOException e) {
            throw new VmException("cannot attach " + a + " to '" + vm + "': " + e.getMessage(), e);
        }
    }

    /** A stable 20-character serial number for the drive at {@code slot} of VM {@code vmId}. */
    private static String serial(UUID vmId, Slot slot) {
        UUID id = UUID.nameUUIDFromBytes(("vhdkit IDE " + vmId + " " + slot).getBytes(StandardCharsets.UTF_8));
        return HexFormat.of().withUpperCase().toHexDigits(id.getMostSignificantBits())
                + HexFormat.of().withUpperCase().toHexDigits(id.getLeastSignificantBits()).substring(0, 4);
    }

    /**
     * The guest ejected the medium (START STOP UNIT): close it, and record the empty drive in the
     * configuration, as a host-side eject does. On the worker thread.
     */
    private static void guestEjected(VmWorker worker, IdeController controller, Slot slot, VirtualDisk disk) {
        controller.media[slot.controller()][slot.unit()] = null;
        closeQuietly(disk);
        try {
            worker.recordChange(c -> c.withMedia(slot, null));
        } catch (VmException e) {
            LOG.log(Level.WARNING, "''{0}'': the guest ejected the medium at {1}, but the configuration could not"
                    + " record it (the next start puts it back): {2}", worker.vmName(), slot, e.getMessage());
        }
    }

    private static void closeQuietly(VirtualDisk disk) {
        try {
            disk.close();
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.WARNING, "closing " + disk.name() + " failed: " + e);
        }
    }

    // ---- media on a running VM ----

    /**
     * Puts the ISO image {@code iso} into the DVD drive at {@code slot} of the running or paused VM
     * {@code vm}, ejecting what it held. Thread-safe.
     *
     * @throws VmException when the VM is not running, has no emulated IDE, there is no DVD drive at
     *     the slot, or the image does not open
     */
    public static void insert(VirtualMachine vm, Slot slot, Path iso) throws VmException {
        Objects.requireNonNull(iso, "iso");
        VmWorker worker = worker(vm, "insert " + iso + " into " + slot + " of");
        VirtualDisk disk = open(vm.name(), Attachment.dvd(slot, iso));
        try {
            Optional<VirtualDisk> old = onWorker(worker, () -> {
                AtapiDrive drive = dvdDrive(vm, worker, slot);
                Optional<VirtualDisk> previous = drive.unit().eject();
                drive.unit().insert(disk);
                controller(worker).media[slot.controller()][slot.unit()] = iso;
                return previous;
            }, "insert " + iso + " into " + slot + " of '" + vm.name() + "'");
            old.ifPresent(EmulatedIde::closeQuietly);
        } catch (VmException | RuntimeException e) {
            closeQuietly(disk);
            throw e;
        }
        recordMedia(vm, slot, iso);
    }

    /**
     * Stores what the drive at {@code slot} now holds in the VM's configuration, so that a save, a
     * restart or another {@code vhd} process finds it there. The drive has changed already; when the
     * configuration cannot follow (a save under way, say), the error says so and the next start
     * comes up with the medium the configuration names.
     */
    private static void recordMedia(VirtualMachine vm, Slot slot, Path iso) throws VmException {
        try {
            vm.recordHotPlug(c -> c.withMedia(slot, iso));
        } catch (VmException e) {
            throw new VmException((iso == null ? "ejected " + slot : "inserted " + iso + " into " + slot) + " of '"
                    + vm.name() + "', but its configuration could not record it: " + e.getMessage(), e);
        }
    }

    /**
     * Takes the medium out of the DVD drive at {@code slot} of the running or paused VM {@code vm}
     * (even if the guest prevents removal) and closes it; returns the image it held, or empty.
     * Thread-safe.
     *
     * @throws VmException when the VM is not running, has no emulated IDE, or no DVD drive at the slot
     */
    public static Optional<Path> eject(VirtualMachine vm, Slot slot) throws VmException {
        VmWorker worker = worker(vm, "eject " + slot + " of");
        record Ejected(Optional<VirtualDisk> disk, Path path) {
        }
        Ejected e = onWorker(worker, () -> {
            AtapiDrive drive = dvdDrive(vm, worker, slot);
            Path path = controller(worker).media[slot.controller()][slot.unit()];
            controller(worker).media[slot.controller()][slot.unit()] = null;
            return new Ejected(drive.unit().eject(), path);
        }, "eject " + slot + " of '" + vm.name() + "'");
        e.disk().ifPresent(EmulatedIde::closeQuietly);
        if (vm.configuration().attachment(slot).flatMap(Attachment::media).isPresent()) {
            recordMedia(vm, slot, null);
        }
        return e.disk().isPresent() ? Optional.ofNullable(e.path()) : Optional.empty();
    }

    /**
     * The image in the DVD drive at {@code slot} of the running or paused VM {@code vm}, or empty
     * when the drive is empty. Thread-safe.
     *
     * @throws VmException when the VM is not running, has no emulated IDE, or no DVD drive at the slot
     */
    public static Optional<Path> media(VirtualMachine vm, Slot slot) throws VmException {
        VmWorker worker = worker(vm, "look into " + slot + " of");
        return onWorker(worker, () -> {
            dvdDrive(vm, worker, slot);
            return Optional.ofNullable(controller(worker).media[slot.controller()][slot.unit()]);
        }, "look into " + slot + " of '" + vm.name() + "'");
    }

    /** How many interrupts channel {@code channel} of the running VM raised, for diagnostics. Thread-safe. */
    public static long interrupts(VirtualMachine vm, int channel) throws VmException {
        if (channel < 0 || channel > 1) {
            throw new IllegalArgumentException("an IDE controller has channels 0 and 1, not " + channel);
        }
        VmWorker worker = worker(vm, "count the interrupts of");
        return onWorker(worker, () -> controller(worker).channels[channel].interrupts(), "count interrupts");
    }

    private static VmWorker worker(VirtualMachine vm, String what) throws VmException {
        Objects.requireNonNull(vm, "vm");
        VmWorker worker = vm.worker().orElseThrow(() -> new VmException("cannot " + what + " '" + vm.name()
                + "': it is " + vm.state() + ", not running"));
        for (VmDevice d : worker.devices()) {
            if (d instanceof IdeController) {
                return worker;
            }
        }
        throw new VmException("cannot " + what + " '" + vm.name() + "': it has no emulated IDE controller (is"
                + " EmulatedIde among the hypervisor's device providers?)");
    }

    private static IdeController controller(VmWorker worker) {
        for (VmDevice d : worker.devices()) {
            if (d instanceof IdeController c) {
                return c;
            }
        }
        throw new IllegalStateException("no IDE controller");
    }

    private static AtapiDrive dvdDrive(VirtualMachine vm, VmWorker worker, Slot slot) throws VmException {
        IdeDrive d = slot.bus() == Slot.Bus.IDE && slot.controller() >= 0 && slot.controller() < 2 && slot.unit() >= 0
                && slot.unit() < 2 ? controller(worker).drive(slot.controller(), slot.unit()) : null;
        if (d instanceof AtapiDrive a) {
            return a;
        }
        throw new VmException("'" + vm.name() + "' has no DVD drive at " + slot);
    }

    private static <T> T onWorker(VmWorker worker, Callable<T> call, String what) throws VmException {
        CompletableFuture<T> result = new CompletableFuture<>();
        worker.execute(() -> {
            try {
                result.complete(call.call());
            } catch (Exception | Error e) {
                result.completeExceptionally(e);
            }
        });
        try {
            return result.get(WORKER_WAIT.toNanos(), TimeUnit.NANOSECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof VmException v) {
                throw v;
            }
            throw new VmException("cannot " + what + ": " + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new VmException("cannot " + what + ": the VM's worker did not answer (is it stopping?)");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new VmException("cannot " + what + ": interrupted");
        }
    }
}
