package org.vhdkit.stack.snapshot;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.edit.ImageEdits;
import org.vhdkit.vhd.edit.RebaseMode;
import org.vhdkit.vhd.io.FolderEvents;

/**
 * Deletes or merges every unpinned file the tree made, until none can be; see {@link Snapshots} for
 * when a file is pinned and how it is merged into its one dependent. Restartable after a crash: the
 * merges are recomputed from the tree, a rebase already done is seen and not redone, and a file is
 * deleted only after the tree stops naming it.
 *
 * <p>Not thread-safe: {@link Snapshots} calls it under its guard.
 */
final class Collapse {
    private final SnapshotFolder f;
    private final TreeQueries queries;

    Collapse(SnapshotFolder folder, TreeQueries queries) {
        this.f = folder;
        this.queries = queries;
    }

    /** Collapses what it can; what must wait for the VM to stop is added to {@code warnings}. */
    void run(List<String> warnings) throws IOException {
        boolean changed = true;
        while (changed) {
            changed = false;
            Set<Path> pins = queries.pinned();
            Set<Path> open = queries.inUse();
            for (Path file : List.copyOf(f.tree.files.keySet())) {
                if (pins.contains(file)) {
                    continue;
                }
                List<Path> deps = queries.dependents(file);
                if (deps.size() > 1) {
                    continue;
                }
                if (open.contains(file) || (deps.size() == 1 && open.contains(deps.getFirst()))) {
                    warnings.add("merging " + file + " waits until '" + f.vm.name() + "' is off or saved: the running VM uses it");
                    continue;
                }
                Path parent = f.tree.files.get(file);
                if (deps.size() == 1 && (!Files.exists(file) || !Files.exists(deps.getFirst()))) {
                    continue; // a file is gone: nothing to merge from or into; check reports it
                }
                if (deps.size() == 1) {
                    Path child = deps.getFirst();
                    if (!linkedTo(child, parent)) {
                        ImageEdits.rebase(child, parent, RebaseMode.SAFE, f.rebaseProgress());
                    }
                    f.reached("merge: rebased " + child.getFileName());
                    f.tree.files.put(child, parent);
                }
                f.tree.files.remove(file);
                f.write();
                f.reached("merge: recorded " + file.getFileName());
                FolderEvents.deleting(file);
                Files.deleteIfExists(file);
                changed = true;
                break;
            }
        }
    }

    /** Whether the differencing disk {@code child} is already linked to {@code parent} (a rebase done before a crash). */
    private static boolean linkedTo(Path child, Path parent) throws IOException {
        UUID link;
        try (VhdDisk c = Vhd.open(child, OpenOptions.READ_ONLY.withoutParent())) {
            link = c.dynamicHeader().orElseThrow().parentUuid();
        }
        try (VhdDisk p = Vhd.open(parent, OpenOptions.READ_ONLY.withoutParent())) {
            return p.footer().uniqueId().equals(link);
        }
    }
}
