package org.vhdkit.stack.storage;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import org.vhdkit.stack.bus.WorkerBus;
import org.vhdkit.stack.storvsp.StorVsp;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.DeviceProvider;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmConfiguration;
import org.vhdkit.stack.vm.VmDevice;
import org.vhdkit.stack.vm.VmException;
import org.vhdkit.stack.vm.VmWorker;
import org.vhdkit.stack.vmbus.GuestPort;
import org.vhdkit.stack.vmbus.VmbusServer;

/**
 * The synthetic storage of VMs: the {@link DeviceProvider} that wires the SCSI attachments of a
 * VM's configuration ({@code scsi:N:L}) into the running VM, and the entry point for hot add and
 * remove. Give it to the hypervisor with
 * {@code HypervisorOptions.defaults().withDeviceProvider(SyntheticStorage.create())}.
 *
 * <h2>When a VM starts</h2>
 * For a VM with integration components on, the provider takes the VM's VMBus server (the shared
 * {@link WorkerBus}, which offers its guest side {@link GuestPort} to the guest), opens every SCSI
 * disk of the configuration, and offers one storage channel per controller that has a disk, served
 * by a {@link StorVsp}. A disk that does not open (missing, held by another VM or process, damaged)
 * refuses the start with its message, and whatever was opened is closed again. A VM with integration components off gets no VMBus: its SCSI disks are not opened
 * (its guest could not see them; Hyper-V's guests need their integration components for SCSI).
 *
 * <h2>Hot add and remove</h2>
 * {@link #hotAdd} and {@link #hotRemove} change a Running or Paused VM: the disk is opened and put
 * at its slot (or detached, waited for, flushed and closed), the guest is told (REPORTED LUNS DATA
 * HAS CHANGED on the other disks and ENUMERATE_BUS on the channel), and the change is recorded in
 * the VM's configuration, so a save, a restart or a later hypervisor finds it. Only SCSI slots
 * take hot changes, as on Hyper-V.
 *
 * <h2>Stopping and saving</h2>
 * Turning off or saving the VM closes the storage channels after the request being executed, then
 * flushes and closes every disk. See {@link StorVsp} for what is kept through save and restore.
 *
 * <p>Thread-safety: a provider may serve any number of VMs and starts at once; it holds no state of
 * its own. The hot-plug methods may be called from any thread; they are serialized per VM by its
 * controllers' monitor.
 */
public final class SyntheticStorage implements DeviceProvider {
    private static final System.Logger LOG = System.getLogger(SyntheticStorage.class.getName());

    private final Duration poll;

    private SyntheticStorage(Duration poll) {
        this.poll = poll;
    }

    /** A provider whose VMBus consumers poll an empty ring for {@link VmbusServer#DEFAULT_POLL} before parking. */
    public static SyntheticStorage create() {
        return create(VmbusServer.DEFAULT_POLL);
    }

    /** A provider whose VMBus consumers (and the guest library's waits) poll for {@code poll} before parking. */
    public static SyntheticStorage create(Duration poll) {
        Objects.requireNonNull(poll, "poll");
        if (poll.isNegative()) {
            throw new IllegalArgumentException("negative poll time " + poll);
        }
        return new SyntheticStorage(poll);
    }

    /** Wires the VM's SCSI attachments in; see the class comment. Called on the starting thread. */
    @Override
    public void attach(VmWorker worker) throws IOException {
        VmConfiguration config = worker.configuration();
        if (!config.integrationComponents()) {
            if (config.attachments().stream().anyMatch(a -> a.slot().bus() == Slot.Bus.SCSI)) {
                LOG.log(Level.WARNING, "''{0}'' has SCSI disks but its integration components are off; its guest"
                        + " cannot see them", config.name());
            }
            return;
        }
        VmbusServer server = bus(worker);
        Controllers controllers = new Controllers(config.name(), config.id(), server);
        worker.addDevice(controllers);
        for (Attachment a : config.attachments()) {
            if (a.slot().bus() == Slot.Bus.SCSI) {
                controllers.plug(a, false);
            }
        }
        controllers.offerAll();
    }

    private VmbusServer bus(VmWorker worker) {
        return WorkerBus.of(worker, poll);
    }

    /**
     * Hot adds {@code attachment} (a disk or pass-through disk at a SCSI slot) to the running VM
     * {@code vm}; see the class comment. Thread-safe.
     *
     * @throws VmException when the VM is not Running or Paused (or busy with another operation), has
     *     no synthetic storage (integration components off), the slot is not SCSI or is taken, the
     *     file is attached elsewhere in the VM, or the disk does not open
     */
    public static void hotAdd(VirtualMachine vm, Attachment attachment) throws VmException {
        Objects.requireNonNull(attachment, "attachment");
        if (attachment.slot().bus() != Slot.Bus.SCSI) {
            throw new VmException("cannot hot add " + attachment + " to '" + vm.name() + "': only SCSI slots take"
                    + " disks while the VM runs; turn it off to change " + attachment.slot());
        }
        Controllers controllers = controllers(vm, "hot add " + attachment + " to");
        synchronized (controllers) {
            VmConfiguration next = vm.configuration().withAttachment(attachment);
            next.validate();
            controllers.plug(attachment, true);
            try {
                vm.recordHotPlug(next);
            } catch (VmException | RuntimeException e) {
                try {
                    controllers.unplug(attachment.slot());
                } catch (VmException undo) {
                    e.addSuppressed(undo);
                }
                throw e;
            }
        }
    }

    /**
     * Hot removes whatever disk is at {@code slot} of the running VM {@code vm}: the guest is told,
     * the requests running on the disk finish, the disk is flushed and closed, and the configuration
     * no longer holds it. Returns what was attached. Thread-safe.
     *
     * @throws VmException when the VM is not Running or Paused, has no synthetic storage, or nothing
     *     is attached at the slot
     */
    public static Attachment hotRemove(VirtualMachine vm, Slot slot) throws VmException {
        Objects.requireNonNull(slot, "slot");
        Controllers controllers = controllers(vm, "hot remove " + slot + " from");
        synchronized (controllers) {
            VmConfiguration current = vm.configuration();
            if (current.attachment(slot).isEmpty() || slot.bus() != Slot.Bus.SCSI) {
                throw new VmException("cannot hot remove " + slot + " from '" + vm.name() + "': nothing is attached there"
                        + (slot.bus() != Slot.Bus.SCSI ? " that can be removed while the VM runs" : ""));
            }
            VmConfiguration next = current.withoutAttachment(slot);
            Attachment removed = controllers.unplug(slot).orElseThrow(() -> new VmException("cannot hot remove " + slot
                    + " from '" + vm.name() + "': the running VM has no disk there"));
            try {
                vm.recordHotPlug(next);
            } catch (VmException e) {
                LOG.log(Level.WARNING, "''{0}'': {1} was detached, but the configuration could not record it: {2}",
                        vm.name(), slot, e.getMessage());
                throw e;
            }
            return removed;
        }
    }

    /** The storage provider of SCSI controller {@code controller} of the running VM, for diagnostics and tests. */
    public static Optional<StorVsp> controller(VirtualMachine vm, int controller) {
        return vm.worker().flatMap(w -> find(w, Controllers.class)).flatMap(c -> c.vsp(controller));
    }

    /** The VMBus server of the running VM, if it has one: its signal and interrupt counters. */
    public static Optional<VmbusServer> bus(VirtualMachine vm) {
        return WorkerBus.find(vm);
    }

    private static Controllers controllers(VirtualMachine vm, String what) throws VmException {
        VmWorker worker = vm.worker().orElseThrow(() -> new VmException("cannot " + what + " '" + vm.name()
                + "': it is " + vm.state() + ", not running"));
        return find(worker, Controllers.class).orElseThrow(() -> new VmException("cannot " + what + " '" + vm.name()
                + "': it has no synthetic storage (are its integration components on, and SyntheticStorage among the"
                + " hypervisor's device providers?)"));
    }

    private static <T> Optional<T> find(VmWorker worker, Class<T> type) {
        for (VmDevice d : worker.devices()) {
            if (type.isInstance(d)) {
                return Optional.of(type.cast(d));
            }
        }
        return Optional.empty();
    }
}
