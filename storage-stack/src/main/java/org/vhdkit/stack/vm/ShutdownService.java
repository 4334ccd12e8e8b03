package org.vhdkit.stack.vm;

/**
 * The parent's end of the integration shutdown service: how {@link VirtualMachine#shutDown} asks a
 * guest to shut itself down. The guest answers by shutting down and powering off
 * ({@link org.vhdkit.stack.partition.GuestContext#powerOff()}), which turns the VM Off.
 *
 * <p>Until the VMBus-based integration service exists, a VM with integration components on gets
 * {@link GuestShutdown} as its implementation: a guest program takes it from its context and
 * listens. The VMBus implementation replaces it by calling {@link VmWorker#setShutdownService} from
 * its {@link DeviceProvider}.
 *
 * <p>Thread-safety: implementations must allow calls from any thread.
 */
public interface ShutdownService {
    /**
     * Delivers a shutdown request to the guest and returns without waiting for the guest to act.
     * Throws if the request cannot be delivered (the guest's side of the service is not running).
     */
    void requestShutdown(String reason) throws VmException;
}
