package org.vhdkit.stack.snapshot;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.vhdkit.stack.vm.VmException;
import org.vhdkit.stack.vm.VmState;
import org.vhdkit.vhd.io.FolderEvents;

/**
 * The crash journal of one VM's tree: the operation under way recorded in {@code snapshots.json}
 * ({@link TreeState.Pending}), finished when it commits, and completed or rolled back when a crash
 * (or a failure in this process) cut it short; see {@link Snapshots} for the protocol.
 *
 * <p>Not thread-safe: {@link Snapshots} calls it under its guard.
 */
final class Recovery {
    private static final System.Logger LOG = System.getLogger(Snapshots.class.getName());

    private final SnapshotFolder f;

    Recovery(SnapshotFolder folder) {
        this.f = folder;
    }

    /** Completes (when the VM's configuration already names its files) or rolls back the operation under way. */
    void recover(List<String> log) throws IOException {
        TreeState.Pending p = f.tree.pending;
        if (p == null) {
            return;
        }
        Set<Path> configured = new HashSet<>(f.configured());
        boolean committed = configured.containsAll(p.newFiles().values());
        String what = p.op().name().toLowerCase(Locale.ROOT) + " of '" + p.node().name() + "'";
        if (committed) {
            if (p.op() == TreeState.Op.TAKE) {
                finishTake(p.node());
            } else {
                VmState state = f.vm.state();
                if (p.node().savedState() && state == VmState.OFF) {
                    f.vm.restoreState(f.vm.configuration(), f.savedStateOf(p.node()));
                }
                finishApply(p.node());
            }
            log.add("completed the interrupted " + what);
        } else {
            for (Path file : p.newFiles().values()) {
                f.tree.files.remove(file);
            }
            f.tree.pending = null;
            f.write();
            for (Path file : p.newFiles().values()) {
                FolderEvents.deleting(file);
                Files.deleteIfExists(file);
            }
            if (p.op() == TreeState.Op.TAKE) {
                SnapshotFolder.deleteTree(f.stateDir(p.node().id()));
            }
            log.add("rolled back the interrupted " + what);
        }
        LOG.log(Level.INFO, "''{0}'': {1}", f.vm.name(), log.getLast());
    }

    /** Records a take as done: the node in the tree, Now on it, nothing under way. */
    void finishTake(Snapshot node) throws IOException {
        f.tree.nodes.put(node.id(), node);
        f.tree.now = node.id();
        f.tree.pending = null;
        f.write();
    }

    /** Records an apply as done: Now on its node, nothing under way. */
    void finishApply(Snapshot target) throws IOException {
        f.tree.now = target.id();
        f.tree.pending = null;
        f.write();
    }

    /** After a failed take or apply in this process: put things back as recovery would after a crash. */
    VmException rollBackAfter(VmException e) {
        try {
            f.reread();
            recover(new ArrayList<>());
        } catch (IOException | RuntimeException undo) {
            e.addSuppressed(undo);
        }
        return e;
    }
}
