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
import org.vhdkit.stack.vm.VmConfiguration;
import org.vhdkit.stack.vm.VmException;
import org.vhdkit.stack.vm.VmState;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.VirtualDisk;
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
final class TreeOperations {
    private final SnapshotFolder f;
    private final TreeQueries queries;
    private final Recovery recovery;
    private final Collapse collapse;

    TreeOperations(SnapshotFolder folder, TreeQueries queries, Recovery recovery, Collapse collapse) {
        this.f = folder;
        this.queries = queries;
        this.recovery = recovery;
        this.collapse = collapse;
    }

    // ---- take ----

    /** See {@link Snapshots#take}. */
    Snapshots.Result take(String name) throws VmException {
        if (f.tree.nodes.size() >= HyperVLimits.MAX_SNAPSHOTS) {
            throw new SnapshotException("cannot snapshot '" + f.vm.name() + "': it has "
                    + HyperVLimits.MAX_SNAPSHOTS + " snapshots, the most a VM may have; delete some first");
        }
        VmState state = f.vm.state();
        boolean running = state == VmState.RUNNING || state == VmState.PAUSED;
        GuestProgram program = null;
        if (running) {
            program = f.vm.program().orElseThrow(() -> new SnapshotException("cannot snapshot '" + f.vm.name()
                    + "': its guest program is unknown"));
            f.vm.save();
        } else if (state != VmState.OFF && state != VmState.SAVED) {
            throw new SnapshotException("cannot snapshot '" + f.vm.name() + "': it is " + state);
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
        f.vm.start(program);
        if (was == VmState.PAUSED) {
            f.vm.pause();
        }
    }

    private String defaultName() {
        return f.vm.name() + " - (" + DateTimeFormatter.ofPattern("yyyy-MM-dd - HH:mm:ss")
                .withZone(ZoneId.systemDefault()).format(Instant.now()) + ")";
    }

    private Snapshots.Result takeStopped(String name) throws VmException {
        List<String> warnings = new ArrayList<>();
        VmConfiguration config = f.vm.configuration();
        boolean saved = f.vm.state() == VmState.SAVED;
        UUID id = UUID.randomUUID();
        TreeMap<Slot, Path> layers = new TreeMap<>();
        Map<Slot, Path> made = new TreeMap<>();
        for (Attachment a : config.attachments()) {
            if (a.kind() == Attachment.Kind.PASS_THROUGH) {
                warnings.add("the pass-through disk " + a.path() + " at " + a.slot()
                        + " is not in the snapshot: a pass-through disk cannot be snapshotted");
            } else if (a.kind() == Attachment.Kind.DISK) {
                layers.put(a.slot(), a.path());
                made.put(a.slot(), f.newFileFor(a.path()));
            }
        }
        Snapshot node = new Snapshot(id, name, Instant.now(), Optional.ofNullable(f.tree.now), config, layers, saved);
        try {
            f.tree.pending = new TreeState.Pending(TreeState.Op.TAKE, node, made);
            made.forEach((slot, file) -> f.tree.files.put(file, layers.get(slot)));
            f.write();
            f.reached("take: recorded");
            if (saved) {
                Path dir = f.stateDir(id);
                Files.createDirectories(dir);
                f.vm.copySavedStateTo(dir);
                f.reached("take: saved state copied");
            }
            for (Map.Entry<Slot, Path> e : made.entrySet()) {
                try (VhdDisk d = Vhd.create(e.getValue(), CreateOptions.differencing(layers.get(e.getKey())))) {
                    d.flush();
                }
                f.reached("take: created " + e.getValue().getFileName());
            }
            f.vm.switchDisks(withDisks(config, made));
            f.reached("take: disks switched");
            recovery.finishTake(node);
            f.reached("take: done");
        } catch (VmException e) {
            throw recovery.rollBackAfter(e);
        } catch (IOException e) {
            throw recovery.rollBackAfter(f.fail("cannot snapshot", e));
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
                c.bootOrder());
    }

    // ---- apply ----

    /** See {@link Snapshots#apply}. */
    Snapshots.Result apply(String idOrName, boolean snapshotFirst) throws VmException {
        Snapshot target = queries.resolve(idOrName);
        List<String> warnings = new ArrayList<>();
        if (snapshotFirst) {
            warnings.addAll(take(null).warnings());
        }
        VmState state = f.vm.state();
        if (state == VmState.RUNNING || state == VmState.PAUSED) {
            f.vm.turnOff();
        }
        Map<Slot, Path> made = new TreeMap<>();
        target.layers().forEach((slot, layer) -> made.put(slot, f.newFileFor(layer)));
        try {
            f.tree.pending = new TreeState.Pending(TreeState.Op.APPLY, target, made);
            made.forEach((slot, file) -> f.tree.files.put(file, target.layers().get(slot)));
            f.write();
            f.reached("apply: recorded");
            for (Map.Entry<Slot, Path> e : made.entrySet()) {
                try (VhdDisk d = Vhd.create(e.getValue(), CreateOptions.differencing(target.layers().get(e.getKey())))) {
                    d.flush();
                }
                f.reached("apply: created " + e.getValue().getFileName());
            }
            f.vm.restoreState(appliedConfiguration(target, made), f.savedStateOf(target));
            f.reached("apply: state restored");
            recovery.finishApply(target);
            f.reached("apply: done");
            collapse.run(warnings);
        } catch (VmException e) {
            throw recovery.rollBackAfter(e);
        } catch (IOException e) {
            throw recovery.rollBackAfter(f.fail("cannot apply '" + target.name() + "'", e));
        }
        return new Snapshots.Result(Optional.of(f.tree.nodes.get(target.id())), warnings);
    }

    /** See {@link Snapshots#revert}. */
    Snapshots.Result revert() throws VmException {
        if (f.tree.now == null) {
            throw new SnapshotException("cannot revert '" + f.vm.name() + "': it is not on a snapshot");
        }
        return apply(f.tree.now.toString(), false);
    }

    private VmConfiguration appliedConfiguration(Snapshot target, Map<Slot, Path> made) {
        return withDisks(target.configuration().withName(f.vm.name()), made);
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
                f.tree.nodes.remove(id);
            }
            for (Snapshot s : List.copyOf(f.tree.nodes.values())) {
                if (s.parent().isPresent() && gone.contains(s.parent().get())) {
                    f.tree.nodes.put(s.id(), s.withParent(above));
                }
            }
            if (f.tree.now != null && gone.contains(f.tree.now)) {
                f.tree.now = above.orElse(null);
            }
            f.write();
            f.reached("delete: recorded");
            for (UUID id : gone) {
                SnapshotFolder.deleteTree(f.stateDir(id));
            }
            collapse.run(warnings);
        } catch (VmException e) {
            throw e;
        } catch (IOException e) {
            throw f.fail("cannot delete '" + target.name() + "'", e);
        }
        return new Snapshots.Result(Optional.empty(), warnings);
    }

    /** See {@link Snapshots#rename}; {@code newName} is already checked. */
    Snapshots.Result rename(String idOrName, String newName) throws VmException {
        Snapshot s = queries.resolve(idOrName).withName(newName);
        f.tree.nodes.put(s.id(), s);
        try {
            f.write();
        } catch (IOException e) {
            throw f.fail("cannot rename '" + idOrName + "'", e);
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
            throw f.fail("cannot export '" + s.name() + "' to " + target, e);
        }
        return out;
    }
}
