package org.vhdkit.stack.snapshot;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.vhdkit.stack.vm.VmState;

/**
 * Questions about one VM's tree, answered from its state: the nodes in order, a node by id or name,
 * where Now sits, and of the files the tree made, which are chained, depended on, pinned or open.
 *
 * <p>Not thread-safe: {@link Snapshots} calls it under its guard.
 */
final class TreeQueries {
    private final SnapshotFolder f;

    TreeQueries(SnapshotFolder folder) {
        this.f = folder;
    }

    /** Every snapshot, parents before children, siblings oldest first. */
    List<Snapshot> list() {
        List<Snapshot> out = new ArrayList<>();
        for (Snapshot root : children(null)) {
            walk(root, out);
        }
        return out;
    }

    /** {@code s} and every node under it, in the order of {@link #list}, added to {@code out}. */
    void walk(Snapshot s, List<Snapshot> out) {
        out.add(s);
        for (Snapshot c : children(s.id())) {
            walk(c, out);
        }
    }

    /** The nodes under {@code parent} (the roots for null), oldest first. */
    List<Snapshot> children(UUID parent) {
        return f.tree.nodes.values().stream().filter(s -> Objects.equals(s.parent().orElse(null), parent))
                .sorted(Comparator.comparing(Snapshot::created).thenComparing(Snapshot::id)).toList();
    }

    /** The node "Now" sits on, if any. */
    Optional<Snapshot> now() {
        return Optional.ofNullable(f.tree.now).map(f.tree.nodes::get);
    }

    /** The tree as data, at this instant. */
    SnapshotTree tree() {
        return new SnapshotTree(f.vm.name(), list(), Optional.ofNullable(f.tree.now));
    }

    /** The snapshot with this id, or else the one named so (refused when none, or several, are). */
    Snapshot resolve(String idOrName) throws SnapshotException {
        try {
            Snapshot s = f.tree.nodes.get(UUID.fromString(idOrName));
            if (s != null) {
                return s;
            }
        } catch (IllegalArgumentException notAnId) {
            // a name
        }
        List<Snapshot> named = f.tree.nodes.values().stream().filter(s -> s.name().equals(idOrName)).toList();
        if (named.isEmpty()) {
            throw new SnapshotException("'" + f.vm.name() + "' has no snapshot named '" + idOrName + "'");
        }
        if (named.size() > 1) {
            throw new SnapshotException("'" + f.vm.name() + "' has " + named.size() + " snapshots named '" + idOrName
                    + "'; give the id of one: " + named.stream().map(s -> s.id().toString()).toList());
        }
        return named.getFirst();
    }

    /** {@code file} and the files of the tree it is made on, down to a file the tree did not make. */
    List<Path> chain(Path file) {
        List<Path> out = new ArrayList<>();
        for (Path p = file; p != null && out.size() <= f.tree.files.size(); p = f.tree.files.get(p)) {
            out.add(p);
        }
        return out;
    }

    /** The files the tree made on {@code file}. */
    List<Path> dependents(Path file) {
        return f.tree.files.entrySet().stream().filter(e -> e.getValue().equals(file)).map(Map.Entry::getKey).toList();
    }

    /** The files a node names as a layer, the VM's configuration attaches or the operation under way makes. */
    Set<Path> pinned() {
        Set<Path> pins = new HashSet<>(f.configured());
        f.tree.nodes.values().forEach(s -> pins.addAll(s.layers().values()));
        if (f.tree.pending != null) {
            pins.addAll(f.tree.pending.newFiles().values());
        }
        return pins;
    }

    /** The files a Running or Paused VM holds open: its disks and the chains under them. */
    Set<Path> inUse() {
        VmState state = f.vm.state();
        Set<Path> open = new HashSet<>();
        if (state == VmState.OFF || state == VmState.SAVED) {
            return open;
        }
        for (Path p : f.configured()) {
            open.addAll(chain(p));
        }
        return open;
    }
}
