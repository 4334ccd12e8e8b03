package org.vhdkit.stack.ic;

import java.io.IOException;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import org.vhdkit.stack.bus.WorkerBus;
import org.vhdkit.stack.vm.DeviceProvider;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmException;
import org.vhdkit.stack.vm.VmWorker;
import org.vhdkit.stack.vmbus.ChannelClosure;
import org.vhdkit.stack.vmbus.ChannelOffer;
import org.vhdkit.stack.vmbus.VmbusException;
import org.vhdkit.stack.vmbus.VmbusServer;

/**
 * The parent's integration services: the {@link DeviceProvider} that offers a VM with integration
 * components on the shutdown integration service on its VMBus. Give it to the hypervisor with
 * {@code HypervisorOptions.defaults().withDeviceProvider(IntegrationServices.create())} (with or
 * without {@code SyntheticStorage}; both share the VM's one VMBus server, {@link WorkerBus}).
 *
 * <h2>Shutdown</h2>
 * On every start of a VM with integration components on, the provider offers a channel of type
 * {@link ChannelOffer#SHUTDOWN} and installs its service as the VM's shutdown service, so
 * {@link VirtualMachine#shutDown} asks the guest over VMBus (the message layout is Hyper-V's; see
 * the guest library {@code ShutdownGuest}): the guest's answer is awaited within the caller's
 * timeout; a refusal, or no answer, is refused with the VM still Running; an accepted request is
 * followed by the guest's power off, which turns the VM Off. A guest that never opened the channel
 * is asked through the default service the VM already had ({@code GuestShutdown}) if it listens
 * there, and otherwise refused at once: "its guest has not opened the shutdown integration channel
 * on VMBus (its integration services are not running); turn it off instead". A VM with integration
 * components off gets no offer and keeps no shutdown service: {@code shutDown} is refused ("its
 * integration components are off").
 *
 * <p>A guest that sends the service anything it did not ask for, or malformed, has the channel
 * closed (the VM runs on; {@link #shutdownClosure} says why) and may open it again.
 *
 * <p>Thread-safety: a provider may serve any number of VMs and starts at once; it holds no state of
 * its own. The static queries may be called from any thread.
 */
public final class IntegrationServices implements DeviceProvider {
    /** The instance id of the shutdown channel, the same in every VM. */
    public static final UUID SHUTDOWN_INSTANCE = UUID.fromString("b6650ff7-33bc-4840-8048-e0676786f393");

    private final Duration poll;

    private IntegrationServices(Duration poll) {
        this.poll = poll;
    }

    /** A provider whose VMBus consumers poll an empty ring for {@link VmbusServer#DEFAULT_POLL} before parking. */
    public static IntegrationServices create() {
        return create(VmbusServer.DEFAULT_POLL);
    }

    /**
     * A provider whose VMBus consumers poll for {@code poll} before parking (used when it makes the
     * VM's VMBus server, that is when no provider before it did).
     */
    public static IntegrationServices create(Duration poll) {
        Objects.requireNonNull(poll, "poll");
        if (poll.isNegative()) {
            throw new IllegalArgumentException("negative poll time " + poll);
        }
        return new IntegrationServices(poll);
    }

    /** Offers the integration services to the VM of {@code worker}; see the class comment. Called on the starting thread. */
    @Override
    public void attach(VmWorker worker) throws IOException {
        if (!worker.configuration().integrationComponents()) {
            return;
        }
        VmbusServer server = WorkerBus.of(worker, poll);
        ShutdownIc shutdown = new ShutdownIc(worker.vmName(), worker.shutdownService().orElse(null));
        try {
            server.offer(ChannelOffer.SHUTDOWN, SHUTDOWN_INSTANCE, shutdown);
        } catch (VmbusException e) {
            throw new VmException("cannot offer the shutdown integration service: " + e.getMessage(), e);
        }
        worker.setShutdownService(shutdown);
    }

    /**
     * Whether the guest of the running VM {@code vm} has the shutdown channel open and agreed on a
     * version, so a shutdown request goes over VMBus. Thread-safe.
     */
    public static boolean shutdownReady(VirtualMachine vm) {
        return shutdownIc(vm).map(ShutdownIc::ready).orElse(false);
    }

    /** Why the last shutdown channel of the running VM {@code vm} closed, if one did. Thread-safe. */
    public static Optional<ChannelClosure> shutdownClosure(VirtualMachine vm) {
        return WorkerBus.find(vm).flatMap(server -> server.offers().stream()
                .filter(o -> o.type().equals(ChannelOffer.SHUTDOWN)).findFirst().flatMap(server::lastClosure));
    }

    private static Optional<ShutdownIc> shutdownIc(VirtualMachine vm) {
        return vm.worker().flatMap(VmWorker::shutdownService)
                .filter(ShutdownIc.class::isInstance).map(ShutdownIc.class::cast);
    }
}
