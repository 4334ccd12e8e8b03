package org.vhdkit.stack.snapshot;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.WeakHashMap;
import java.util.regex.Pattern;
import org.vhdkit.stack.partition.GuestProgram;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.HyperVLimits;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmConfiguration;
import org.vhdkit.stack.vm.VmException;
import org.vhdkit.stack.vm.VmState;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.VirtualDisk;
import org.vhdkit.vhd.edit.ImageEdits;
import org.vhdkit.vhd.edit.RebaseMode;
import org.vhdkit.vhd.transform.Conversion;
import org.vhdkit.vhd.transform.ConvertOptions;
import org.vhdkit.vhd.transform.ImageType;

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
 * commit point, itself an atomic write), then record the result. On open an operation under way is
 * completed when the configuration already names its files and rolled back (its new files and saved
 * state deleted) otherwise. A delete removes the nodes in one write; the merges that follow are
 * collapses, recomputed from the tree after a crash and restartable (a rebase is idempotent; a file is
 * deleted only after the tree stops naming it). A crash can leave files the tree no longer names:
 * {@link #check} reports them and {@link #repair} deletes them.
 *
 * <p>Thread-safety: every method may be called from any thread; operations on one VM's tree are
 * serialized by its monitor {@code guard}, which guards the tree state. Two hypervisors never share
 * a VM folder (the hypervisor's lock), so no other process writes the tree.
 */
public final class Snapshots {
    private static final System.Logger LOG = System.getLogger(Snapshots.class.getName());
    private static final Map<VirtualMachine, Snapshots> OPEN = new WeakHashMap<>(); // guarded by itself
    private static final Pattern MADE = Pattern.compile(".*_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\\.avhd");
    static final String STATES = "snapshots";

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

    private final VirtualMachine vm;
    private final Path folder;
    private final Object guard = new Object();
    private TreeState tree; // guarded by guard
    private volatile Checkpoint checkpoint = Checkpoint.NONE;

    private Snapshots(VirtualMachine vm) {
        this.vm = vm;
        this.folder = vm.folder();
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

    static boolean isMadeName(String fileName) {
        return MADE.matcher(fileName).matches();
    }

    /**
     * A merge's copy as checkpoint steps ({@code "merge: rebasing DONE of TOTAL"}), so that a test can
     * stop inside it; nothing when no checkpoint is set. Progress cannot throw: an IOException from
     * the checkpoint goes out unchecked.
     */
    private ProgressListener rebaseProgress() {
        Checkpoint hook = checkpoint;
        if (hook == Checkpoint.NONE) {
            return ProgressListener.NONE;
        }
        return (done, total) -> {
            try {
                hook.reached("merge: rebasing " + done + " of " + total);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        };
    }

    void checkpoint(Checkpoint hook) {
        checkpoint = hook;
    }

    private void load() throws VmException {
        try {
            tree = TreeState.read(folder);
            recover(new ArrayList<>());
        } catch (VmException e) {
            throw e;
        } catch (IOException e) {
            throw fail("cannot open the snapshot tree", e);
        }
        try {
            collapse(new ArrayList<>());
        } catch (IOException | RuntimeException e) { // left for check and repair to report
            LOG.log(Level.WARNING, "''{0}'': a merge of the snapshot tree failed: {1}", vm.name(), e.getMessage());
        }
    }

    // ---- reading ----

    /** Every snapshot, parents before children, siblings oldest first. Thread-safe. */
    public List<Snapshot> list() {
        synchronized (guard) {
            List<Snapshot> out = new ArrayList<>();
            for (Snapshot root : children(null)) {
                walk(root, out);
            }
            return out;
        }
    }

    private void walk(Snapshot s, List<Snapshot> out) {
        out.add(s);
        for (Snapshot c : children(s.id())) {
            walk(c, out);
        }
    }

    private List<Snapshot> children(UUID parent) {
        return tree.nodes.values().stream().filter(s -> Objects.equals(s.parent().orElse(null), parent))
                .sorted(Comparator.comparing(Snapshot::created).thenComparing(Snapshot::id)).toList();
    }

    /** The node "Now" sits on, if any. Thread-safe. */
    public Optional<Snapshot> now() {
        synchronized (guard) {
            return Optional.ofNullable(tree.now).map(tree.nodes::get);
        }
    }

    /** The snapshot with this id, or else the one named so (refused when none, or several, are). Thread-safe. */
    public Snapshot find(String idOrName) throws SnapshotException {
        synchronized (guard) {
            return resolve(idOrName);
        }
    }

    private Snapshot resolve(String idOrName) throws SnapshotException {
        try {
            Snapshot s = tree.nodes.get(UUID.fromString(idOrName));
            if (s != null) {
                return s;
            }
        } catch (IllegalArgumentException notAnId) {
            // a name
        }
        List<Snapshot> named = tree.nodes.values().stream().filter(s -> s.name().equals(idOrName)).toList();
        if (named.isEmpty()) {
            throw new SnapshotException("'" + vm.name() + "' has no snapshot named '" + idOrName + "'");
        }
        if (named.size() > 1) {
            throw new SnapshotException("'" + vm.name() + "' has " + named.size() + " snapshots named '" + idOrName
                    + "'; give the id of one: " + named.stream().map(s -> s.id().toString()).toList());
        }
        return named.getFirst();
    }

    /** The tree as text, one snapshot a line, indented under its parent; "Now" marked. Thread-safe. */
    public String render() {
        synchronized (guard) {
            StringBuilder b = new StringBuilder();
            DateTimeFormatter time = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneId.systemDefault());
            for (Snapshot root : children(null)) {
                render(root, 0, b, time);
            }
            if (tree.now == null) {
                b.append("Now").append(tree.nodes.isEmpty() ? " (no snapshots)" : " (not on a snapshot)").append('\n');
            }
            return b.toString();
        }
    }

    private void render(Snapshot s, int depth, StringBuilder b, DateTimeFormatter time) {
        String indent = "  ".repeat(depth);
        b.append(indent).append(s.name()).append("  (").append(time.format(s.created()))
                .append(s.savedState() ? ", saved state" : "").append(", ").append(s.id()).append(")\n");
        for (Snapshot c : children(s.id())) {
            render(c, depth + 1, b, time);
        }
        if (s.id().equals(tree.now)) {
            b.append(indent).append("  Now\n");
        }
    }

    /** The tree as JSON: {@code {"vm", "now", "snapshots": [{id, name, created, parent, savedState, layers}]}}. Thread-safe. */
    public String toJson() {
        synchronized (guard) {
            var mapper = new com.fasterxml.jackson.databind.ObjectMapper();
            var root = mapper.createObjectNode();
            root.put("vm", vm.name());
            root.put("now", tree.now == null ? null : tree.now.toString());
            var arr = root.putArray("snapshots");
            for (Snapshot s : list()) {
                var n = arr.addObject();
                n.put("id", s.id().toString());
                n.put("name", s.name());
                n.put("created", s.created().toString());
                n.put("parent", s.parent().map(UUID::toString).orElse(null));
                n.put("savedState", s.savedState());
                var layers = n.putArray("layers");
                s.layers().forEach((slot, path) -> layers.addObject().put("slot", slot.toString())
                        .put("path", path.toString()));
            }
            try {
                return mapper.writerWithDefaultPrettyPrinter().writeValueAsString(root);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    // ---- take ----

    /**
     * Takes a snapshot named {@code name} (null for "NAME - (date time)", as Hyper-V names them).
     * Off: every attached VHD's top file is frozen as the node's layer and a new differencing disk
     * on it attached instead. Saved: the same, and the node keeps a copy of the saved state. Running
     * or Paused: the VM is saved (paused, memory and device state written), snapshotted as Saved,
     * and started again from its saved state with the program it ran ({@link VirtualMachine#program()}),
     * paused again if it was. Refused beyond {@value HyperVLimits#MAX_SNAPSHOTS} snapshots, or while
     * the VM is in the middle of another operation. Thread-safe.
     */
    public Result take(String name) throws VmException {
        synchronized (guard) {
            if (tree.nodes.size() >= HyperVLimits.MAX_SNAPSHOTS) {
                throw new SnapshotException("cannot snapshot '" + vm.name() + "': it has "
                        + HyperVLimits.MAX_SNAPSHOTS + " snapshots, the most a VM may have; delete some first");
            }
            VmState state = vm.state();
            boolean running = state == VmState.RUNNING || state == VmState.PAUSED;
            GuestProgram program = null;
            if (running) {
                program = vm.program().orElseThrow(() -> new SnapshotException("cannot snapshot '" + vm.name()
                        + "': its guest program is unknown"));
                vm.save();
            } else if (state != VmState.OFF && state != VmState.SAVED) {
                throw new SnapshotException("cannot snapshot '" + vm.name() + "': it is " + state);
            }
            Result r;
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
    }

    private void restart(GuestProgram program, VmState was) throws VmException {
        vm.start(program);
        if (was == VmState.PAUSED) {
            vm.pause();
        }
    }

    private String defaultName() {
        return vm.name() + " - (" + DateTimeFormatter.ofPattern("yyyy-MM-dd - HH:mm:ss")
                .withZone(ZoneId.systemDefault()).format(Instant.now()) + ")";
    }

    private Result takeStopped(String name) throws VmException {
        List<String> warnings = new ArrayList<>();
        VmConfiguration config = vm.configuration();
        boolean saved = vm.state() == VmState.SAVED;
        UUID id = UUID.randomUUID();
        TreeMap<Slot, Path> layers = new TreeMap<>();
        Map<Slot, Path> made = new TreeMap<>();
        for (Attachment a : config.attachments()) {
            if (a.kind() == Attachment.Kind.PASS_THROUGH) {
                warnings.add("the pass-through disk " + a.path() + " at " + a.slot()
                        + " is not in the snapshot: a pass-through disk cannot be snapshotted");
            } else if (a.kind() == Attachment.Kind.DISK) {
                layers.put(a.slot(), a.path());
                made.put(a.slot(), newFileFor(a.path()));
            }
        }
        Snapshot node = new Snapshot(id, name, Instant.now(), Optional.ofNullable(tree.now), config, layers, saved);
        try {
            tree.pending = new TreeState.Pending(TreeState.Op.TAKE, node, made);
            made.forEach((slot, file) -> tree.files.put(file, layers.get(slot)));
            tree.write(folder);
            checkpoint.reached("take: recorded");
            if (saved) {
                Path dir = stateDir(id);
                Files.createDirectories(dir);
                vm.copySavedStateTo(dir);
                checkpoint.reached("take: saved state copied");
            }
            for (Map.Entry<Slot, Path> e : made.entrySet()) {
                try (VhdDisk d = Vhd.create(e.getValue(), CreateOptions.differencing(layers.get(e.getKey())))) {
                    d.flush();
                }
                checkpoint.reached("take: created " + e.getValue().getFileName());
            }
            vm.switchDisks(withDisks(config, made));
            checkpoint.reached("take: disks switched");
            finishTake(node);
            checkpoint.reached("take: done");
        } catch (VmException e) {
            throw rollBackAfter("snapshot", e);
        } catch (IOException e) {
            throw rollBackAfter("snapshot", fail("cannot snapshot", e));
        }
        return new Result(Optional.of(node), warnings);
    }

    private void finishTake(Snapshot node) throws IOException {
        tree.nodes.put(node.id(), node);
        tree.now = node.id();
        tree.pending = null;
        tree.write(folder);
    }

    /** After a failed take or apply in this process: put things back as recovery would after a crash. */
    private VmException rollBackAfter(String what, VmException e) {
        try {
            tree = TreeState.read(folder);
            recover(new ArrayList<>());
        } catch (IOException | RuntimeException undo) {
            e.addSuppressed(undo);
        }
        return e;
    }

    private Path newFileFor(Path top) {
        String stem = top.getFileName().toString().replaceFirst("\\.[^.]*$", "")
                .replaceFirst("_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", "");
        return folder.resolve(stem + "_" + UUID.randomUUID() + ".avhd");
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

    private Path stateDir(UUID id) {
        return folder.resolve(STATES).resolve(id.toString());
    }

    // ---- apply ----

    /**
     * Applies the snapshot {@code idOrName}: the VM's disks become new differencing disks on its
     * layers, its configuration becomes the snapshot's (the VM keeps its current name), and a
     * snapshot with saved state leaves the VM Saved, to come back as it was when started; otherwise
     * it is Off. What the VM held since is discarded, unless {@code snapshotFirst}, which takes a
     * snapshot of it first. A Running or Paused VM is turned off first. Thread-safe.
     */
    public Result apply(String idOrName, boolean snapshotFirst) throws VmException {
        synchronized (guard) {
            Snapshot target = resolve(idOrName);
            List<String> warnings = new ArrayList<>();
            if (snapshotFirst) {
                warnings.addAll(take(null).warnings());
            }
            VmState state = vm.state();
            if (state == VmState.RUNNING || state == VmState.PAUSED) {
                vm.turnOff();
            }
            Map<Slot, Path> made = new TreeMap<>();
            target.layers().forEach((slot, layer) -> made.put(slot, newFileFor(layer)));
            try {
                tree.pending = new TreeState.Pending(TreeState.Op.APPLY, target, made);
                made.forEach((slot, file) -> tree.files.put(file, target.layers().get(slot)));
                tree.write(folder);
                checkpoint.reached("apply: recorded");
                for (Map.Entry<Slot, Path> e : made.entrySet()) {
                    try (VhdDisk d = Vhd.create(e.getValue(), CreateOptions.differencing(target.layers().get(e.getKey())))) {
                        d.flush();
                    }
                    checkpoint.reached("apply: created " + e.getValue().getFileName());
                }
                vm.restoreState(appliedConfiguration(target, made), savedStateOf(target));
                checkpoint.reached("apply: state restored");
                finishApply(target);
                checkpoint.reached("apply: done");
                collapse(warnings);
            } catch (VmException e) {
                throw rollBackAfter("apply", e);
            } catch (IOException e) {
                throw rollBackAfter("apply", fail("cannot apply '" + target.name() + "'", e));
            }
            return new Result(Optional.of(tree.nodes.get(target.id())), warnings);
        }
    }

    /** Applies the snapshot "Now" sits on; refused when it sits on none. Thread-safe. */
    public Result revert() throws VmException {
        synchronized (guard) {
            if (tree.now == null) {
                throw new SnapshotException("cannot revert '" + vm.name() + "': it is not on a snapshot");
            }
            return apply(tree.now.toString(), false);
        }
    }

    private VmConfiguration appliedConfiguration(Snapshot target, Map<Slot, Path> made) {
        return withDisks(target.configuration().withName(vm.name()), made);
    }

    private Optional<Path> savedStateOf(Snapshot s) {
        return s.savedState() ? Optional.of(stateDir(s.id())) : Optional.empty();
    }

    private void finishApply(Snapshot target) throws IOException {
        tree.now = target.id();
        tree.pending = null;
        tree.write(folder);
    }

    // ---- delete, rename ----

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
            Snapshot target = resolve(idOrName);
            List<String> warnings = new ArrayList<>();
            Set<UUID> gone = new HashSet<>();
            gone.add(target.id());
            if (subtree) {
                List<Snapshot> below = new ArrayList<>();
                for (Snapshot c : children(target.id())) {
                    walk(c, below);
                }
                below.forEach(s -> gone.add(s.id()));
            }
            Optional<UUID> above = target.parent();
            try {
                for (UUID id : gone) {
                    tree.nodes.remove(id);
                }
                for (Snapshot s : List.copyOf(tree.nodes.values())) {
                    if (s.parent().isPresent() && gone.contains(s.parent().get())) {
                        tree.nodes.put(s.id(), s.withParent(above));
                    }
                }
                if (tree.now != null && gone.contains(tree.now)) {
                    tree.now = above.orElse(null);
                }
                tree.write(folder);
                checkpoint.reached("delete: recorded");
                for (UUID id : gone) {
                    deleteTree(stateDir(id));
                }
                collapse(warnings);
            } catch (VmException e) {
                throw e;
            } catch (IOException e) {
                throw fail("cannot delete '" + target.name() + "'", e);
            }
            return new Result(Optional.empty(), warnings);
        }
    }

    /** Renames the snapshot {@code idOrName}. Thread-safe. */
    public Result rename(String idOrName, String newName) throws VmException {
        Objects.requireNonNull(newName, "newName");
        if (newName.isBlank() || newName.chars().anyMatch(Character::isISOControl)) {
            throw new SnapshotException("'" + newName + "' is not a snapshot name: give some text without control characters");
        }
        synchronized (guard) {
            Snapshot s = resolve(idOrName).withName(newName);
            tree.nodes.put(s.id(), s);
            try {
                tree.write(folder);
            } catch (IOException e) {
                throw fail("cannot rename '" + idOrName + "'", e);
            }
            return new Result(Optional.of(s), List.of());
        }
    }

    // ---- export ----

    /**
     * Writes a standalone dynamic VHD per disk of the snapshot {@code idOrName} into {@code target}
     * (an existing folder), each with the content of that disk when the snapshot was taken (its chain
     * flattened), named {@code SNAPSHOT-SLOT.vhd}; returns them by slot. Refused if one exists. The
     * layers are only read, so this works while the VM runs. Thread-safe.
     */
    public Map<Slot, Path> export(String idOrName, Path target) throws VmException {
        synchronized (guard) {
            Snapshot s = resolve(idOrName);
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
                throw fail("cannot export '" + s.name() + "' to " + target, e);
            }
            return out;
        }
    }

    // ---- check and repair ----

    /** Reports where the tree and the files disagree, changing nothing. Thread-safe. */
    public CheckResult check() {
        synchronized (guard) {
            return new CheckResult(problems(), List.of());
        }
    }

    /**
     * Makes the tree and the files agree: completes or rolls back an operation under way, does the
     * merges that waited, deletes AVHD files and saved states the tree does not name, and drops
     * snapshots whose layers are gone (their content is lost; each is reported). Thread-safe.
     */
    public CheckResult repair() throws VmException {
        synchronized (guard) {
            List<String> repairs = new ArrayList<>();
            try {
                recover(repairs);
                dropLost(repairs);
                collapse(repairs);
                for (Path orphan : orphanFiles()) {
                    Files.deleteIfExists(orphan);
                    repairs.add("deleted " + orphan + ": no snapshot, disk or file of the tree uses it");
                }
                for (Path dir : orphanStates()) {
                    deleteTree(dir);
                    repairs.add("deleted " + dir + ": the saved state of no snapshot");
                }
            } catch (VmException e) {
                throw e;
            } catch (IOException e) {
                throw fail("cannot repair the snapshot tree", e);
            }
            return new CheckResult(problems(), repairs);
        }
    }

    private List<String> problems() {
        List<String> p = new ArrayList<>();
        if (tree.pending != null) {
            p.add("an interrupted " + tree.pending.op().name().toLowerCase(Locale.ROOT) + " of '"
                    + tree.pending.node().name() + "' is recorded");
        }
        for (Snapshot s : tree.nodes.values()) {
            for (Path layer : s.layers().values()) {
                for (Path f : chain(layer)) {
                    if (!Files.exists(f)) {
                        p.add("snapshot '" + s.name() + "' (" + s.id() + "): layer " + f + " is missing");
                    }
                }
            }
            if (s.savedState() && !Files.exists(stateDir(s.id()).resolve("saved-state.json"))) {
                p.add("snapshot '" + s.name() + "' (" + s.id() + "): its saved state is missing");
            }
        }
        for (Path f : tree.files.keySet()) {
            if (!Files.exists(f)) {
                p.add("file " + f + " of the tree is missing");
            } else if (!pinned().contains(f) && dependents(f).size() <= 1) {
                p.add("merge pending: " + f + " is used by no snapshot and waits to be merged or deleted");
            }
        }
        if (tree.now != null && !tree.nodes.containsKey(tree.now)) {
            p.add("Now sits on " + tree.now + ", which is not in the tree");
        }
        try {
            for (Path f : orphanFiles()) {
                p.add("orphan AVHD file " + f + ": no snapshot, disk or file of the tree uses it");
            }
            for (Path d : orphanStates()) {
                p.add("orphan saved state " + d);
            }
        } catch (IOException e) {
            p.add("cannot list " + folder + ": " + e.getMessage());
        }
        return p;
    }

    /** {@code file} and the files of the tree it is made on, down to a file the tree did not make. */
    private List<Path> chain(Path file) {
        List<Path> out = new ArrayList<>();
        for (Path f = file; f != null && out.size() <= tree.files.size(); f = tree.files.get(f)) {
            out.add(f);
        }
        return out;
    }

    private void dropLost(List<String> repairs) throws IOException {
        boolean changed = false;
        for (Snapshot s : List.copyOf(tree.nodes.values())) {
            boolean lost = s.layers().values().stream().flatMap(l -> chain(l).stream()).anyMatch(f -> !Files.exists(f));
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
        for (Path f : List.copyOf(tree.files.keySet())) {
            if (!Files.exists(f) && !pinned().contains(f)) {
                tree.files.remove(f);
                repairs.add("forgot " + f + ": it is gone and nothing uses it");
                changed = true;
            }
        }
        if (tree.now != null && !tree.nodes.containsKey(tree.now)) {
            tree.now = null;
            changed = true;
        }
        if (changed) {
            tree.write(folder);
        }
    }

    private List<Path> orphanFiles() throws IOException {
        List<Path> out = new ArrayList<>();
        Set<Path> known = new HashSet<>(tree.files.keySet());
        known.addAll(configured());
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(folder, "*.avhd")) {
            for (Path p : ds) {
                if (MADE.matcher(p.getFileName().toString()).matches() && !known.contains(p)) {
                    out.add(p);
                }
            }
        }
        out.sort(Comparator.naturalOrder());
        return out;
    }

    private List<Path> orphanStates() throws IOException {
        List<Path> out = new ArrayList<>();
        Path states = folder.resolve(STATES);
        if (!Files.isDirectory(states)) {
            return out;
        }
        Set<String> wanted = new HashSet<>();
        tree.nodes.values().stream().filter(Snapshot::savedState).forEach(s -> wanted.add(s.id().toString()));
        if (tree.pending != null && tree.pending.op() == TreeState.Op.TAKE) {
            wanted.add(tree.pending.node().id().toString());
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

    // ---- recovery and collapse ----

    /** Completes (when the VM's configuration already names its files) or rolls back the operation under way. */
    private void recover(List<String> log) throws IOException {
        TreeState.Pending p = tree.pending;
        if (p == null) {
            return;
        }
        Set<Path> configured = new HashSet<>(configured());
        boolean committed = configured.containsAll(p.newFiles().values());
        String what = p.op().name().toLowerCase(Locale.ROOT) + " of '" + p.node().name() + "'";
        if (committed) {
            if (p.op() == TreeState.Op.TAKE) {
                finishTake(p.node());
            } else {
                VmState state = vm.state();
                if (p.node().savedState() && state == VmState.OFF) {
                    vm.restoreState(vm.configuration(), savedStateOf(p.node()));
                }
                finishApply(p.node());
            }
            log.add("completed the interrupted " + what);
        } else {
            for (Path f : p.newFiles().values()) {
                tree.files.remove(f);
            }
            tree.pending = null;
            tree.write(folder);
            for (Path f : p.newFiles().values()) {
                Files.deleteIfExists(f);
            }
            if (p.op() == TreeState.Op.TAKE) {
                deleteTree(stateDir(p.node().id()));
            }
            log.add("rolled back the interrupted " + what);
        }
        LOG.log(Level.INFO, "''{0}'': {1}", vm.name(), log.getLast());
    }

    private List<Path> configured() {
        return vm.configuration().attachments().stream().filter(a -> a.kind() == Attachment.Kind.DISK)
                .map(Attachment::path).toList();
    }

    private Set<Path> pinned() {
        Set<Path> pins = new HashSet<>(configured());
        tree.nodes.values().forEach(s -> pins.addAll(s.layers().values()));
        if (tree.pending != null) {
            pins.addAll(tree.pending.newFiles().values());
        }
        return pins;
    }

    private List<Path> dependents(Path file) {
        return tree.files.entrySet().stream().filter(e -> e.getValue().equals(file)).map(Map.Entry::getKey).toList();
    }

    /** The files a Running or Paused VM holds open: its disks and the chains under them. */
    private Set<Path> inUse() {
        VmState state = vm.state();
        Set<Path> open = new HashSet<>();
        if (state == VmState.OFF || state == VmState.SAVED) {
            return open;
        }
        for (Path p : configured()) {
            open.addAll(chain(p));
        }
        return open;
    }

    /** Deletes or merges every unpinned file the tree made, until none can be; see the class comment. */
    private void collapse(List<String> warnings) throws IOException {
        boolean changed = true;
        while (changed) {
            changed = false;
            Set<Path> pins = pinned();
            Set<Path> open = inUse();
            for (Path f : List.copyOf(tree.files.keySet())) {
                if (pins.contains(f)) {
                    continue;
                }
                List<Path> deps = dependents(f);
                if (deps.size() > 1) {
                    continue;
                }
                if (open.contains(f) || (deps.size() == 1 && open.contains(deps.getFirst()))) {
                    warnings.add("merging " + f + " waits until '" + vm.name() + "' is off or saved: the running VM uses it");
                    continue;
                }
                Path parent = tree.files.get(f);
                if (deps.size() == 1 && (!Files.exists(f) || !Files.exists(deps.getFirst()))) {
                    continue; // a file is gone: nothing to merge from or into; check reports it
                }
                if (deps.size() == 1) {
                    Path child = deps.getFirst();
                    if (!linkedTo(child, parent)) {
                        ImageEdits.rebase(child, parent, RebaseMode.SAFE, rebaseProgress());
                    }
                    checkpoint.reached("merge: rebased " + child.getFileName());
                    tree.files.put(child, parent);
                }
                tree.files.remove(f);
                tree.write(folder);
                checkpoint.reached("merge: recorded " + f.getFileName());
                Files.deleteIfExists(f);
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

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                Files.deleteIfExists(p);
            }
        }
        Files.deleteIfExists(dir);
    }

    private SnapshotException fail(String what, IOException e) {
        return new SnapshotException("'" + vm.name() + "': " + what + ": " + e.getMessage(), e);
    }

    @Override
    public String toString() {
        synchronized (guard) {
            return "Snapshots[" + vm.name() + ", " + tree.nodes.size() + " snapshots]";
        }
    }
}
