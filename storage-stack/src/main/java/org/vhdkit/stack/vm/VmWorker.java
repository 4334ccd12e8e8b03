package org.vhdkit.stack.vm;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import org.vhdkit.stack.memory.GuestMemory;
import org.vhdkit.stack.partition.ChildPartition;
import org.vhdkit.stack.partition.GuestSignal;
import org.vhdkit.stack.partition.InterceptQueue;

/**
 * The VM worker: the part of the parent partition that runs one VM. There is one per running VM,
 * made when it starts and gone when it stops. It owns the VM's devices and its port space, and on
 * its own thread it handles that VM's intercepts one at a time (the emulated path: one round trip
 * per port access), runs tasks devices hand it, and saves and restores device state.
 *
 * <p>While the VM starts, {@link DeviceProvider}s assemble it through this object: they add devices,
 * map ports, offer guest services and may install the shutdown service. Once the processors run,
 * the assembly is sealed and those methods refuse (IllegalStateException).
 *
 * <p>Thread-safety: the assembly methods are for the starting thread only; {@link #execute},
 * {@link #newSignal}, the counters and the accessors may be called from any thread. The device list
 * and port space are confined to the starting thread until {@link #start} and then to the worker
 * thread (the thread start publishes them); tasks go through a concurrent queue.
 */
public final class VmWorker {
    private static final System.Logger LOG = System.getLogger(VmWorker.class.getName());
    private static final int IDLE_SPINS = 2_000;

    private final VmConfiguration configuration;
    private final ChildPartition partition;
    private final Consumer<String> failure;
    private final ConfigurationRecorder recorder;
    private final PortIoBus bus = new PortIoBus();
    private final List<VmDevice> devices = new ArrayList<>();
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final Thread thread;
    private volatile ShutdownService shutdownService;
    private volatile boolean sealed;
    private volatile boolean stopping;
    private final AtomicBoolean released = new AtomicBoolean();

    /** How a change the running VM's devices made reaches its stored configuration. */
    @FunctionalInterface
    interface ConfigurationRecorder {
        void record(UnaryOperator<VmConfiguration> change) throws VmException;
    }

    VmWorker(VmConfiguration configuration, ChildPartition partition, Consumer<String> failure,
             ConfigurationRecorder recorder) {
        this.configuration = configuration;
        this.partition = partition;
        this.failure = failure;
        this.recorder = recorder;
        this.thread = Thread.ofPlatform().name(configuration.name() + "/worker").daemon(true).unstarted(this::loop);
    }

    /**
     * Records in the VM's stored configuration a change its devices made on their own while it runs
     * (a guest ejecting a DVD), as {@link VirtualMachine#recordHotPlug(UnaryOperator)} does. Thread-safe;
     * may be called on the worker thread.
     *
     * @throws VmException when the VM is not Running or Paused, or busy with another operation
     */
    public void recordChange(UnaryOperator<VmConfiguration> change) throws VmException {
        recorder.record(change);
    }

    /** The configuration the VM started with. Thread-safe. */
    public VmConfiguration configuration() {
        return configuration;
    }

    /** The VM's name. Thread-safe. */
    public String vmName() {
        return configuration.name();
    }

    /**
     * The VM's guest memory, for device models that move data in and out of it (DMA, VMBus rings).
     * Everything in it is untrusted. Valid until the VM stops; devices must stop touching it in
     * {@link VmDevice#release()}. Thread-safe.
     */
    public GuestMemory memory() {
        return partition.memory();
    }

    /** A new signal (an interrupt line, an event) a device can raise and the guest can wait on. Thread-safe. */
    public GuestSignal newSignal() {
        return partition.newSignal();
    }

    /** Adds a device (its name unique in the VM). Assembly only. */
    public void addDevice(VmDevice device) {
        Objects.requireNonNull(device, "device");
        checkAssembling();
        if (devices.contains(device)) {
            return;
        }
        for (VmDevice d : devices) {
            if (d.name().equals(device.name())) {
                throw new IllegalStateException(vmName() + " already has a device named '" + device.name() + "'");
            }
        }
        devices.add(device);
    }

    /**
     * Maps ports {@code first} to {@code first + count - 1} to {@code device} (adding it if it is not
     * yet a device of the VM). Refuses ports another device decodes. Assembly only.
     */
    public void mapPorts(int first, int count, PortIoDevice device) {
        addDevice(device);
        bus.map(first, count, device);
    }

    /**
     * Offers {@code service} to the guest under {@code type} (see
     * {@link ChildPartition#offerGuestService}: offer only objects made for the guest). Assembly only.
     */
    public <T> void offerGuestService(Class<T> type, T service) {
        checkAssembling();
        partition.offerGuestService(type, service);
    }

    /** Installs the VM's shutdown integration service, replacing the default. Assembly only. */
    public void setShutdownService(ShutdownService service) {
        checkAssembling();
        shutdownService = Objects.requireNonNull(service, "service");
    }

    /**
     * The VM's shutdown integration service installed so far: the default {@link GuestShutdown} for a
     * VM with integration components on, none with them off, or what a provider installed. A
     * provider replacing it may keep it as a fallback. Thread-safe.
     */
    public Optional<ShutdownService> shutdownService() {
        return Optional.ofNullable(shutdownService);
    }

    /** The VM's devices, in the order added. Thread-safe after assembly. */
    public List<VmDevice> devices() {
        return List.copyOf(devices);
    }

    /**
     * Runs {@code task} on the worker thread, after what is already queued and between intercepts:
     * for device work that must not race port I/O (an interrupt after a timer, a completed DMA).
     * An exception from it stops the VM. Tasks queued after the VM stops are dropped. Thread-safe.
     */
    public void execute(Runnable task) {
        Objects.requireNonNull(task, "task");
        if (stopping) {
            return;
        }
        tasks.add(task);
        LockSupport.unpark(thread);
    }

    /** How many port I/O intercepts this VM's worker has handled. Thread-safe. */
    public long intercepts() {
        return partition.intercepts().count();
    }

    /** How many of them went to ports no device decodes. Thread-safe. */
    public long unhandledPortAccesses() {
        return bus.unhandled();
    }

    private void checkAssembling() {
        if (sealed) {
            throw new IllegalStateException(vmName() + " is already running; devices are added while it starts");
        }
    }

    // ---- the VM's side ----

    /** Seals the assembly and starts the worker thread. */
    void start() {
        sealed = true;
        partition.intercepts().attachWorker(thread);
        thread.start();
    }

    Thread thread() {
        return thread;
    }

    private void loop() {
        InterceptQueue intercepts = partition.intercepts();
        int spins = 0;
        while (!stopping) {
            boolean worked = false;
            Runnable task;
            while ((task = tasks.poll()) != null) {
                worked = true;
                try {
                    task.run();
                } catch (RuntimeException | Error e) {
                    fail("a device task failed: " + e, e);
                }
            }
            try {
                worked |= intercepts.handlePending(bus) > 0;
            } catch (RuntimeException | Error e) {
                worked = true;
                fail(e.getMessage(), e);
            }
            if (worked) {
                spins = IDLE_SPINS;
            } else if (spins > 0) {
                spins--;
                Thread.onSpinWait();
            } else {
                LockSupport.park(this);
            }
        }
    }

    private void fail(String message, Throwable e) {
        LOG.log(Level.ERROR, vmName() + ": " + message, e);
        failure.accept(message);
    }

    /** Runs {@code call} on the worker thread and waits up to {@code timeout} for it. */
    private <T> T onWorker(Callable<T> call, Duration timeout, String what) throws IOException {
        CompletableFuture<T> result = new CompletableFuture<>();
        execute(() -> {
            try {
                result.complete(call.call());
            } catch (Exception e) {
                result.completeExceptionally(e);
            }
        });
        try {
            return result.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new VmException("cannot " + what + ": " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new VmException("cannot " + what + ": the VM worker did not finish within "
                    + timeout.toMillis() + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new VmException("cannot " + what + ": interrupted");
        }
    }

    /** Every device's saved state, by device name, taken on the worker thread. */
    Map<String, byte[]> saveDevices(Duration timeout) throws IOException {
        return onWorker(() -> {
            Map<String, byte[]> states = new LinkedHashMap<>();
            for (VmDevice d : devices) {
                ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                try (DataOutputStream out = new DataOutputStream(bytes)) {
                    d.saveState(out);
                }
                states.put(d.name(), bytes.toByteArray());
            }
            return states;
        }, timeout, "save the device state of '" + vmName() + "'");
    }

    /**
     * Restores every device from {@code states}, read from {@code file} (named in every refusal), on
     * the worker thread; the names must match exactly and each device must read all of its bytes.
     */
    void restoreDevices(Map<String, byte[]> states, Path file, Duration timeout) throws IOException {
        for (VmDevice d : devices) {
            if (!states.containsKey(d.name())) {
                throw new VmException(file + ": holds no state for device '" + d.name() + "'");
            }
        }
        for (String name : states.keySet()) {
            if (devices.stream().noneMatch(d -> d.name().equals(name))) {
                throw new VmException(file + ": holds device '" + name + "', which the VM no longer has");
            }
        }
        onWorker(() -> {
            for (VmDevice d : devices) {
                byte[] state = states.get(d.name());
                ByteArrayInputStream bytes = new ByteArrayInputStream(state);
                try {
                    d.restoreState(new DataInputStream(bytes));
                } catch (EOFException e) {
                    throw new VmException(file + ": the state of device '" + d.name() + "' ends early; its "
                            + state.length + " bytes are not all it needs", e);
                }
                if (bytes.available() != 0) {
                    throw new VmException(file + ": device '" + d.name() + "' left " + bytes.available() + " of its "
                            + state.length + " saved bytes unread");
                }
            }
            return null;
        }, timeout, "restore the device state of '" + vmName() + "'");
    }

    /** Stops the worker thread (waiting up to {@code grace}) and releases every device. Idempotent. */
    void stop(Duration grace) {
        stopping = true;
        tasks.clear();
        if (thread.isAlive() || thread.getState() != Thread.State.NEW) {
            LockSupport.unpark(thread);
            thread.interrupt();
            if (thread != Thread.currentThread()) {
                try {
                    thread.join(grace);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                if (thread.isAlive()) {
                    LOG.log(Level.WARNING, "{0}: the VM worker did not stop within {1} ms (a device hangs) and was"
                            + " abandoned", vmName(), grace.toMillis());
                }
            }
        }
        releaseDevices();
    }

    private void releaseDevices() {
        if (!released.compareAndSet(false, true)) {
            return;
        }
        for (VmDevice d : devices.reversed()) {
            try {
                d.release();
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, vmName() + ": device " + d.name() + " failed to release", e);
            }
        }
    }
}
