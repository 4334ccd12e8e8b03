package org.vhdkit.stack.bus;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmDevice;
import org.vhdkit.stack.vm.VmWorker;
import org.vhdkit.stack.vmbus.GuestPort;
import org.vhdkit.stack.vmbus.VmbusServer;

/**
 * The VM's one VMBus server as a device of its worker ("vmbus"), shared by every provider that
 * offers channels (synthetic storage, the integration services). The first provider that needs it
 * makes it ({@link #of}) and offers its guest side {@link GuestPort} to the guest; later providers
 * get the same server. It is released after the devices that offer channels on it (devices are
 * released in the reverse order they were added), which closes every channel still open and waits
 * for its consumer.
 *
 * <p>Thread-safety: {@link #of} is for the starting thread only (the worker's assembly);
 * {@link #find} may be called from any thread; {@link #release} runs once on the stopping thread.
 * The instance is immutable.
 */
public final class WorkerBus implements VmDevice {
    /** The device name, the same on every start so saved states find it. */
    public static final String NAME = "vmbus";

    private final VmbusServer server;

    private WorkerBus(VmbusServer server) {
        this.server = server;
    }

    /**
     * The VMBus server of the VM {@code worker} assembles, made now (its consumers polling
     * {@code poll} before parking) if no provider made it yet. Assembly only.
     */
    public static VmbusServer of(VmWorker worker, Duration poll) {
        Objects.requireNonNull(poll, "poll");
        Optional<VmbusServer> existing = find(worker);
        if (existing.isPresent()) {
            return existing.get();
        }
        VmbusServer server = VmbusServer.create(worker.memory(), poll);
        worker.addDevice(new WorkerBus(server));
        worker.offerGuestService(GuestPort.class, server.guest());
        return server;
    }

    /** The VMBus server of the VM {@code worker} runs, if a provider made one. Thread-safe after assembly. */
    public static Optional<VmbusServer> find(VmWorker worker) {
        for (VmDevice d : worker.devices()) {
            if (d instanceof WorkerBus b) {
                return Optional.of(b.server);
            }
        }
        return Optional.empty();
    }

    /** The VMBus server of the running VM {@code vm}, if it has one. Thread-safe. */
    public static Optional<VmbusServer> find(VirtualMachine vm) {
        return vm.worker().flatMap(WorkerBus::find);
    }

    /** The server. */
    public VmbusServer server() {
        return server;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void release() {
        server.close();
    }
}
