package org.vhdkit.stack.storage;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.vhdkit.stack.scsi.LogicalUnit;
import org.vhdkit.stack.scsi.ScsiDisk;
import org.vhdkit.stack.scsi.ScsiTarget;
import org.vhdkit.stack.storvsp.StorVsp;
import org.vhdkit.stack.protocol.storage.StorageProtocol;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.HyperVLimits;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VmDevice;
import org.vhdkit.stack.vm.VmException;
import org.vhdkit.stack.vmbus.ChannelOffer;
import org.vhdkit.stack.vmbus.VmbusException;
import org.vhdkit.stack.vmbus.VmbusServer;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.disk.RawDisk;
import org.vhdkit.vhd.disk.VirtualDisk;

/**
 * The synthetic SCSI controllers of one running VM ("scsi"): up to four, each a {@link ScsiTarget}
 * with its disks, served by a {@link StorVsp} on its own VMBus channel. A controller is offered to
 * the guest once it has a disk (at start, or when the first disk is hot added to it) and stays
 * offered until the VM stops.
 *
 * <h2>Disks</h2>
 * A VHD attachment opens with {@link Vhd#open} read-write or read-only as attached; a pass-through
 * attachment with {@link RawDisk#open} (a raw file or block device, locked exclusively when
 * writable, so a device another VM or process holds is refused). A read-only attachment is
 * presented write-protected (writes get DATA PROTECT). The disk id behind the SCSI device
 * identifiers is the VHD's unique id, or for a pass-through disk a name-based id of the VM and the
 * device path, so a guest sees the same disk across restarts.
 *
 * <h2>Stopping, saving</h2>
 * {@link #saveState} quiesces every controller (closes its channel and waits for the request being
 * executed) and writes what each provider keeps: whether its channel was open and the negotiated
 * version. {@link #release} quiesces too, then flushes and closes every disk: whatever a guest was
 * told was written is on the disk when a turn off returns.
 *
 * <p>Thread-safety: every method may be called from any thread; the controllers, their disks and
 * the released flag are guarded by this object's monitor. Requests run on the channels' consumer
 * threads without it.
 */
final class Controllers implements VmDevice {
    static final String NAME = "scsi";
    private static final System.Logger LOG = System.getLogger(Controllers.class.getName());
    private static final int MAGIC = 0x53435349; // "SCSI"
    private static final int FORMAT = 1;
    static final Duration QUIESCE = Duration.ofSeconds(10);

    private record Plugged(Attachment attachment, VirtualDisk disk, ScsiDisk unit) {
    }

    private static final class Controller {
        final ScsiTarget target;
        final StorVsp vsp;
        final Plugged[] luns = new Plugged[HyperVLimits.SCSI_LUNS_PER_CONTROLLER];
        ChannelOffer offer;
        StorVsp.State restored;

        Controller(String name) {
            target = new ScsiTarget(name, HyperVLimits.SCSI_LUNS_PER_CONTROLLER);
            vsp = StorVsp.create(name, target);
        }
    }

    private final String vm;
    private final UUID vmId;
    private final VmbusServer server;
    private final Controller[] controllers = new Controller[HyperVLimits.SCSI_CONTROLLERS]; // guarded by this
    private boolean released; // guarded by this

    Controllers(String vm, UUID vmId, VmbusServer server) {
        this.vm = vm;
        this.vmId = vmId;
        this.server = server;
    }

    @Override
    public String name() {
        return NAME;
    }

    /**
     * Opens the disk of {@code attachment} and puts it at its slot; with {@code hot}, on a running
     * VM whose guest is told. Refused (the disk left closed) if the slot is taken or the disk does
     * not open.
     */
    synchronized void plug(Attachment attachment, boolean hot) throws VmException {
        if (released) {
            throw new VmException("cannot attach " + attachment + " to '" + vm + "': it is stopping");
        }
        Slot slot = attachment.slot();
        if (slot.bus() != Slot.Bus.SCSI || attachment.kind() == Attachment.Kind.DVD) {
            throw new VmException("cannot attach " + attachment + " to '" + vm + "': synthetic SCSI takes disks and"
                    + " pass-through disks only");
        }
        Controller c = controllers[slot.controller()];
        if (c == null) {
            c = new Controller(vm + "/scsi" + slot.controller());
            controllers[slot.controller()] = c;
        }
        if (c.luns[slot.unit()] != null) {
            throw new VmException("cannot attach " + attachment + " to '" + vm + "': " + slot + " already holds "
                    + c.luns[slot.unit()].attachment().path());
        }
        VirtualDisk disk = open(attachment);
        try {
            ScsiDisk unit = ScsiDisk.of(disk, ScsiDisk.Settings.of(diskId(attachment, disk))
                    .withReadOnly(attachment.readOnly()));
            if (hot && c.offer != null) {
                c.vsp.hotAdd(slot.unit(), unit);
            } else {
                c.target.attach(slot.unit(), unit);
            }
            c.luns[slot.unit()] = new Plugged(attachment, disk, unit);
            if (hot && c.offer == null) {
                offer(slot.controller(), c);
            }
        } catch (VmException | RuntimeException e) {
            c.luns[slot.unit()] = null;
            c.target.detach(slot.unit());
            closeQuietly(disk);
            throw e instanceof VmException v ? v
                    : new VmException("cannot attach " + attachment + " to '" + vm + "': " + e.getMessage(), e);
        }
    }

    /**
     * Takes the disk at {@code slot} away from the running guest (which is told), waits until no
     * request runs on it, flushes and closes it; returns what was attached, or empty.
     */
    synchronized Optional<Attachment> unplug(Slot slot) throws VmException {
        Controller c = slot.bus() == Slot.Bus.SCSI && slot.controller() >= 0 && slot.controller() < controllers.length
                ? controllers[slot.controller()] : null;
        if (c == null || slot.unit() < 0 || slot.unit() >= c.luns.length || c.luns[slot.unit()] == null) {
            return Optional.empty();
        }
        Plugged p = c.luns[slot.unit()];
        try {
            c.vsp.hotRemove(slot.unit(), QUIESCE);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new VmException("interrupted while detaching " + slot + " from '" + vm + "'");
        }
        c.luns[slot.unit()] = null;
        try {
            p.disk().flush();
        } catch (IOException e) {
            LOG.log(Level.WARNING, vm + ": flushing " + p.disk().name() + " on detach failed: " + e.getMessage());
        }
        closeQuietly(p.disk());
        return Optional.of(p.attachment());
    }

    /** Offers every controller that has a disk and is not yet offered. */
    synchronized void offerAll() throws VmException {
        for (int i = 0; i < controllers.length; i++) {
            if (controllers[i] != null && controllers[i].offer == null) {
                offer(i, controllers[i]);
            }
        }
    }

    private void offer(int index, Controller c) throws VmException {
        UUID instance = UUID.nameUUIDFromBytes(("vhdkit synthetic SCSI " + vmId + " " + index)
                .getBytes(StandardCharsets.UTF_8));
        try {
            c.offer = server.offer(ChannelOffer.STORAGE, instance, c.vsp);
        } catch (VmbusException e) {
            throw new VmException("cannot offer SCSI controller " + index + " of '" + vm + "': " + e.getMessage(), e);
        }
    }

    /** The provider of controller {@code index}, if it exists. */
    synchronized Optional<StorVsp> vsp(int index) {
        Controller c = index >= 0 && index < controllers.length ? controllers[index] : null;
        return c == null ? Optional.empty() : Optional.of(c.vsp);
    }

    /** The logical unit at {@code slot}, if any. */
    synchronized Optional<LogicalUnit> unit(Slot slot) {
        Controller c = controllers[slot.controller()];
        return c == null ? Optional.empty() : c.target.unit(slot.unit());
    }

    /** What each controller's provider kept when the VM was restored (for diagnostics). */
    synchronized List<Optional<StorVsp.State>> restoredStates() {
        List<Optional<StorVsp.State>> list = new ArrayList<>();
        for (Controller c : controllers) {
            list.add(c == null ? Optional.empty() : Optional.ofNullable(c.restored));
        }
        return list;
    }

    @Override
    public synchronized void saveState(DataOutput out) throws IOException {
        StorVsp.State[] states = new StorVsp.State[controllers.length];
        for (int i = 0; i < controllers.length; i++) {
            states[i] = controllers[i] == null ? null : controllers[i].vsp.state(); // before quiescing closes them
        }
        quiesceAll();
        out.writeInt(MAGIC);
        out.writeByte(FORMAT);
        for (int i = 0; i < controllers.length; i++) {
            boolean offered = controllers[i] != null && controllers[i].offer != null;
            out.writeBoolean(offered);
            if (offered) {
                out.writeBoolean(states[i].open());
                out.writeShort(states[i].version());
            }
        }
    }

    @Override
    public synchronized void restoreState(DataInput in) throws IOException {
        if (in.readInt() != MAGIC) {
            throw new VmException("the saved state of '" + vm + "' holds no synthetic SCSI state where it should");
        }
        int format = in.readUnsignedByte();
        if (format != FORMAT) {
            throw new VmException("the synthetic SCSI state of '" + vm + "' is format " + format + "; this version"
                    + " reads format " + FORMAT);
        }
        for (int i = 0; i < controllers.length; i++) {
            if (!in.readBoolean()) {
                continue;
            }
            boolean open = in.readBoolean();
            int version = in.readUnsignedShort();
            if (version != 0 && !StorageProtocol.isSupported(version)) {
                throw new VmException("the synthetic SCSI state of '" + vm + "' names protocol version 0x"
                        + Integer.toHexString(version) + " for controller " + i + ", which no guest can have negotiated");
            }
            if (controllers[i] != null) {
                controllers[i].restored = new StorVsp.State(open, version);
            }
        }
    }

    private void quiesceAll() throws VmException {
        for (int i = 0; i < controllers.length; i++) {
            Controller c = controllers[i];
            if (c == null) {
                continue;
            }
            try {
                if (!c.vsp.quiesce(QUIESCE)) {
                    throw new VmException("SCSI controller " + i + " of '" + vm + "' did not finish its request within "
                            + QUIESCE.toSeconds() + " s");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new VmException("interrupted while quiescing the SCSI controllers of '" + vm + "'");
            }
        }
    }

    @Override
    public void release() {
        List<Plugged> disks = new ArrayList<>();
        synchronized (this) {
            if (released) {
                return;
            }
            released = true;
            try {
                quiesceAll();
            } catch (VmException e) {
                LOG.log(Level.WARNING, vm + ": " + e.getMessage() + "; closing its disks anyway");
            }
            for (Controller c : controllers) {
                if (c == null) {
                    continue;
                }
                for (int lun = 0; lun < c.luns.length; lun++) {
                    if (c.luns[lun] != null) {
                        disks.add(c.luns[lun]);
                        c.luns[lun] = null;
                    }
                }
            }
        }
        for (Plugged p : disks) {
            try {
                p.disk().flush();
            } catch (IOException | RuntimeException e) {
                LOG.log(Level.ERROR, vm + ": flushing " + p.disk().name() + " failed: " + e.getMessage());
            }
            closeQuietly(p.disk());
        }
    }

    private VirtualDisk open(Attachment a) throws VmException {
        try {
            return switch (a.kind()) {
                case DISK -> Vhd.open(a.path(), a.readOnly() ? OpenOptions.READ_ONLY : OpenOptions.READ_WRITE);
                case PASS_THROUGH -> RawDisk.open(a.path(), a.readOnly());
                case DVD -> throw new IOException("a DVD drive cannot be on SCSI");
            };
        } catch (IOException e) {
            throw new VmException("cannot attach " + a + " to '" + vm + "': " + e.getMessage(), e);
        }
    }

    private UUID diskId(Attachment a, VirtualDisk disk) {
        if (disk instanceof VhdDisk vhd) {
            return vhd.footer().uniqueId();
        }
        return UUID.nameUUIDFromBytes(("vhdkit pass-through " + vmId + " " + a.path().toAbsolutePath().normalize())
                .getBytes(StandardCharsets.UTF_8));
    }

    private void closeQuietly(VirtualDisk disk) {
        try {
            disk.close();
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.ERROR, vm + ": closing " + disk.name() + " failed: " + e.getMessage());
        }
    }
}
