package org.vhdkit.stack.vm;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.vhdkit.stack.partition.ChildPartition;
import org.vhdkit.stack.partition.GuestProgram;
import org.vhdkit.stack.partition.PartitionListener;

/**
 * One VM of a {@link Hypervisor}: its configuration, its state and its lifecycle, as Hyper-V's
 * manager offers them.
 *
 * <h2>States and operations</h2>
 * <pre>
 *   operation            allowed from       leads to (through)
 *   start                Off, Saved         Running (Starting)
 *   turnOff              Running, Paused    Off (Stopping)
 *   shutDown             Running            Off, when the guest powers off
 *   pause                Running            Paused
 *   resume               Paused             Running
 *   save                 Running, Paused    Saved (Saving)
 *   deleteSavedState     Saved              Off
 *   reconfigure          Off                Off
 *   delete               Off, Saved         (gone)
 *   switchDisks          Off, Saved         as it was
 *   restoreState         Off, Saved         Off, or Saved with a saved state given
 *   copySavedStateTo     Saved              Saved
 *   snapshotLive         Running, Paused    as it was (the worker process stays)
 * </pre>
 * Anything else is refused with a {@link VmStateException} naming the state ("cannot pause 'vm1':
 * it is Off"), and so is any operation while another is under way (the VM is then Starting, Saving
 * or Stopping, or Running or Paused with a pause or resume under way). A VM also turns Off by itself
 * when its guest powers off or its guest program throws ({@link #lastStopReason()} says why).
 *
 * <h2>Running a VM</h2>
 * {@link #start} makes a child partition with the configured memory and processors, a
 * {@link VmWorker} in the parent, lets the {@link DeviceProvider}s assemble the devices, and starts
 * every processor on the given {@link GuestProgram}. From Saved it first loads guest memory and
 * device state, and the program is re-entered with {@code resumed()} true (see {@link GuestProgram}
 * for this restart model). Turning off stops the processors, the worker and the devices and releases
 * the memory; saving pauses the processors, writes memory and device state to the VM's folder and
 * then does the same.
 *
 * <p>Thread-safety: every method may be called from any thread. The state, configuration and
 * current run are guarded by the monitor {@code guard}; an operation marks itself under way there
 * and does its slow work outside it, so readers never wait on an operation.
 */
public final class VirtualMachine {
    private static final System.Logger LOG = System.getLogger(VirtualMachine.class.getName());

    /**
     * A run: the in-JVM child partition and its worker (the guest programs), or the worker process
     * of a real guest; exactly one of the two.
     */
    private record Run(ChildPartition partition, VmWorker worker, WorkerProcess process) {
        static Run inJvm(ChildPartition partition, VmWorker worker) {
            return new Run(partition, worker, null);
        }

        static Run external(WorkerProcess process) {
            return new Run(null, null, process);
        }

        /** What identifies the run to the callbacks that end it. */
        Object token() {
            return process != null ? process : partition;
        }
    }

    private final Hypervisor hypervisor;
    private final Path folder;
    private final UUID id;
    private final Object guard = new Object();
    private VmConfiguration configuration; // guarded by guard
    private VmState state; // guarded by guard
    private Operation busy; // guarded by guard
    private Run run; // guarded by guard; set while Running or Paused
    private String lastStopReason; // guarded by guard
    private long lastIntercepts; // guarded by guard
    private long lastUnhandled; // guarded by guard
    private boolean deleted; // guarded by guard
    private GuestProgram program; // guarded by guard; the program of the current or last start
    /** The worker process's last word on its guest running (true) or stopped during the operation under way. */
    private Boolean processRan; // guarded by guard

    private final PartitionListener listener = new PartitionListener() {
        @Override
        public void guestFailed(ChildPartition partition, int processor, Throwable failure) {
            String reason = "the guest program failed on processor " + processor + ": " + failure;
            LOG.log(Level.WARNING, "'" + partition.name() + "' stops: " + reason, failure);
            stopLater(partition, partition.name(), reason);
        }

        @Override
        public void guestPoweredOff(ChildPartition partition, int processor) {
            LOG.log(Level.INFO, "''{0}'' powered itself off", partition.name());
            stopLater(partition, partition.name(), "the guest powered off");
        }
    };

    VirtualMachine(Hypervisor hypervisor, Path folder, VmConfiguration configuration, VmState state) {
        this.hypervisor = hypervisor;
        this.folder = folder;
        this.id = configuration.id();
        this.configuration = configuration;
        this.state = state;
    }

    /** The VM's name. */
    public String name() {
        synchronized (guard) {
            return configuration.name();
        }
    }

    /** The VM's id, fixed for its life. */
    public UUID id() {
        return id;
    }

    /** The VM's folder: its configuration and, when Saved, its saved state. */
    public Path folder() {
        return folder;
    }

    /** The VM's current configuration. */
    public VmConfiguration configuration() {
        synchronized (guard) {
            return configuration;
        }
    }

    /** The VM's state now. */
    public VmState state() {
        synchronized (guard) {
            return state;
        }
    }

    /** Why the VM last stopped ("turned off", "saved", "the guest powered off", a guest failure), if it has run. */
    public Optional<String> lastStopReason() {
        synchronized (guard) {
            return Optional.ofNullable(lastStopReason);
        }
    }

    /** The worker of the current run, while the VM is Running or Paused: its devices, for hot add and diagnostics. */
    public Optional<VmWorker> worker() {
        synchronized (guard) {
            return run == null ? Optional.empty() : Optional.ofNullable(run.worker());
        }
    }

    /**
     * The worker process of the current run, while a VM with a real guest is Running or Paused: for
     * the engine's hot plug and media changes.
     */
    public Optional<WorkerProcess> process() {
        synchronized (guard) {
            return run == null ? Optional.empty() : Optional.ofNullable(run.process());
        }
    }

    /** Port I/O intercepts handled in the current run (or the last one, when stopped). */
    public long intercepts() {
        synchronized (guard) {
            return run == null || run.worker() == null ? lastIntercepts : run.worker().intercepts();
        }
    }

    /** Port accesses that no device decoded, in the current run (or the last one). */
    public long unhandledPortAccesses() {
        synchronized (guard) {
            return run == null || run.worker() == null ? lastUnhandled : run.worker().unhandledPortAccesses();
        }
    }

    /** Waits up to {@code timeout} for the VM to be in {@code wanted}; returns whether it is. */
    public boolean awaitState(VmState wanted, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (guard) {
            while (state != wanted) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(guard, left);
            }
            return true;
        }
    }

    // ---- operations ----

    /**
     * Starts the VM running {@code program} on every processor; from Saved, restores memory and
     * devices first and re-enters the program with {@code resumed()} true. Returns once the
     * processors run. Refused unless Off or Saved; on failure (a device that cannot be made, a
     * damaged saved state, too little host memory) the VM stays as it was and nothing is left held.
     */
    public void start(GuestProgram program) throws VmException {
        Objects.requireNonNull(program, "program");
        VmState from = begin(Operation.START, VmState.STARTING);
        VmConfiguration config = configuration();
        if (config.engine().realGuest()) {
            startProcess(from, config, program);
            return;
        }
        boolean resume = from == VmState.SAVED;
        HypervisorOptions options = hypervisor.options();
        ChildPartition partition = null;
        VmWorker worker = null;
        try {
            SavedState.Manifest manifest = null;
            Map<String, byte[]> deviceStates = null;
            if (resume) {
                manifest = SavedState.readManifest(folder, config.memoryBytes());
                deviceStates = SavedState.readDevices(folder, manifest);
            }
            partition = hypervisor.parent().createChild(config.name(), config.memoryBytes(), config.processors(), listener);
            ChildPartition p = partition;
            worker = new VmWorker(config, partition, reason -> stopLater(p, p.name(), reason), this::recordHotPlug);
            if (config.integrationComponents()) {
                GuestShutdown shutdown = new GuestShutdown(config.name(), partition.newSignal());
                worker.offerGuestService(GuestShutdown.class, shutdown);
                worker.setShutdownService(shutdown);
            }
            for (DeviceProvider provider : options.deviceProviders()) {
                provider.attach(worker);
            }
            worker.start();
            if (resume) {
                SavedState.loadMemory(folder, manifest, partition.memory());
                worker.restoreDevices(deviceStates, folder.resolve(SavedState.DEVICES), options.deviceTimeout());
                SavedState.delete(folder); // from here on the VM is no longer Saved, even after a crash
            }
            synchronized (guard) {
                run = Run.inJvm(partition, worker);
                lastStopReason = null;
                this.program = program;
            }
            partition.start(program, resume);
        } catch (IOException | RuntimeException | OutOfMemoryError e) {
            synchronized (guard) {
                run = null;
            }
            teardown(partition, worker);
            VmState back = from == VmState.SAVED && !SavedState.exists(folder) ? VmState.OFF : from;
            end(back);
            String why = e instanceof OutOfMemoryError
                    ? "the host cannot give it " + VmConfiguration.describe(config.memoryBytes()) + " of memory"
                    : e.getMessage() != null ? e.getMessage() : e.toString();
            throw new VmException("cannot start '" + config.name() + "': " + why, e);
        }
        end(VmState.RUNNING);
    }

    /**
     * Starts a real guest's worker process (see {@link WorkerLauncher}); from Saved, from the saved
     * state the process wrote. {@code program} is kept only for {@link #program()}: a real guest
     * runs its own operating system.
     */
    private void startProcess(VmState from, VmConfiguration config, GuestProgram program) throws VmException {
        boolean resume = from == VmState.SAVED;
        WorkerProcess process = null;
        try {
            WorkerLauncher launcher = hypervisor.options().workerLauncher().orElseThrow(() -> new VmException(
                    "its guest is real (engine " + config.engine().kind().label() + "), and this host runs no"
                            + " worker processes"));
            Optional<Path> saved = Optional.empty();
            if (resume) {
                saved = Optional.of(SavedState.processState(folder, config.memoryBytes()));
            }
            process = launcher.launch(config, folder, saved, new WorkerProcess.ExitListener() {
                @Override
                public void exited(WorkerProcess p, String reason) {
                    stopLater(p, config.name(), reason);
                }

                @Override
                public void ranOrStopped(WorkerProcess p, boolean running) {
                    processRan(p, running);
                }
            });
            if (resume) {
                SavedState.delete(folder); // from here on the VM is no longer Saved, even after a crash
            }
            synchronized (guard) {
                run = Run.external(process);
                lastStopReason = null;
                this.program = program;
            }
            process.resume();
        } catch (IOException | RuntimeException e) {
            synchronized (guard) {
                run = null;
            }
            if (process != null) {
                process.close();
            }
            VmState back = from == VmState.SAVED && !SavedState.exists(folder) ? VmState.OFF : from;
            end(back);
            String why = e.getMessage() != null ? e.getMessage() : e.toString();
            throw new VmException("cannot start '" + config.name() + "': " + why, e);
        }
        end(VmState.RUNNING);
    }

    /**
     * Turns the VM off at once, as pulling the plug: processors stopped wherever they are (a
     * processor blocked in port I/O or a wait is woken to stop), the worker and devices released,
     * guest memory freed. A processor that does not stop within the grace period is abandoned and
     * its memory released under it. Refused unless Running or Paused.
     */
    public void turnOff() throws VmException {
        begin(Operation.TURN_OFF, VmState.STOPPING);
        finish("turned off");
    }

    /**
     * Asks the guest to shut down through its shutdown integration service and waits up to
     * {@code timeout} (in all: the guest's answer, then its power off) for it to power off. Refused
     * unless Running, if the VM has no shutdown service (integration components off), the guest does
     * not listen or refuses; on timeout refused with the VM still running (turn it off then).
     */
    public void shutDown(Duration timeout) throws VmException {
        ShutdownService service;
        Object token;
        WorkerProcess process;
        String name;
        synchronized (guard) {
            checkAllowed(Operation.SHUT_DOWN);
            token = run.token();
            process = run.process();
            service = process != null ? null : run.worker().shutdownService().orElse(null);
            name = configuration.name();
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        if (process != null) {
            try {
                process.powerButton(); // ACPI: the guest's own answer is its power off, or nothing
            } catch (IOException e) {
                throw new VmException("cannot shut down '" + name + "': " + e.getMessage(), e);
            }
        } else if (service == null) {
            throw new VmException("cannot shut down '" + name + "': its integration components are off, so it"
                    + " has no shutdown service; turn it off instead");
        } else {
            service.requestShutdown("the host asked for a shutdown", timeout);
        }
        try {
            synchronized (guard) {
                while (run != null && run.token() == token) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        throw new VmException("'" + name + "' did not shut down within " + timeout.toMillis()
                                + " ms; it is still " + state + " (turn it off to stop it at once)");
                    }
                    TimeUnit.NANOSECONDS.timedWait(guard, left);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new VmException("stopped waiting for '" + name + "' to shut down: interrupted");
        }
    }

    /**
     * Pauses every processor at its next safe point. Refused unless Running; refused, with the VM
     * still Running, if some processor does not reach a safe point within the pause timeout.
     */
    public void pause() throws VmException {
        begin(Operation.PAUSE, null);
        Run r = currentRun();
        String failure = pauseProcessors(r);
        if (failure != null) {
            end(VmState.RUNNING);
            throw new VmException("cannot pause '" + name() + "': " + failure + "; it is still Running");
        }
        end(VmState.PAUSED);
    }

    /** Lets the processors run on from where they were paused. Refused unless Paused. */
    public void resume() throws VmException {
        begin(Operation.RESUME, null);
        Run r = currentRun();
        if (r.process() != null) {
            try {
                r.process().resume();
            } catch (IOException e) {
                end(VmState.PAUSED);
                throw new VmException("cannot resume '" + name() + "': " + e.getMessage() + "; it is still Paused", e);
            }
        } else {
            r.partition().resume();
        }
        end(VmState.RUNNING);
    }

    /**
     * Saves the VM: pauses it, writes guest memory and every device's state into its folder, then
     * stops it and releases its memory; it is then Saved, also for a later hypervisor over the same
     * folder. Refused unless Running or Paused; on failure the VM goes on as it was.
     */
    public void save() throws VmException {
        VmState from = begin(Operation.SAVE, VmState.SAVING);
        Run r = currentRun();
        String name = name();
        if (from == VmState.RUNNING) {
            String failure = pauseProcessors(r);
            if (failure != null) {
                end(VmState.RUNNING);
                throw new VmException("cannot save '" + name + "': " + failure + "; it is still Running");
            }
        }
        try {
            if (r.process() != null) {
                SavedState.writeProcessState(folder, configuration().memoryBytes(),
                        file -> r.process().saveTo(file, hypervisor.options().deviceTimeout()), hypervisor.beforeRename());
            } else {
                Map<String, byte[]> devices = r.worker().saveDevices(hypervisor.options().deviceTimeout());
                SavedState.write(folder, r.partition().memory(), devices, hypervisor.beforeRename());
            }
        } catch (IOException | RuntimeException e) {
            try {
                SavedState.delete(folder);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            if (from == VmState.RUNNING) {
                resumeQuietly(r, e);
            }
            end(from);
            throw new VmException("cannot save '" + name + "': "
                    + (e.getMessage() != null ? e.getMessage() : e.toString()), e);
        }
        finishAs("saved", VmState.SAVED);
    }

    /** Discards the saved state; the VM is then Off. Refused unless Saved. */
    public void deleteSavedState() throws VmException {
        begin(Operation.DELETE_SAVED_STATE, null);
        try {
            SavedState.delete(folder);
        } catch (IOException e) {
            end(VmState.SAVED);
            throw new VmException("cannot delete the saved state of '" + name() + "': " + e.getMessage(), e);
        }
        end(VmState.OFF);
    }

    /**
     * Replaces the configuration (same id; the name may change if no other VM has it) and writes it
     * atomically. Refused unless Off, and refused if it breaks a rule.
     */
    public void reconfigure(VmConfiguration next) throws VmException {
        Objects.requireNonNull(next, "next");
        begin(Operation.RECONFIGURE, null);
        try {
            if (!next.id().equals(id)) {
                throw new VmConfigurationException("id", "a VM's id cannot change (it is " + id + ", not " + next.id() + ")");
            }
            next.validate();
            store(next);
        } finally {
            end(VmState.OFF);
        }
    }

    /**
     * Stores {@code next} as the configuration of this Running or Paused VM after the device layer
     * hot added or removed a SCSI disk or changed the medium of a DVD drive (the only changes a
     * running VM's configuration may take), so that a save, a restart or a later hypervisor sees the
     * disk or medium where the guest saw it. The device layer makes the change first and calls this
     * to record it; it undoes its change if this throws. Refused unless Running or Paused with no
     * operation under way, if {@code next} differs from the configuration in anything but its SCSI
     * attachments and its DVD drives' media, or if it breaks a rule.
     */
    public void recordHotPlug(VmConfiguration next) throws VmException {
        Objects.requireNonNull(next, "next");
        recordHotPlug(current -> next);
    }

    /**
     * The same, with the new configuration computed from the one in force while no other operation
     * can change it: for a change to one slot that must not undo another's recorded meanwhile.
     */
    public void recordHotPlug(UnaryOperator<VmConfiguration> change) throws VmException {
        Objects.requireNonNull(change, "change");
        VmState from;
        VmConfiguration current;
        synchronized (guard) {
            if (deleted) {
                throw new VmException("cannot hot-plug a disk into '" + configuration.name() + "': it has been deleted");
            }
            if (busy != null || (state != VmState.RUNNING && state != VmState.PAUSED)) {
                throw new VmStateException(configuration.name(), "hot-plug a disk into", state,
                        busy == null ? null : " (" + busy.verb() + " under way)");
            }
            current = configuration;
            from = state;
            busy = Operation.RECONFIGURE;
        }
        try {
            VmConfiguration next = Objects.requireNonNull(change.apply(current), "the changed configuration");
            if (!sameButHotPluggable(current, next)) {
                throw new VmConfigurationException("attachments", "a running VM's configuration changes only in its"
                        + " SCSI attachments (hot add and remove) and its DVD drives' media; turn it off to change"
                        + " anything else");
            }
            next.validate();
            store(next);
        } finally {
            end(from);
        }
    }

    /**
     * The guest program of the current run, or of the last one since this hypervisor opened the
     * VM: what a snapshot of a running VM restarts it with. Thread-safe.
     */
    public Optional<GuestProgram> program() {
        synchronized (guard) {
            return Optional.ofNullable(program);
        }
    }

    /**
     * Points the VM's disks at other files: {@code next} must equal the configuration but for the
     * paths of its {@link Attachment.Kind#DISK} attachments (same slots, kinds, read-only flags, in
     * the same order). Allowed when Off or Saved (a saved state stays valid when each disk is
     * replaced by one with the same content, as a differencing disk made on it is); the snapshot
     * tree uses it to put new differencing disks under a VM. Written atomically. Thread-safe.
     */
    public void switchDisks(VmConfiguration next) throws VmException {
        Objects.requireNonNull(next, "next");
        VmState from = begin(Operation.SWITCH_DISKS, null);
        try {
            VmConfiguration current = configuration();
            if (!sameButDiskPaths(current, next)) {
                throw new VmConfigurationException("attachments", "only the paths of the disks may change when"
                        + " switching the disks of '" + current.name() + "'");
            }
            next.validate();
            store(next);
        } finally {
            end(from);
        }
    }

    /**
     * Puts a stored state in place of the VM's: its configuration becomes {@code next} (same id; the
     * name must be free), any saved state it has is discarded, and when {@code savedState} is given
     * (a folder holding a saved state, as {@link #copySavedStateTo} writes it) that state is copied
     * in and the VM becomes Saved, else it is Off. Allowed when Off or Saved. A crash part way leaves
     * the VM Off (the saved state's manifest is written last), with {@code next} or the old
     * configuration; doing it again completes it. Thread-safe.
     */
    public void restoreState(VmConfiguration next, Optional<Path> savedState) throws VmException {
        Objects.requireNonNull(next, "next");
        Objects.requireNonNull(savedState, "savedState");
        VmState from = begin(Operation.RESTORE, null);
        VmState to = from;
        try {
            if (!next.id().equals(id)) {
                throw new VmConfigurationException("id", "a VM's id cannot change (it is " + id + ", not " + next.id() + ")");
            }
            next.validate();
            try {
                SavedState.delete(folder);
                to = VmState.OFF;
                store(next);
                if (savedState.isPresent()) {
                    SavedState.copy(savedState.get(), folder, next.memoryBytes(), hypervisor.beforeRename());
                    to = VmState.SAVED;
                }
            } catch (IOException e) {
                throw new VmException("cannot restore a stored state into '" + next.name() + "': " + e.getMessage(), e);
            }
        } finally {
            end(to);
        }
    }

    /**
     * Copies this Saved VM's saved state (memory, device state, manifest last) into {@code target},
     * an existing folder; the VM stays Saved. The snapshot tree keeps a running VM's snapshot this
     * way. Thread-safe.
     */
    public void copySavedStateTo(Path target) throws VmException {
        Objects.requireNonNull(target, "target");
        begin(Operation.COPY_SAVED_STATE, null);
        try {
            SavedState.copy(folder, target, configuration().memoryBytes(), AtomicFile.BeforeRename.NONE);
        } catch (IOException e) {
            throw new VmException("cannot copy the saved state of '" + name() + "' to " + target + ": "
                    + e.getMessage(), e);
        } finally {
            end(VmState.SAVED);
        }
    }

    /**
     * Whether a snapshot of this VM can be taken without stopping it ({@link #snapshotLive}): it is
     * Running or Paused and its worker process offers it ({@link WorkerProcess#snapshotsLive}); the
     * in-JVM guest programs do not. Thread-safe.
     */
    public boolean snapshotsLive() {
        synchronized (guard) {
            return run != null && run.process() != null && run.process().snapshotsLive()
                    && (state == VmState.RUNNING || state == VmState.PAUSED);
        }
    }

    /**
     * What the caller of {@link #snapshotLive} (the snapshot tree) does at its steps; each runs on the
     * calling thread, with the guest paused.
     */
    public interface LiveSnapshot {
        /** The guest is paused and nothing is written yet: record the operation under way. */
        void paused() throws IOException;

        /** The disks to switch are flushed and closed: make their new files. */
        void makeFiles() throws IOException;

        /** The configuration naming the new files is stored (the commit point): record the result. */
        void committed() throws IOException;
    }

    /**
     * Snapshots this Running or Paused VM without stopping its worker process: pauses the guest (when
     * Running), calls {@link LiveSnapshot#paused}, writes the guest's saved state (memory and device
     * state, manifest last, as {@link #copySavedStateTo} leaves one) into {@code stateFolder} (an
     * existing folder) with the process staying alive, has the process move the disks whose paths
     * {@code next} changes onto their new files ({@link WorkerProcess#switchDisks}, with
     * {@link LiveSnapshot#makeFiles} in between), stores {@code next} (the configuration but for the
     * paths of its disks; the commit point, an atomic write), calls {@link LiveSnapshot#committed},
     * and lets the guest run on when it was Running. The VM stays Running or Paused, with the same
     * process, throughout; other operations are refused meanwhile. A failure before the commit point
     * puts the old files back under the guest, keeps the configuration, lets the guest run on as it
     * was and is thrown; the caller removes what it made. Refused unless {@link #snapshotsLive}.
     * Thread-safe.
     */
    public void snapshotLive(Path stateFolder, VmConfiguration next, LiveSnapshot steps) throws VmException {
        Objects.requireNonNull(stateFolder, "stateFolder");
        Objects.requireNonNull(next, "next");
        Objects.requireNonNull(steps, "steps");
        VmState from = begin(Operation.SNAPSHOT_LIVE, null);
        VmState to = from;
        String name = name();
        try {
            Run r = currentRun();
            WorkerProcess process = r.process();
            if (process == null || !process.snapshotsLive()) {
                throw new VmException("cannot snapshot '" + name + "' while it runs: its guest programs run in this"
                        + " process; save it first");
            }
            VmConfiguration current = configuration();
            if (!sameButDiskPaths(current, next)) {
                throw new VmConfigurationException("attachments", "only the paths of the disks may change when"
                        + " snapshotting '" + name + "'");
            }
            next.validate();
            Map<Slot, Path> oldFiles = new java.util.TreeMap<>();
            Map<Slot, Path> newFiles = new java.util.TreeMap<>();
            for (int i = 0; i < current.attachments().size(); i++) {
                Attachment was = current.attachments().get(i);
                Attachment now = next.attachments().get(i);
                if (was.kind() == Attachment.Kind.DISK && !was.path().equals(now.path())) {
                    oldFiles.put(was.slot(), was.path());
                    newFiles.put(now.slot(), now.path());
                }
            }
            if (from == VmState.RUNNING) {
                String failure = pauseProcessors(r);
                if (failure != null) {
                    throw new VmException("cannot snapshot '" + name + "': " + failure + "; it is still Running");
                }
            }
            boolean switched = false;
            boolean committed = false;
            try {
                steps.paused();
                SavedState.writeProcessState(stateFolder, current.memoryBytes(),
                        file -> process.saveTo(file, hypervisor.options().deviceTimeout()), hypervisor.beforeRename());
                process.switchDisks(newFiles, steps::makeFiles);
                switched = true;
                store(next);
                committed = true;
                steps.committed();
            } catch (IOException | RuntimeException e) {
                if (switched && !committed) {
                    try {
                        process.switchDisks(oldFiles, () -> { });
                    } catch (IOException | RuntimeException undo) {
                        e.addSuppressed(undo);
                    }
                }
                if (from == VmState.RUNNING) {
                    resumeQuietly(r, e);
                }
                if (e instanceof VmException v && !committed) {
                    throw v;
                }
                throw new VmException("cannot snapshot '" + name + "'" + (committed ? " (the snapshot is taken)" : "")
                        + ": " + (e.getMessage() != null ? e.getMessage() : e.toString()), e);
            }
            if (from == VmState.RUNNING) {
                try {
                    process.resume();
                } catch (IOException e) {
                    to = VmState.PAUSED;
                    throw new VmException("'" + name + "' is snapshotted but cannot run on: " + e.getMessage()
                            + "; it is Paused", e);
                }
            }
        } finally {
            end(to);
        }
    }

    private static boolean sameButDiskPaths(VmConfiguration a, VmConfiguration b) {
        if (!(a.name().equals(b.name()) && a.id().equals(b.id()) && a.memoryBytes() == b.memoryBytes()
                && a.processors() == b.processors() && a.integrationComponents() == b.integrationComponents()
                && a.engine().equals(b.engine())
                && a.bootOrder().equals(b.bootOrder()) && a.attachments().size() == b.attachments().size())) {
            return false;
        }
        for (int i = 0; i < a.attachments().size(); i++) {
            Attachment x = a.attachments().get(i);
            Attachment y = b.attachments().get(i);
            boolean same = x.slot().equals(y.slot()) && x.kind() == y.kind() && x.readOnly() == y.readOnly()
                    && (x.kind() == Attachment.Kind.DISK || Objects.equals(x.path(), y.path()));
            if (!same) {
                return false;
            }
        }
        return true;
    }

    /** Writes {@code next}, validated, to the VM's folder (atomically), then makes it the configuration. */
    private void store(VmConfiguration next) throws VmException {
        hypervisor.store(this, next);
        synchronized (guard) {
            configuration = next;
        }
    }

    private static boolean sameButHotPluggable(VmConfiguration a, VmConfiguration b) {
        return a.name().equals(b.name()) && a.id().equals(b.id()) && a.memoryBytes() == b.memoryBytes()
                && a.processors() == b.processors() && a.integrationComponents() == b.integrationComponents()
                && a.engine().equals(b.engine()) && a.bootOrder().equals(b.bootOrder())
                && fixedWhileRunning(a).equals(fixedWhileRunning(b));
    }

    /** The attachments outside SCSI, DVD drives without their media: what a running VM keeps. */
    private static List<Attachment> fixedWhileRunning(VmConfiguration c) {
        return c.attachments().stream().filter(x -> x.slot().bus() != Slot.Bus.SCSI)
                .map(x -> x.kind() == Attachment.Kind.DVD ? Attachment.emptyDvd(x.slot()) : x).toList();
    }

    /** Deletes the VM's folder (its configuration and any saved state; never its disks). Refused unless Off or Saved. */
    void delete() throws VmException {
        VmState from = begin(Operation.DELETE, null);
        try {
            hypervisor.removeFolder(this);
            synchronized (guard) {
                deleted = true;
            }
        } finally {
            end(from);
        }
    }

    /** Turns the VM off if it runs, waiting for an operation under way: the hypervisor is closing. */
    void turnOffForClose() {
        Run r;
        synchronized (guard) {
            r = run;
        }
        if (r != null) {
            stopNow(r.token(), name(), "the hypervisor closed");
        }
    }

    // ---- the machinery ----

    private VmState begin(Operation op, VmState during) throws VmException {
        synchronized (guard) {
            checkAllowed(op);
            VmState from = state;
            busy = op;
            if (during != null) {
                state = during;
                guard.notifyAll();
            }
            return from;
        }
    }

    private void checkAllowed(Operation op) throws VmException {
        if (deleted) {
            throw new VmException("cannot " + op.verb() + " '" + configuration.name() + "': it has been deleted");
        }
        if (busy != null && !state.isTransient()) {
            throw new VmStateException(configuration.name(), op.verb(), state, " (" + busy.verb() + " under way)");
        }
        if (busy != null || !op.allowedFrom(state)) {
            throw new VmStateException(configuration.name(), op.verb(), state, null);
        }
    }

    private void end(VmState to) {
        synchronized (guard) {
            if (processRan != null && run != null && (to == VmState.RUNNING || to == VmState.PAUSED)) {
                to = processRan ? VmState.RUNNING : VmState.PAUSED; // what the process did last is how it is
            }
            processRan = null;
            state = to;
            busy = null;
            guard.notifyAll();
        }
    }

    private Run currentRun() {
        synchronized (guard) {
            return Objects.requireNonNull(run, "a Running or Paused VM has a run");
        }
    }

    /** Lets a run go on after a failed save. */
    private static void resumeQuietly(Run r, Exception failure) {
        if (r.process() == null) {
            r.partition().resume();
            return;
        }
        try {
            r.process().resume();
        } catch (IOException e) {
            failure.addSuppressed(e);
        }
    }

    /** Pauses the processors; returns null when paused, or why not. */
    private String pauseProcessors(Run r) {
        if (r.process() != null) {
            try {
                r.process().pause();
                return null;
            } catch (IOException e) {
                return e.getMessage();
            }
        }
        Duration timeout = hypervisor.options().pauseTimeout();
        try {
            return r.partition().pause(timeout) ? null
                    : "its guest did not reach a safe point within " + timeout.toMillis() + " ms";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted while waiting for its processors";
        }
    }

    /** Ends the current run (the operation is under way, state Stopping or Saving) and rests in Off. */
    private void finish(String reason) {
        finishAs(reason, VmState.OFF);
    }

    private void finishAs(String reason, VmState to) {
        Run r = currentRun();
        if (r.process() != null) {
            r.process().close();
        } else {
            teardown(r.partition(), r.worker());
        }
        synchronized (guard) {
            lastIntercepts = r.worker() == null ? 0 : r.worker().intercepts();
            lastUnhandled = r.worker() == null ? 0 : r.worker().unhandledPortAccesses();
            run = null;
            lastStopReason = reason;
        }
        end(to);
    }

    private void teardown(ChildPartition partition, VmWorker worker) {
        Duration grace = hypervisor.options().stopGrace();
        if (partition != null) {
            partition.stop(grace);
        }
        if (worker != null) {
            worker.stop(grace);
        }
        if (partition != null) {
            partition.destroy();
        }
    }

    /**
     * The worker process's guest stopped or went on. Outside an operation, a Running VM becomes
     * Paused or a Paused one Running: the process did it by itself (a guest or qemu pausing, a
     * {@code stop} on its monitor), and the VM must not claim otherwise. During an operation the last
     * word is kept for the operation's end: an operation's own pause and resume report here too, and
     * a Running or Paused VM ends in the state the process is in.
     */
    private void processRan(WorkerProcess process, boolean running) {
        synchronized (guard) {
            if (run == null || run.token() != process) {
                return; // not the current run (still starting, or ended)
            }
            if (busy != null) {
                processRan = running;
                return;
            }
            VmState to = running ? VmState.RUNNING : VmState.PAUSED;
            if ((state == VmState.RUNNING || state == VmState.PAUSED) && state != to) {
                LOG.log(Level.INFO, "''{0}'' is {1}: its worker process {2} its guest by itself", configuration.name(),
                        to, running ? "resumed" : "paused");
                state = to;
                guard.notifyAll();
            }
        }
    }

    /** A guest failure or power-off, reported on a processor or worker thread: stop on another thread. */
    private void stopLater(Object token, String vmName, String reason) {
        Thread.ofPlatform().daemon(true).name(vmName + "/stop").start(() -> stopNow(token, vmName, reason));
    }

    /** Turns off the run of {@code token}, if it is still the current one, after any operation under way. */
    private void stopNow(Object token, String vmName, String reason) {
        synchronized (guard) {
            try {
                while (busy != null) {
                    guard.wait();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            if (run == null || run.token() != token) {
                return; // that run already ended
            }
            busy = Operation.TURN_OFF;
            state = VmState.STOPPING;
            guard.notifyAll();
        }
        LOG.log(Level.INFO, "''{0}'' turns off: {1}", vmName, reason);
        finish(reason);
    }

    @Override
    public String toString() {
        synchronized (guard) {
            return "VirtualMachine[" + configuration.name() + ", " + state + "]";
        }
    }
}
