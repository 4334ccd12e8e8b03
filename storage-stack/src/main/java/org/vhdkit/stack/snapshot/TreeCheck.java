package org.vhdkit.stack.snapshot;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import org.vhdkit.stack.vm.VmException;
import org.vhdkit.vhd.io.FolderEvents;

/**
 * Check and repair of one VM's tree: where the tree and the files in the folder disagree, and how
 * they are made to agree again.
 *
 * <p>Not thread-safe: {@link Snapshots} calls it under its guard.
 */
record TreeCheck(SnapshotFolder folder, TreeQueries queries, Recovery recovery, Collapse collapse) {
    /** Reports where the tree and the files disagree, changing nothing. */
    Snapshots.CheckResult check() {
        return new Snapshots.CheckResult(problems(), List.of());
    }

    /** See {@link Snapshots#repair}. */
    Snapshots.CheckResult repair() throws VmException {
        List<String> repairs = new ArrayList<>();
        try {
            recovery.recover(repairs);
            dropLost(repairs);
            collapse.run(repairs);
            for (Path orphan : orphanFiles()) {
                FolderEvents.deleting(orphan);
                Files.deleteIfExists(orphan);
                repairs.add("deleted " + orphan + ": no snapshot, disk or file of the tree uses it");
            }
            for (Path dir : orphanStates()) {
                SnapshotFolder.deleteTree(dir);
                repairs.add("deleted " + dir + ": the saved state of no snapshot");
            }
        } catch (VmException e) {
            throw e;
        } catch (IOException e) {
            throw folder.fail("cannot repair the snapshot tree", e);
        }
        return new Snapshots.CheckResult(problems(), repairs);
    }

    private List<String> problems() {
        List<String> p = new ArrayList<>();
        TreeState tree = folder.tree;
        if (tree.pending != null) {
            p.add("an interrupted " + tree.pending.op().name().toLowerCase(Locale.ROOT) + " of '"
                    + tree.pending.node().name() + "' is recorded");
        }
        for (Snapshot s : tree.nodes.values()) {
            for (Path layer : s.layers().values()) {
                for (Path file : queries.chain(layer)) {
                    if (!Files.exists(file)) {
                        p.add("snapshot '" + s.name() + "' (" + s.id() + "): layer " + file + " is missing");
                    }
                }
            }
            if (s.savedState() && !Files.exists(folder.stateDir(s.id()).resolve("saved-state.json"))) {
                p.add("snapshot '" + s.name() + "' (" + s.id() + "): its saved state is missing");
            }
        }
        for (Path file : tree.files.keySet()) {
            if (!Files.exists(file)) {
                p.add("file " + file + " of the tree is missing");
            } else if (!queries.pinned().contains(file) && queries.dependents(file).size() <= 1) {
                p.add("merge pending: " + file + " is used by no snapshot and waits to be merged or deleted");
            }
        }
        if (tree.now != null && !tree.nodes.containsKey(tree.now)) {
            p.add("Now sits on " + tree.now + ", which is not in the tree");
        }
        try {
            for (Path file : orphanFiles()) {
                p.add("orphan AVHD file " + file + ": no snapshot, disk or file of the tree uses it");
            }
            for (Path d : orphanStates()) {
                p.add("orphan saved state " + d);
            }
        } catch (IOException e) {
            p.add("cannot list " + folder.folder + ": " + e.getMessage());
        }
        return p;
    }

    private void dropLost(List<String> repairs) throws IOException {
        TreeState tree = folder.tree;
        boolean changed = false;
        for (Snapshot s : List.copyOf(tree.nodes.values())) {
            boolean lost = s.layers().values().stream().flatMap(l -> queries.chain(l).stream())
                    .anyMatch(file -> !Files.exists(file));
            if (lost) {
                tree.nodes.remove(s.id());
                for (Snapshot c : List.copyOf(tree.nodes.values())) {
                    if (c.parent().equals(Optional.of(s.id()))) {
                        tree.nodes.put(c.id(), c.withParent(s.parent()));
                    }
                }
                if (s.id().equals(tree.now)) {
                    tree.now = s.parent().orElse(null);
                }
                repairs.add("dropped snapshot '" + s.name() + "' (" + s.id() + "): a file of its disks is gone");
                changed = true;
            }
        }
        for (Snapshot s : List.copyOf(tree.nodes.values())) {
            if (s.savedState() && !Files.exists(folder.stateDir(s.id()).resolve("saved-state.json"))) {
                // Its disks are intact: keep them, as a snapshot of a VM that was off.
                tree.nodes.put(s.id(), s.withoutSavedState());
                repairs.add("snapshot '" + s.name() + "' (" + s.id() + ") lost its saved state: it keeps its disks,"
                        + " and applying it now leaves the VM off");
                changed = true;
            }
        }
        for (Path file : List.copyOf(tree.files.keySet())) {
            if (!Files.exists(file) && !queries.pinned().contains(file)) {
                tree.files.remove(file);
                repairs.add("forgot " + file + ": it is gone and nothing uses it");
                changed = true;
            }
        }
        if (tree.now != null && !tree.nodes.containsKey(tree.now)) {
            tree.now = null;
            changed = true;
        }
        if (changed) {
            folder.write();
        }
    }

    private List<Path> orphanFiles() throws IOException {
        List<Path> out = new ArrayList<>();
        Set<Path> known = new HashSet<>(folder.tree.files.keySet());
        known.addAll(folder.configured());
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(folder.folder, "*.avhd")) {
            for (Path p : ds) {
                if (SnapshotFolder.isMadeName(p.getFileName().toString()) && !known.contains(p)) {
                    out.add(p);
                }
            }
        }
        out.sort(Comparator.naturalOrder());
        return out;
    }

    private List<Path> orphanStates() throws IOException {
        List<Path> out = new ArrayList<>();
        Path states = folder.folder.resolve(SnapshotFolder.STATES);
        if (!Files.isDirectory(states)) {
            return out;
        }
        Set<String> wanted = new HashSet<>();
        folder.tree.nodes.values().stream().filter(Snapshot::savedState).forEach(s -> wanted.add(s.id().toString()));
        if (folder.tree.pending != null && folder.tree.pending.op() == TreeState.Op.TAKE) {
            wanted.add(folder.tree.pending.node().id().toString());
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(states)) {
            for (Path p : ds) {
                if (!wanted.contains(p.getFileName().toString())) {
                    out.add(p);
                }
            }
        }
        return out;
    }
}
