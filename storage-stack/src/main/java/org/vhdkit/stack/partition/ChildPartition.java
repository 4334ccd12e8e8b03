package org.vhdkit.stack.partition;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.vhdkit.stack.memory.GuestMemory;

/**
 * A child partition: the isolation boundary a VM runs in. It owns its guest physical memory and
 * its virtual processors, and nothing else; the devices, configuration and lifecycle live with the
 * VM in the parent partition, which reaches the guest only through this object.
 *
 * <p>Life: made by {@link ParentPartition#createChild}, given guest services and a worker for its
 * intercepts, {@link #start started} once with a guest program, then {@link #pause paused} and
 * {@link #resume resumed} any number of times, {@link #stop stopped} once, and {@link #destroy
 * destroyed} (its memory released). A partition never starts twice: a VM that starts again gets a
 * new one.
 *
 * <p>Pausing and stopping work at safe points (see {@link GuestProgram}): {@code runControl} tells
 * the processors to run, park or stop; each processor reports in its {@code where} whether it runs
 * guest code, and the pauser waits until none does.
 *
 * <p>Thread-safety: all methods may be called from any parent thread. The run control and the
 * processors' parking are guarded by the monitor {@code control}; guest services are in a
 * concurrent map; the processors array is written once by {@link #start} under {@code control}.
 */
public final class ChildPartition {
    private static final System.Logger LOG = System.getLogger(ChildPartition.class.getName());
    private static final int RUN = 0;
    private static final int PAUSE = 1;
    private static final int STOP = 2;

    private final ParentPartition parent;
    private final String name;
    private final GuestMemory memory;
    private final int processorCount;
    private final PartitionListener listener;
    private final InterceptQueue intercepts;
    private final Map<Class<?>, Object> guestServices = new ConcurrentHashMap<>();
    private final Object control = new Object();
    private final AtomicBoolean poweredOff = new AtomicBoolean();
    private final AtomicBoolean failed = new AtomicBoolean();
    private volatile int runControl = RUN;
    private VirtualProcessor[] processors; // guarded by control; set once by start
    private boolean destroyed; // guarded by control

    ChildPartition(ParentPartition parent, String name, long memoryBytes, int processorCount, PartitionListener listener) {
        this.parent = parent;
        this.name = name;
        this.processorCount = processorCount;
        this.listener = Objects.requireNonNull(listener, "listener");
        this.memory = GuestMemory.allocate(name, memoryBytes);
        this.intercepts = new InterceptQueue(processorCount, memory);
    }

    /** The partition's name (its VM's name), for messages and thread names. Thread-safe. */
    public String name() {
        return name;
    }

    /**
     * The partition's guest physical memory, for the parent's device models (DMA, VMBus rings).
     * Everything the guest put there is untrusted. Thread-safe.
     */
    public GuestMemory memory() {
        return memory;
    }

    /** How many virtual processors the partition has. Thread-safe. */
    public int processorCount() {
        return processorCount;
    }

    /** The partition's port I/O intercepts, for its VM worker. Thread-safe. */
    public InterceptQueue intercepts() {
        return intercepts;
    }

    /** A new signal the parent can raise and this partition's processors can wait on. Thread-safe. */
    public GuestSignal newSignal() {
        return new GuestSignal(this);
    }

    /**
     * Offers {@code service} to the guest under {@code type}: a guest program gets it with
     * {@link GuestContext#service(Class)}. Whatever the service object lets a caller reach, the
     * guest can reach, so offer only objects made for the guest (a guest library, a guest-side
     * endpoint), never a parent-side one. A later offer under the same type replaces the earlier.
     * Thread-safe.
     */
    public <T> void offerGuestService(Class<T> type, T service) {
        guestServices.put(Objects.requireNonNull(type, "type"), type.cast(Objects.requireNonNull(service, "service")));
    }

    <T> Optional<T> guestService(Class<T> type) {
        return Optional.ofNullable(type.cast(guestServices.get(type)));
    }

    /**
     * Starts every virtual processor on {@code program}. {@code resumed} says whether memory was
     * restored from a saved state (the program sees it as {@link GuestContext#resumed()}). The
     * intercepts must have a worker first. Thread-safe; refused (IllegalStateException) after the
     * first call.
     */
    public void start(GuestProgram program, boolean resumed) {
        Objects.requireNonNull(program, "program");
        synchronized (control) {
            if (processors != null || destroyed || runControl == STOP) {
                throw new IllegalStateException(name + " has already run; a partition starts once");
            }
            if (!intercepts.hasWorker()) {
                throw new IllegalStateException(name + " has no worker for its intercepts");
            }
            VirtualProcessor[] vps = new VirtualProcessor[processorCount];
            for (int i = 0; i < processorCount; i++) {
                vps[i] = new VirtualProcessor(this, i, program, resumed);
            }
            processors = vps;
            for (VirtualProcessor vp : vps) {
                vp.thread().start();
            }
        }
    }

    /**
     * Parks every processor at its next safe point and returns true once none runs guest code
     * (processors blocked in a wait or a port access count as parked: they park before they return
     * to guest code). Returns false, with every processor running again, if some processor does not
     * reach a safe point within {@code timeout}. Thread-safe.
     */
    public boolean pause(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (control) {
            if (runControl == STOP) {
                throw new IllegalStateException(name + " is stopped");
            }
            runControl = PAUSE;
            try {
                while (anyInGuestCode()) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        runControl = RUN;
                        control.notifyAll();
                        return false;
                    }
                    TimeUnit.NANOSECONDS.timedWait(control, left);
                }
                return true;
            } catch (InterruptedException e) {
                runControl = RUN;
                control.notifyAll();
                throw e;
            }
        }
    }

    private boolean anyInGuestCode() {
        if (processors == null) {
            return false;
        }
        for (VirtualProcessor vp : processors) {
            if (vp.where == VirtualProcessor.GUEST) {
                return true;
            }
        }
        return false;
    }

    /** Lets paused processors run on. Does nothing if not paused. Thread-safe. */
    public void resume() {
        synchronized (control) {
            if (runControl == PAUSE) {
                runControl = RUN;
                control.notifyAll();
            }
        }
    }

    /** Whether the partition has been told to stop. Thread-safe. */
    public boolean stopRequested() {
        return runControl == STOP;
    }

    /**
     * Stops every processor: each throws {@link ProcessorStopped} at its next safe point, and one
     * blocked in a wait or a port access is woken to do so. Waits up to {@code grace} for their
     * threads to end and returns the names of those that did not (a program that never reaches a
     * safe point or swallows the stop); those threads are abandoned, and {@link #destroy} releases
     * the memory under them. Never waits on the calling thread itself. Thread-safe; idempotent.
     */
    public List<String> stop(Duration grace) {
        VirtualProcessor[] vps = signalStop();
        if (vps == null) {
            return List.of();
        }
        long deadline = System.nanoTime() + grace.toNanos();
        List<String> abandoned = new ArrayList<>();
        boolean interrupted = false;
        for (VirtualProcessor vp : vps) {
            Thread t = vp.thread();
            if (t == Thread.currentThread()) {
                continue;
            }
            try {
                long left = deadline - System.nanoTime();
                if (left > 0) {
                    t.join(Duration.ofNanos(left));
                }
            } catch (InterruptedException e) {
                interrupted = true;
            }
            if (t.isAlive()) {
                abandoned.add(vp.name());
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (!abandoned.isEmpty()) {
            LOG.log(Level.WARNING, "{0}: {1} did not stop within {2} ms and were abandoned",
                    name, abandoned, grace.toMillis());
        }
        return abandoned;
    }

    private VirtualProcessor[] signalStop() {
        VirtualProcessor[] vps;
        synchronized (control) {
            runControl = STOP;
            control.notifyAll();
            vps = processors;
        }
        if (vps != null) {
            for (VirtualProcessor vp : vps) {
                vp.thread().interrupt();
            }
        }
        return vps;
    }

    /**
     * Stops the partition if it still runs (with no grace: call {@link #stop} first to wait),
     * releases its guest memory and removes it from its parent. Thread-safe; idempotent.
     */
    public void destroy() {
        synchronized (control) {
            if (destroyed) {
                return;
            }
            destroyed = true;
        }
        signalStop();
        release(memory);
        parent.removed(this);
    }

    private void release(GuestMemory m) {
        // Closing a shared arena hands an exception to any thread inside an access at that moment;
        // retry a few times in case the close races with one, then leave it to the GC.
        for (int attempt = 0; attempt < 10; attempt++) {
            try {
                m.close();
                return;
            } catch (IllegalStateException busy) {
                Thread.onSpinWait();
            }
        }
        LOG.log(Level.WARNING, "{0}: guest memory could not be released", name);
    }

    // ---- called by processors on their own threads ----

    void safePoint(VirtualProcessor vp) {
        if (runControl != RUN) {
            parkOrStop(vp);
        }
    }

    private void parkOrStop(VirtualProcessor vp) {
        synchronized (control) {
            while (true) {
                int rc = runControl;
                if (rc == STOP) {
                    throw vp.stopped();
                }
                if (rc == RUN) {
                    return;
                }
                vp.where = VirtualProcessor.PARKED;
                control.notifyAll();
                try {
                    control.wait();
                } catch (InterruptedException e) {
                    // only a stop interrupts a processor; the loop sees it
                } finally {
                    vp.where = VirtualProcessor.GUEST;
                }
            }
        }
    }

    /** Before a call that blocks: a safe point, then marks the processor as out of guest code. */
    void enterBlocking(VirtualProcessor vp) {
        safePoint(vp);
        vp.where = VirtualProcessor.BLOCKED;
        if (runControl != RUN) {
            synchronized (control) {
                control.notifyAll(); // a pauser may be waiting for this processor
            }
        }
    }

    /** After a call that blocked: back in guest code, through a safe point. */
    void exitBlocking(VirtualProcessor vp) {
        vp.where = VirtualProcessor.GUEST;
        safePoint(vp);
    }

    void halted(VirtualProcessor vp) {
        synchronized (control) {
            vp.where = VirtualProcessor.HALTED;
            control.notifyAll();
        }
    }

    void failed(VirtualProcessor vp, Throwable failure) {
        if (failed.compareAndSet(false, true)) {
            try {
                listener.guestFailed(this, vp.index(), failure);
            } catch (RuntimeException e) {
                LOG.log(Level.ERROR, name + ": the listener failed on a guest failure", e);
            }
        }
    }

    void poweredOff(VirtualProcessor vp) {
        if (poweredOff.compareAndSet(false, true)) {
            try {
                listener.guestPoweredOff(this, vp.index());
            } catch (RuntimeException e) {
                LOG.log(Level.ERROR, name + ": the listener failed on a power-off", e);
            }
        }
    }

    @Override
    public String toString() {
        return "ChildPartition[" + name + ", " + memory.size() + " bytes, " + processorCount + " processors]";
    }
}
