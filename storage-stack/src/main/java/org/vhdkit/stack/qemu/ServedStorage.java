package org.vhdkit.stack.qemu;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.UnixDomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.function.Consumer;
import org.vhdkit.export.nbd.NbdServer;
import org.vhdkit.stack.scsi.LogicalUnit;
import org.vhdkit.stack.scsi.ScsiDisk;
import org.vhdkit.stack.scsi.ScsiTarget;
import org.vhdkit.stack.vhostuser.VhostUserScsi;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VmConfiguration;
import org.vhdkit.stack.vm.WorkerProcess;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.disk.RawDisk;
import org.vhdkit.vhd.disk.VirtualDisk;

/**
 * A qemu VM's storage, served by this process: every disk of the configuration opened here (VHDs
 * with their chains, pass-through disks, DVD images), each IDE drive's medium exported by an NBD
 * server of its own on a private Unix socket (read-only for DVDs), and each synthetic SCSI
 * controller in use served by a vhost-user-scsi backend with the controller's LUNs. qemu gets only
 * the sockets. The NBD server and the backend refuse anything outside their disks, so nothing qemu
 * or its guest sends reaches other files.
 *
 * <p>{@link #switchDisks} moves served VHDs onto new files (a snapshot of the running guest): each
 * drive's export and each LUN is held (its requests under way finish, later ones wait), every disk
 * is flushed, the old files closed, the new ones made (by the caller) and opened, and put in place
 * ({@link NbdServer.Hold#replace}, {@link ScsiDisk.Hold#replace}: same size, the LUN's identity kept,
 * no unit attention); then the requests go on. qemu and its guest see nothing change.
 *
 * <p>Closing stops the servers (requests in flight finish, then each disk is flushed) and closes
 * the disks.
 *
 * <p>Thread-safety: made and closed by the VM's worker; {@link #hotAdd}, {@link #hotRemove} and
 * {@link #changeMedium} are synchronized.
 */
final class ServedStorage implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ServedStorage.class.getName());
    /** The NBD export every drive's server offers. */
    static final String EXPORT = "disk";

    /** An IDE drive: its slot, whether a DVD drive, and its medium's server (empty for an empty DVD drive). */
    record IdeDrive(Slot slot, boolean dvd, Optional<Path> socket) {
        /** qemu's node and device name for the drive: {@code ide0-1}. */
        String id() {
            return "ide" + slot.controller() + "-" + slot.unit();
        }
    }

    /** A SCSI controller in use and its backend's socket. */
    record ScsiController(int number, Path socket) {
    }

    private final String vm;
    private final UUID vmId;
    private final boolean integrationComponents;
    private final Path runDir;
    private final Consumer<String> log;
    private final List<VirtualDisk> disks = new ArrayList<>(); // guarded by this
    private final Map<Slot, NbdServer> nbd = new TreeMap<>(); // guarded by this
    private final Map<Slot, VirtualDisk> media = new TreeMap<>(); // guarded by this: what each IDE server serves
    private final Map<Integer, VhostUserScsi> scsi = new TreeMap<>(); // guarded by this
    private final Map<Slot, VirtualDisk> luns = new TreeMap<>(); // guarded by this
    private final Map<Slot, ScsiDisk> units = new TreeMap<>(); // guarded by this: the unit at each LUN
    private final Map<Slot, Attachment> vhds = new TreeMap<>(); // guarded by this: each VHD served, as attached
    private final List<IdeDrive> ide = new ArrayList<>();
    private final List<ScsiController> controllers = new ArrayList<>();
    private final Set<Integer> unplugging = new TreeSet<>(); // guarded by this: device_del sent
    private int generation; // guarded by this: makes each new medium's socket name unique

    private ServedStorage(String vm, UUID vmId, boolean integrationComponents, Path runDir, Consumer<String> log) {
        this.vm = vm;
        this.vmId = vmId;
        this.integrationComponents = integrationComponents;
        this.runDir = runDir;
        this.log = log;
    }

    /**
     * Opens every disk of {@code config} and starts its servers with sockets in {@code runDir}; on
     * failure closes what it opened and throws, naming the attachment.
     */
    static ServedStorage open(VmConfiguration config, Path runDir, Consumer<String> log) throws IOException {
        ServedStorage s = new ServedStorage(config.name(), config.id(), config.integrationComponents(), runDir, log);
        try {
            s.serve(config);
            return s;
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    private synchronized void serve(VmConfiguration config) throws IOException {
        Map<Integer, ScsiTarget> targets = new TreeMap<>();
        for (Attachment a : config.attachments()) {
            Slot slot = a.slot();
            if (slot.bus() == Slot.Bus.IDE) {
                boolean dvd = a.kind() == Attachment.Kind.DVD;
                if (a.path() == null) {
                    ide.add(new IdeDrive(slot, true, Optional.empty()));
                    continue;
                }
                VirtualDisk disk = open(a);
                ide.add(new IdeDrive(slot, dvd, Optional.of(export(slot, disk, dvd || a.readOnly()))));
                if (a.kind() == Attachment.Kind.DISK) {
                    vhds.put(slot, a);
                }
            } else if (config.integrationComponents()) {
                VirtualDisk disk = open(a);
                luns.put(slot, disk);
                targets.computeIfAbsent(slot.controller(), this::target).attach(slot.unit(), unit(a, disk));
            } else {
                LOG.log(Level.WARNING, "''{0}'' has SCSI disks but its integration components are off; its guest"
                        + " cannot see them", vm);
            }
        }
        for (Map.Entry<Integer, ScsiTarget> t : targets.entrySet()) {
            controllers.add(startBackend(t.getKey(), t.getValue()));
        }
    }

    private ScsiTarget target(int controller) {
        return new ScsiTarget(vm + "/scsi" + controller, VhostUserScsi.MAX_LUNS);
    }

    /** Starts the vhost-user backend of SCSI controller {@code n} serving {@code target}, on a new socket. */
    private ScsiController startBackend(int n, ScsiTarget target) throws IOException {
        Path socket = runDir.resolve("scsi" + n + "." + generation++ + ".sock");
        scsi.put(n, VhostUserScsi.start(socket, target, VhostUserScsi.Options.defaults(),
                line -> log.accept("scsi" + n + ": " + line)));
        return new ScsiController(n, socket);
    }

    /** Starts the NBD server of the IDE drive at {@code slot} serving {@code disk}; returns its socket. */
    private Path export(Slot slot, VirtualDisk disk, boolean readOnly) throws IOException {
        Path socket = runDir.resolve("ide" + slot.controller() + "-" + slot.unit() + "." + generation++ + ".sock");
        NbdServer server = NbdServer.start(UnixDomainSocketAddress.of(socket),
                List.of(new NbdServer.Export(EXPORT, disk, readOnly, vm + " " + slot)),
                line -> log.accept(slot + ": " + line));
        nbd.put(slot, server);
        media.put(slot, disk);
        return socket;
    }

    /** The unit of the SCSI disk {@code a}, remembered with it. */
    private LogicalUnit unit(Attachment a, VirtualDisk disk) {
        ScsiDisk unit = ScsiDisk.of(disk, ScsiDisk.Settings.of(diskId(a, disk)).withReadOnly(a.readOnly()));
        units.put(a.slot(), unit);
        if (a.kind() == Attachment.Kind.DISK) {
            vhds.put(a.slot(), a);
        }
        return unit;
    }

    /**
     * The id a SCSI disk's identifiers derive from. A VHD's is named after the VM, the slot and the
     * unique id of the base of its chain, which snapshots never change (each puts a new differencing
     * disk on top): a guest sees the same disk before and after a snapshot, a switch of its layers or
     * a start from a saved state, and two disks on one base in one VM are still two disks.
     */
    private UUID diskId(Attachment a, VirtualDisk disk) {
        if (disk instanceof VhdDisk vhd) {
            return UUID.nameUUIDFromBytes(("vhdkit disk " + vmId + " " + a.slot() + " "
                    + vhd.chain().getLast().footer().uniqueId()).getBytes(StandardCharsets.UTF_8));
        }
        return UUID.nameUUIDFromBytes(("vhdkit pass-through " + vmId + " " + a.path().toAbsolutePath().normalize())
                .getBytes(StandardCharsets.UTF_8));
    }

    private VirtualDisk open(Attachment a) throws IOException {
        VirtualDisk disk;
        try {
            disk = switch (a.kind()) {
                case DISK -> Vhd.open(a.path(), a.readOnly() ? OpenOptions.READ_ONLY : OpenOptions.READ_WRITE);
                case PASS_THROUGH -> RawDisk.open(a.path(), a.readOnly());
                case DVD -> RawDisk.open(a.path(), true);
            };
        } catch (IOException e) {
            throw new IOException("cannot attach " + a + " to '" + vm + "': " + e.getMessage(), e);
        }
        disks.add(disk);
        return disk;
    }

    /** The IDE drives, in the configuration's order. */
    List<IdeDrive> ideDrives() {
        return List.copyOf(ide);
    }

    /** The SCSI controllers in use at the start, by number. */
    List<ScsiController> scsiControllers() {
        return List.copyOf(controllers);
    }

    /** The vhost-user backend of SCSI controller {@code n}, if it is in use. */
    synchronized Optional<VhostUserScsi> backend(int n) {
        return Optional.ofNullable(scsi.get(n));
    }

    /**
     * Opens {@code a} (a SCSI disk) and hot adds it at its LUN. On a controller in use the backend
     * tells the guest (returns empty); on a controller with no backend yet a new backend starts with
     * the disk at its LUN, and the controller is returned: qemu has no device for it yet, the caller
     * adds one ({@link #removeController} undoes this when qemu refuses).
     */
    synchronized Optional<ScsiController> hotAdd(Attachment a) throws IOException {
        if (!integrationComponents) {
            throw new IOException("the integration components of '" + vm + "' are off, so its guest has no"
                    + " synthetic SCSI controller");
        }
        int n = a.slot().controller();
        VhostUserScsi backend = scsi.get(n);
        VirtualDisk disk = open(a);
        try {
            if (backend != null) {
                backend.hotAdd(a.slot().unit(), unit(a, disk));
                luns.put(a.slot(), disk);
                return Optional.empty();
            }
            ScsiTarget target = target(n);
            target.attach(a.slot().unit(), unit(a, disk));
            ScsiController added = startBackend(n, target);
            luns.put(a.slot(), disk);
            return Optional.of(added);
        } catch (IOException | RuntimeException e) {
            units.remove(a.slot());
            vhds.remove(a.slot());
            disks.remove(disk);
            closeQuietly(disk);
            throw e instanceof IOException io ? io : new IOException(e.getMessage(), e);
        }
    }

    /**
     * Hot removes the disk at {@code slot}, then flushes and closes it; returns whether its
     * controller now has no disk (its backend still runs: {@link #removeController} stops it).
     */
    synchronized boolean hotRemove(Slot slot) throws IOException {
        VhostUserScsi backend = scsi.get(slot.controller());
        VirtualDisk disk = luns.remove(slot);
        if (backend == null || disk == null) {
            throw new IOException("'" + vm + "' has no disk at " + slot);
        }
        backend.hotRemove(slot.unit());
        units.remove(slot);
        vhds.remove(slot);
        disks.remove(disk);
        flushAndClose(disk);
        return emptyControllers().contains(slot.controller());
    }

    /** The SCSI controllers whose backend runs with no disk: their last disk was hot removed. */
    synchronized List<Integer> emptyControllers() {
        return scsi.keySet().stream().filter(n -> luns.keySet().stream().noneMatch(s -> s.controller() == n))
                .toList();
    }

    /** Notes that qemu was asked to take away the device of SCSI controller {@code n}. */
    synchronized void markUnplugging(int n) {
        unplugging.add(n);
    }

    /** Notes that qemu refused to take away the device of SCSI controller {@code n}: it stays. */
    synchronized void unmarkUnplugging(int n) {
        unplugging.remove(n);
    }

    /** Whether qemu was asked to take away the device of SCSI controller {@code n}, which it still has. */
    synchronized boolean unplugging(int n) {
        return unplugging.contains(n);
    }

    /**
     * Stops the backend of SCSI controller {@code n} (qemu's device is gone or was never made) and
     * flushes and closes its disks. Does nothing when it has none.
     */
    synchronized void removeController(int n) {
        unplugging.remove(n);
        VhostUserScsi backend = scsi.remove(n);
        if (backend != null) {
            try {
                backend.close();
            } catch (IOException | RuntimeException e) {
                LOG.log(Level.ERROR, vm + ": closing a vhost-user-scsi backend failed: " + e.getMessage());
            }
        }
        for (Slot s : List.copyOf(luns.keySet())) {
            if (s.controller() == n) {
                units.remove(s);
                vhds.remove(s);
                VirtualDisk d = luns.remove(s);
                disks.remove(d);
                flushAndClose(d);
            }
        }
    }

    /**
     * Replaces the medium of the DVD drive at {@code slot} with {@code iso} (null: none); returns the
     * new medium's socket. The old medium's server is closed and its image closed.
     */
    synchronized Optional<Path> changeMedium(Slot slot, Path iso) throws IOException {
        NbdServer old = nbd.remove(slot);
        VirtualDisk oldDisk = media.remove(slot);
        if (old != null) {
            old.close();
        }
        if (oldDisk != null) {
            disks.remove(oldDisk);
            closeQuietly(oldDisk);
        }
        if (iso == null) {
            return Optional.empty();
        }
        VirtualDisk disk = open(Attachment.dvd(slot, iso));
        return Optional.of(export(slot, disk, true));
    }

    /** How long a switch waits for the requests under way on a drive or LUN. */
    private static final Duration HOLD_TIMEOUT = Duration.ofSeconds(30);

    /** One drive's or LUN's hold during a switch: its disk now, and how to put another in place. */
    private record Held(AutoCloseable hold, VirtualDisk disk, java.util.function.Consumer<VirtualDisk> replace) {
    }

    /**
     * Moves the VHDs at the slots of {@code next} onto the files there, the guest paused (see the
     * class comment): holds them, flushes every disk, closes the old files, runs {@code between}
     * (which makes the new ones), opens the new files and serves them. On failure the old files are
     * opened and served again, the new ones closed, and the failure thrown.
     *
     * @throws IOException also when a slot serves no VHD or a vhost-user backend still serves rings
     *                     (the guest is not paused)
     */
    synchronized void switchDisks(Map<Slot, Path> next, WorkerProcess.FileStep between) throws IOException {
        for (Slot slot : next.keySet()) {
            if (!vhds.containsKey(slot)) {
                throw new IOException("'" + vm + "' is served no VHD at " + slot);
            }
        }
        for (Map.Entry<Integer, VhostUserScsi> b : scsi.entrySet()) {
            int rings = b.getValue().ringsServed();
            if (rings > 0) {
                throw new IOException("SCSI controller " + b.getKey() + " of '" + vm + "' still has " + rings
                        + " rings running: its guest is not paused");
            }
        }
        Map<Slot, Held> held = new TreeMap<>();
        try {
            for (Slot slot : next.keySet()) {
                held.put(slot, hold(slot));
            }
            for (VirtualDisk d : disks) {
                if (!d.isReadOnly()) {
                    d.flush();
                }
            }
            Map<Slot, VirtualDisk> opened = new TreeMap<>();
            List<Slot> closed = new ArrayList<>();
            try {
                for (Map.Entry<Slot, Held> h : held.entrySet()) {
                    disks.remove(h.getValue().disk());
                    closed.add(h.getKey());
                    h.getValue().disk().close();
                }
                between.run();
                for (Map.Entry<Slot, Path> e : next.entrySet()) {
                    Attachment was = vhds.get(e.getKey());
                    opened.put(e.getKey(), open(new Attachment(was.slot(), was.kind(), e.getValue(), was.readOnly())));
                }
                opened.forEach((slot, disk) -> held.get(slot).replace().accept(disk));
            } catch (IOException | RuntimeException e) {
                for (VirtualDisk d : opened.values()) {
                    disks.remove(d);
                    closeQuietly(d);
                }
                for (Map.Entry<Slot, Held> h : held.entrySet()) {
                    if (!closed.contains(h.getKey())) {
                        disks.add(h.getValue().disk()); // still open, still served
                        continue;
                    }
                    try {
                        VirtualDisk back = open(vhds.get(h.getKey()));
                        h.getValue().replace().accept(back);
                        served(h.getKey(), back);
                    } catch (IOException | RuntimeException again) {
                        e.addSuppressed(again);
                    }
                }
                throw e;
            }
            opened.forEach((slot, disk) -> {
                Attachment was = vhds.get(slot);
                vhds.put(slot, new Attachment(slot, was.kind(), next.get(slot), was.readOnly()));
                served(slot, disk);
            });
            log.accept("switched " + next.keySet() + " to new files");
        } finally {
            for (Held h : held.values()) {
                try {
                    h.hold().close();
                } catch (Exception e) {
                    LOG.log(Level.ERROR, vm + ": releasing a held disk failed: " + e.getMessage());
                }
            }
        }
    }

    /** Holds the drive's export or the LUN at {@code slot}, which serves a VHD. */
    private Held hold(Slot slot) throws IOException {
        if (slot.bus() == Slot.Bus.IDE) {
            NbdServer.Hold h = nbd.get(slot).hold(EXPORT, HOLD_TIMEOUT);
            return new Held(h, h.disk(), h::replace);
        }
        ScsiDisk.Hold h = units.get(slot).hold(HOLD_TIMEOUT);
        return new Held(h, h.disk(), h::replace);
    }

    /** Records {@code disk} as what {@code slot} serves now. */
    private void served(Slot slot, VirtualDisk disk) {
        if (slot.bus() == Slot.Bus.IDE) {
            media.put(slot, disk);
        } else {
            luns.put(slot, disk);
        }
    }

    /** Stops every server (flushing what they wrote), then flushes and closes every disk. Idempotent. */
    @Override
    public synchronized void close() {
        for (NbdServer s : nbd.values()) {
            try {
                s.close();
            } catch (IOException | RuntimeException e) {
                LOG.log(Level.ERROR, vm + ": closing an NBD server failed: " + e.getMessage());
            }
        }
        nbd.clear();
        for (VhostUserScsi b : scsi.values()) {
            try {
                b.close();
            } catch (IOException | RuntimeException e) {
                LOG.log(Level.ERROR, vm + ": closing a vhost-user-scsi backend failed: " + e.getMessage());
            }
        }
        scsi.clear();
        for (VirtualDisk d : disks) {
            flushAndClose(d);
        }
        disks.clear();
        media.clear();
        luns.clear();
        units.clear();
        vhds.clear();
    }

    private void flushAndClose(VirtualDisk d) {
        if (!d.isReadOnly()) {
            try {
                d.flush();
            } catch (IOException | RuntimeException e) {
                LOG.log(Level.ERROR, vm + ": flushing " + d.name() + " failed: " + e.getMessage());
            }
        }
        closeQuietly(d);
    }

    private void closeQuietly(VirtualDisk d) {
        try {
            d.close();
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.ERROR, vm + ": closing " + d.name() + " failed: " + e.getMessage());
        }
    }
}
