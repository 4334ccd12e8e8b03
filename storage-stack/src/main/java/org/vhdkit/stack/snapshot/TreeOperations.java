package org.vhdkit.stack.snapshot;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import org.vhdkit.stack.partition.GuestProgram;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.HyperVLimits;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmConfiguration;
import org.vhdkit.stack.vm.VmException;
import org.vhdkit.stack.vm.VmState;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.transform.Conversion;
import org.vhdkit.vhd.transform.ConvertOptions;
import org.vhdkit.vhd.transform.ImageType;

/**
 * The operations on one VM's tree: take, apply, revert, delete, rename and export; each documented
 * where {@link Snapshots} offers it. Take and apply are journaled through {@link Recovery}; every
 * change ends with a {@link Collapse}.
 *
 * <p>Not thread-safe: {@link Snapshots} calls it under its guard.
 */
record TreeOperations(SnapshotFolder folder, TreeQueries queries, Recovery recovery, Collapse collapse) {
    // ---- take ----

    /** See {@link Snapshots#take}. */
    Snapshots.Result take(String name) throws VmException {
        if (folder.tree.nodes.size() >= HyperVLimits.MAX_SNAPSHOTS) {
            throw new SnapshotException("cannot snapshot '" + folder.vm.name() + "': it has "
                    + HyperVLimits.MAX_SNAPSHOTS + " snapshots, the most a VM may have; delete some first");
        }
        VmState state = folder.vm.state();
        boolean running = state == VmState.RUNNING || state == VmState.PAUSED;
        if (running && folder.vm.snapshotsLive()) {
            return takeLive(name == null ? defaultName() : name);
        }
        GuestProgram program = null;
        if (running) {
            program = folder.vm.program().orElseThrow(() -> new SnapshotException("cannot snapshot '" + folder.vm.name()
                    + "': its guest program is unknown"));
            folder.vm.save();
        } else if (state != VmState.OFF && state != VmState.SAVED) {
            throw new SnapshotException("cannot snapshot '" + folder.vm.name() + "': it is " + state);
        }
        Snapshots.Result r;
        try {
            r = takeStopped(name == null ? defaultName() : name);
        } catch (VmException e) {
            if (running) { // bring it back as it was, without the snapshot
                try {
                    restart(program, state);
                } catch (VmException again) {
                    e.addSuppressed(again);
                }
            }
            throw e;
        }
        if (running) {
            restart(program, state);
        }
        return r;
    }

    private void restart(GuestProgram program, VmState was) throws VmException {
        folder.vm.start(program);
        if (was == VmState.PAUSED) {
            folder.vm.pause();
        }
    }

    private String defaultName() {
        return folder.vm.name() + " - (" + DateTimeFormatter.ofPattern("yyyy-MM-dd - HH:mm:ss")
                .withZone(ZoneId.systemDefault()).format(Instant.now()) + ")";
    }

    /**
     * Plans a take of the VM configured {@code config}: each attached VHD's top file is a layer and
     * gets a new file made on it; a pass-through disk is left out with a warning, DVD drives stay.
     */
    private void plan(VmConfiguration config, Map<Slot, Path> layers, Map<Slot, Path> made, List<String> warnings) {
        for (Attachment a : config.attachments()) {
            if (a.kind() == Attachment.Kind.PASS_THROUGH) {
                warnings.add("the pass-through disk " + a.path() + " at " + a.slot()
                        + " is not in the snapshot: a pass-through disk cannot be snapshotted");
            } else if (a.kind() == Attachment.Kind.DISK) {
                layers.put(a.slot(), a.path());
                made.put(a.slot(), folder.newFileFor(a.path()));
            }
        }
    }

    /** Makes the differencing disk {@code file} on {@code layer}, forced to disk. */
    private void makeLayerFile(Path file, Path layer) throws IOException {
        try (VhdDisk d = Vhd.create(file, CreateOptions.differencing(layer))) {
            d.flush();
        }
        folder.reached("take: created " + file.getFileName());
    }

    /**
     * A take of a Running or Paused VM whose worker process snapshots live (a real guest): the VM
     * pauses the guest, the take is recorded, the VM writes the guest's saved state into the node's
     * folder, its process flushes and closes the disks, the new files are made as for a stopped VM,
     * the process serves them in place of the old ones (the guest does not notice), the VM's
     * configuration names them (the commit point, as for a stopped VM), the take is recorded as done
     * and the guest runs on, in the same process. A crash at any step leaves what recovery completes
     * (the configuration names the new files) or rolls back (it does not: the new files and saved
     * state are deleted and the old top files, flushed and never written since, are the disks again).
     */
    private Snapshots.Result takeLive(String name) throws VmException {
        List<String> warnings = new ArrayList<>();
        VmConfiguration config = folder.vm.configuration();
        UUID id = UUID.randomUUID();
        TreeMap<Slot, Path> layers = new TreeMap<>();
        Map<Slot, Path> made = new TreeMap<>();
        plan(config, layers, made, warnings);
        Snapshot node = new Snapshot(id, name, Instant.now(), Optional.ofNullable(folder.tree.now), config, layers, true);
        Path dir = folder.stateDir(id);
        try {
            folder.vm.snapshotLive(dir, withDisks(config, made), new VirtualMachine.LiveSnapshot() {
                @Override
                public void paused() throws IOException {
                    folder.tree.pending = new TreeState.Pending(TreeState.Op.TAKE, node, made);
                    made.forEach((slot, file) -> folder.tree.files.put(file, layers.get(slot)));
                    folder.write();
                    folder.reached("take: recorded");
                    Files.createDirectories(dir);
                }

                @Override
                public void makeFiles() throws IOException {
                    folder.reached("take: saved state written");
                    for (Map.Entry<Slot, Path> e : made.entrySet()) {
                        makeLayerFile(e.getValue(), layers.get(e.getKey()));
                    }
                }

                @Override
                public void committed() throws IOException {
                    folder.reached("take: disks switched");
                    recovery.finishTake(node);
                    folder.reached("take: done");
                }
            });
        } catch (VmException e) {
            throw recovery.rollBackAfter(e);
        }
        return new Snapshots.Result(Optional.of(node), warnings);
    }

    private Snapshots.Result takeStopped(String name) throws VmException {
        List<String> warnings = new ArrayList<>();
        VmConfiguration config = folder.vm.configuration();
        boolean saved = folder.vm.state() == VmState.SAVED;
        UUID id = UUID.randomUUID();
        TreeMap<Slot, Path> layers = new TreeMap<>();
        Map<Slot, Path> made = new TreeMap<>();
        plan(config, layers, made, warnings);
        Snapshot node = new Snapshot(id, name, Instant.now(), Optional.ofNullable(folder.tree.now), config, layers, saved);
        try {
            folder.tree.pending = new TreeState.Pending(TreeState.Op.TAKE, node, made);
            made.forEach((slot, file) -> folder.tree.files.put(file, layers.get(slot)));
            folder.write();
            folder.reached("take: recorded");
            if (saved) {
                Path dir = folder.stateDir(id);
                Files.createDirectories(dir);
                folder.vm.copySavedStateTo(dir);
                folder.reached("take: saved state copied");
            }
            for (Map.Entry<Slot, Path> e : made.entrySet()) {
                makeLayerFile(e.getValue(), layers.get(e.getKey()));
            }
            folder.vm.switchDisks(withDisks(config, made));
            folder.reached("take: disks switched");
            recovery.finishTake(node);
            folder.reached("take: done");
        } catch (VmException e) {
            throw recovery.rollBackAfter(e);
        } catch (IOException e) {
            throw recovery.rollBackAfter(folder.fail("cannot snapshot", e));
        }
        return new Snapshots.Result(Optional.of(node), warnings);
    }

    private static VmConfiguration withDisks(VmConfiguration c, Map<Slot, Path> disks) {
        List<Attachment> list = new ArrayList<>();
        for (Attachment a : c.attachments()) {
            Path p = a.kind() == Attachment.Kind.DISK ? disks.get(a.slot()) : null;
            list.add(p == null ? a : new Attachment(a.slot(), a.kind(), p, a.readOnly()));
        }
        return new VmConfiguration(c.name(), c.id(), c.memoryBytes(), c.processors(), c.integrationComponents(), list,
                c.bootOrder(), c.engine());
    }

    // ---- apply ----

    /** See {@link Snapshots#apply}. */
    Snapshots.Result apply(String idOrName, boolean snapshotFirst) throws VmException {
        Snapshot target = queries.resolve(idOrName);
        List<String> warnings = new ArrayList<>();
        if (snapshotFirst) {
            warnings.addAll(take(null).warnings());
        }
        VmState state = folder.vm.state();
        if (state == VmState.RUNNING || state == VmState.PAUSED) {
            folder.vm.turnOff();
        }
        Map<Slot, Path> made = new TreeMap<>();
        target.layers().forEach((slot, layer) -> made.put(slot, folder.newFileFor(layer)));
        try {
            folder.tree.pending = new TreeState.Pending(TreeState.Op.APPLY, target, made);
            made.forEach((slot, file) -> folder.tree.files.put(file, target.layers().get(slot)));
            folder.write();
            folder.reached("apply: recorded");
            for (Map.Entry<Slot, Path> e : made.entrySet()) {
                try (VhdDisk d = Vhd.create(e.getValue(), CreateOptions.differencing(target.layers().get(e.getKey())))) {
                    d.flush();
                }
                folder.reached("apply: created " + e.getValue().getFileName());
            }
            folder.vm.restoreState(appliedConfiguration(target, made), folder.savedStateOf(target));
            folder.reached("apply: state restored");
            recovery.finishApply(target);
            folder.reached("apply: done");
            collapse.run(warnings);
        } catch (VmException e) {
            throw recovery.rollBackAfter(e);
        } catch (IOException e) {
            throw recovery.rollBackAfter(folder.fail("cannot apply '" + target.name() + "'", e));
        }
        return new Snapshots.Result(Optional.of(folder.tree.nodes.get(target.id())), warnings);
    }

    /** See {@link Snapshots#revert}. */
    Snapshots.Result revert() throws VmException {
        if (folder.tree.now == null) {
            throw new SnapshotException("cannot revert '" + folder.vm.name() + "': it is not on a snapshot");
        }
        return apply(folder.tree.now.toString(), false);
    }

    private VmConfiguration appliedConfiguration(Snapshot target, Map<Slot, Path> made) {
        return withDisks(target.configuration().withName(folder.vm.name()), made);
    }

    // ---- delete, rename ----

    /** See {@link Snapshots#delete}. */
    Snapshots.Result delete(String idOrName, boolean subtree) throws VmException {
        Snapshot target = queries.resolve(idOrName);
        List<String> warnings = new ArrayList<>();
        Set<UUID> gone = new HashSet<>();
        gone.add(target.id());
        if (subtree) {
            List<Snapshot> below = new ArrayList<>();
            for (Snapshot c : queries.children(target.id())) {
                queries.walk(c, below);
            }
            below.forEach(s -> gone.add(s.id()));
        }
        Optional<UUID> above = target.parent();
        try {
            for (UUID id : gone) {
                folder.tree.nodes.remove(id);
            }
            for (Snapshot s : List.copyOf(folder.tree.nodes.values())) {
                if (s.parent().isPresent() && gone.contains(s.parent().get())) {
                    folder.tree.nodes.put(s.id(), s.withParent(above));
                }
            }
            if (folder.tree.now != null && gone.contains(folder.tree.now)) {
                folder.tree.now = above.orElse(null);
            }
            folder.write();
            folder.reached("delete: recorded");
            for (UUID id : gone) {
                SnapshotFolder.deleteTree(folder.stateDir(id));
            }
            collapse.run(warnings);
        } catch (VmException e) {
            throw e;
        } catch (IOException e) {
            throw folder.fail("cannot delete '" + target.name() + "'", e);
        }
        return new Snapshots.Result(Optional.empty(), warnings);
    }

    /** See {@link Snapshots#rename}; {@code newName} is already checked. */
    Snapshots.Result rename(String idOrName, String newName) throws VmException {
        Snapshot s = queries.resolve(idOrName).withName(newName);
        folder.tree.nodes.put(s.id(), s);
        try {
            folder.write();
        } catch (IOException e) {
            throw folder.fail("cannot rename '" + idOrName + "'", e);
        }
        return new Snapshots.Result(Optional.of(s), List.of());
    }

    // ---- export ----

    /** See {@link Snapshots#export}. */
    Map<Slot, Path> export(String idOrName, Path target) throws VmException {
        Snapshot s = queries.resolve(idOrName);
        Map<Slot, Path> out = new TreeMap<>();
        String stem = s.name().replaceAll("[^A-Za-z0-9._-]+", "_");
        try {
            for (Map.Entry<Slot, Path> e : s.layers().entrySet()) {
                Path file = target.resolve(stem + "-" + e.getKey().toString().replace(':', '_') + ".vhd");
                try (VirtualDisk source = Conversion.openSource(e.getValue())) {
                    Conversion.convert(source, file, ConvertOptions.to(ImageType.DYNAMIC), ProgressListener.NONE);
                }
                out.put(e.getKey(), file);
            }
        } catch (IOException e) {
            throw folder.fail("cannot export '" + s.name() + "' to " + target, e);
        }
        return out;
    }
}
