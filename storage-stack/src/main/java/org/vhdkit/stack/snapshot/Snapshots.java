package org.vhdkit.stack.snapshot;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.WeakHashMap;
import org.vhdkit.stack.vm.HyperVLimits;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmException;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.edit.ImageEdits;
import org.vhdkit.vhd.edit.RebaseMode;

/**
 * The snapshot tree of one VM: the entry point of this package. {@link #of} gives the tree of a VM
 * (one object per VM; it recovers an operation a crash cut short when first opened).
 *
 * <h2>The model</h2>
 * Each {@link Snapshot} holds, per attached VHD, its <em>layer</em>: the file that was on top of the
 * disk's chain when it was taken, frozen from then on. Taking a snapshot freezes every attached VHD's
 * top file and puts a new differencing disk (an AVHD file) on it under the VM; "Now" is the node the
 * VM's current disks were made on. Applying a node puts new differencing disks on its layers (what
 * the VM wrote since is discarded); new snapshots from there make a new branch. Pass-through disks
 * are not snapshotted (the result warns); DVD drives are kept as configured.
 *
 * <p>The tree also records every AVHD file it made with the file it is a differencing disk of. A
 * made file is <em>pinned</em> while a node names it as a layer, the VM's configuration attaches it
 * or an operation under way makes it. An unpinned file is <em>collapsed</em> after every change:
 * with no file made on it, it is deleted; with exactly one (its <em>dependent</em>), it is merged
 * into that one by a safe rebase ({@link ImageEdits#rebase} with {@link RebaseMode#SAFE}: the
 * dependent takes in every sector it shows through this file, then is relinked to this file's
 * parent) and then deleted; with two or more it stays until fewer depend on it. This is how
 * deleting a snapshot merges its layer into the one layer that depends on it, as Hyper-V merges a
 * snapshot's AVHD into its child. The dependent's path and identity never change, so no other node,
 * file or the VM's configuration has to be rewritten. Files the tree did not make (the VM's base
 * VHDs) are never written, merged or deleted. A collapse that would rewrite a file the running VM
 * holds open waits (reported by {@link #check} as a merge pending) until the VM is Off or Saved.
 *
 * <h2>Files, in the VM's folder</h2>
 * <pre>
 *   snapshots.json                  the tree (nodes, Now, the files made, the operation under way)
 *   STEM_UUID.avhd                  the differencing disks made, STEM the base VHD's name
 *   snapshots/ID/                   a snapshot's saved state (memory.bin, devices.vsv, saved-state.json)
 * </pre>
 *
 * <h2>Crash consistency</h2>
 * {@code snapshots.json} is replaced atomically. Take and apply first record themselves as under
 * way, with the files they will make, then make the files, then switch the VM's configuration (the
 * commit point, itself an atomic write), then record the result. A live take (a running real guest)
 * keeps that order: recorded first, the node's saved state and the new files written before the
 * configuration names them; its old top files were flushed and closed before the new files were
 * made on them and are never written again, so a rolled-back take leaves the VM on them with every
 * write its guest had made. On open an operation under way is
 * completed when the configuration already names its files and rolled back (its new files and saved
 * state deleted) otherwise. A delete removes the nodes in one write; the merges that follow are
 * collapses, recomputed from the tree after a crash and restartable (a rebase is idempotent; a file is
 * deleted only after the tree stops naming it). A crash can leave files the tree no longer names:
 * {@link #check} reports them and {@link #repair} deletes them.
 *
 * <p>Thread-safety: every method may be called from any thread; operations on one VM's tree are
 * serialized by its monitor {@code guard}, which guards the tree state. Two hypervisors never share
 * a VM folder (the hypervisor's lock), so no other process writes the tree.
 *
 * <h2>Inside</h2>
 * This class holds the guard and hands each job to a class of its own, all sharing one
 * {@link SnapshotFolder} (the VM, its folder and the tree state): {@link TreeQueries} answers
 * questions about the tree, {@link TreeOperations} takes, applies, deletes, renames and exports,
 * {@link Recovery} keeps the crash journal, {@link Collapse} merges and deletes unpinned files and
 * {@link TreeCheck} checks and repairs. Showing the tree is left to the caller: {@link #tree} gives it
 * as data.
 */
public final class Snapshots {
    private static final System.Logger LOG = System.getLogger(Snapshots.class.getName());
    private static final Map<VirtualMachine, Snapshots> OPEN = new WeakHashMap<>(); // guarded by itself

    /** Where tests stop an operation to simulate a crash: called after each durable step with its name. */
    @FunctionalInterface
    interface Checkpoint {
        Checkpoint NONE = step -> { };

        void reached(String step) throws IOException;
    }

    /**
     * What an operation did.
     *
     * @param snapshot the snapshot taken, applied or renamed, if any
     * @param warnings what the user should know, one sentence each (pass-through disks skipped, merges
     *                 that wait for the VM to stop)
     */
    public record Result(Optional<Snapshot> snapshot, List<String> warnings) {
        public Result {
            Objects.requireNonNull(snapshot, "snapshot");
            warnings = List.copyOf(warnings);
        }
    }

    /**
     * What {@link #check} found or {@link #repair} did.
     *
     * @param problems what disagrees between the tree and the files, one line each
     * @param repairs  what the repair did, one line each (empty for a check)
     */
    public record CheckResult(List<String> problems, List<String> repairs) {
        public CheckResult {
            problems = List.copyOf(problems);
            repairs = List.copyOf(repairs);
        }

        public boolean consistent() {
            return problems.isEmpty();
        }
    }

    private final Object guard = new Object();
    private final SnapshotFolder folder; // guarded by guard, as are the jobs below
    private final TreeQueries queries;
    private final Recovery recovery;
    private final Collapse collapse;
    private final TreeOperations operations;
    private final TreeCheck checks;

    private Snapshots(VirtualMachine vm) {
        this.folder = new SnapshotFolder(vm);
        this.queries = new TreeQueries(folder);
        this.recovery = new Recovery(folder);
        this.collapse = new Collapse(folder, queries);
        this.operations = new TreeOperations(folder, queries, recovery, collapse);
        this.checks = new TreeCheck(folder, queries, recovery, collapse);
    }

    /**
     * The snapshot tree of {@code vm}, read from its folder; the same object for the same VM. On the
     * first call an operation a crash cut short is completed or rolled back, and unpinned files
     * collapsed. Thread-safe.
     */
    public static Snapshots of(VirtualMachine vm) throws VmException {
        Objects.requireNonNull(vm, "vm");
        synchronized (OPEN) {
            Snapshots s = OPEN.get(vm);
            if (s == null) {
                s = new Snapshots(vm);
                synchronized (s.guard) {
                    s.load();
                }
                OPEN.put(vm, s);
            }
            return s;
        }
    }

    void checkpoint(Checkpoint hook) {
        folder.checkpoint = hook;
    }

    private void load() throws VmException {
        try {
            folder.reread();
            recovery.recover(new ArrayList<>());
        } catch (VmException e) {
            throw e;
        } catch (IOException e) {
            throw folder.fail("cannot open the snapshot tree", e);
        }
        try {
            collapse.run(new ArrayList<>());
        } catch (IOException | RuntimeException e) { // left for check and repair to report
            LOG.log(Level.WARNING, "''{0}'': a merge of the snapshot tree failed: {1}", folder.vm.name(), e.getMessage());
        }
    }

    // ---- reading ----

    /** Every snapshot, parents before children, siblings oldest first. Thread-safe. */
    public List<Snapshot> list() {
        synchronized (guard) {
            return queries.list();
        }
    }

    /** The node "Now" sits on, if any. Thread-safe. */
    public Optional<Snapshot> now() {
        synchronized (guard) {
            return queries.now();
        }
    }

    /**
     * The tree as data, read at one instant: every snapshot in the order of {@link #list} and the id
     * of the node "Now" sits on. Thread-safe.
     */
    public SnapshotTree tree() {
        synchronized (guard) {
            return queries.tree();
        }
    }

    /** The snapshot with this id, or else the one named so (refused when none, or several, are). Thread-safe. */
    public Snapshot find(String idOrName) throws SnapshotException {
        synchronized (guard) {
            return queries.resolve(idOrName);
        }
    }

    // ---- operations ----

    /**
     * Takes a snapshot named {@code name} (null for "NAME - (date time)", as Hyper-V names them).
     * Off: every attached VHD's top file is frozen as the node's layer and a new differencing disk
     * on it attached instead. Saved: the same, and the node keeps a copy of the saved state. Running
     * or Paused with a worker process that snapshots live (a real guest's qemu,
     * {@link VirtualMachine#snapshotsLive()}): the guest is paused, the take recorded, its memory and
     * device state written into the node's folder with the process alive, the process flushes and
     * closes the disks, the new differencing disks are made as for an Off VM and the process serves
     * them in place of the old files (the guest sees no change: same size, same identity, no event),
     * the configuration names them (the commit point) and the guest runs on (stays paused if it was),
     * in the same process. Running or Paused with guest programs in this process: the VM is saved
     * (paused, memory and device state written), snapshotted as Saved, and started again from its
     * saved state with the program it ran ({@link VirtualMachine#program()}), paused again if it was.
     * Either way the node holds the saved state, so applying it brings the VM back from that moment.
     * Refused beyond {@value HyperVLimits#MAX_SNAPSHOTS} snapshots, or while
     * the VM is in the middle of another operation. Thread-safe.
     */
    public Result take(String name) throws VmException {
        synchronized (guard) {
            return operations.take(name);
        }
    }

    /**
     * Applies the snapshot {@code idOrName}: the VM's disks become new differencing disks on its
     * layers, its configuration becomes the snapshot's (the VM keeps its current name), and a
     * snapshot with saved state leaves the VM Saved, to come back as it was when started; otherwise
     * it is Off. What the VM held since is discarded, unless {@code snapshotFirst}, which takes a
     * snapshot of it first. A Running or Paused VM is turned off first. Thread-safe.
     */
    public Result apply(String idOrName, boolean snapshotFirst) throws VmException {
        synchronized (guard) {
            return operations.apply(idOrName, snapshotFirst);
        }
    }

    /** Applies the snapshot "Now" sits on; refused when it sits on none. Thread-safe. */
    public Result revert() throws VmException {
        synchronized (guard) {
            return operations.revert();
        }
    }

    /**
     * Deletes the snapshot {@code idOrName}, or with {@code subtree} it and every snapshot under it.
     * Children of a deleted snapshot are re-pointed to its parent; "Now" moves to the nearest
     * surviving ancestor when it sat on a deleted node. What the VM and the other snapshots show
     * never changes: a layer some other file still depends on is merged into it (or kept while two
     * or more do), others are deleted; see the class comment. Allowed in any state; merges into a
     * file the running VM holds wait until it is Off or Saved (the result warns). Thread-safe.
     */
    public Result delete(String idOrName, boolean subtree) throws VmException {
        synchronized (guard) {
            return operations.delete(idOrName, subtree);
        }
    }

    /** Renames the snapshot {@code idOrName}. Thread-safe. */
    public Result rename(String idOrName, String newName) throws VmException {
        Objects.requireNonNull(newName, "newName");
        if (newName.isBlank() || newName.chars().anyMatch(Character::isISOControl)) {
            throw new SnapshotException("'" + newName + "' is not a snapshot name: give some text without control characters");
        }
        synchronized (guard) {
            return operations.rename(idOrName, newName);
        }
    }

    /**
     * Writes a standalone dynamic VHD per disk of the snapshot {@code idOrName} into {@code target}
     * (an existing folder), each with the content of that disk when the snapshot was taken (its chain
     * flattened), named {@code SNAPSHOT-SLOT.vhd}; returns them by slot. Refused if one exists. The
     * layers are only read, so this works while the VM runs. Thread-safe.
     */
    public Map<Slot, Path> export(String idOrName, Path target) throws VmException {
        synchronized (guard) {
            return operations.export(idOrName, target);
        }
    }

    // ---- check and repair ----

    /** Reports where the tree and the files disagree, changing nothing. Thread-safe. */
    public CheckResult check() {
        synchronized (guard) {
            return checks.check();
        }
    }

    /**
     * Makes the tree and the files agree: completes or rolls back an operation under way, does the
     * merges that waited, deletes AVHD files and saved states the tree does not name, drops
     * snapshots whose layers are gone (their content is lost; each is reported), and makes a
     * snapshot whose saved state is gone one of a VM that was off (its disks kept). Thread-safe.
     */
    public CheckResult repair() throws VmException {
        synchronized (guard) {
            return checks.repair();
        }
    }

    @Override
    public String toString() {
        synchronized (guard) {
            return "Snapshots[" + folder.vm.name() + ", " + folder.tree.nodes.size() + " snapshots]";
        }
    }
}
