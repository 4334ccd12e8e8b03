package org.vhdkit.stack.vm;

import java.time.Duration;

/**
 * The parent's end of the integration shutdown service: how {@link VirtualMachine#shutDown} asks a
 * guest to shut itself down. The guest answers by shutting down and powering off
 * ({@link org.vhdkit.stack.partition.GuestContext#powerOff()}), which turns the VM Off.
 *
 * <p>A VM with integration components on gets {@link GuestShutdown} as its default implementation: a
 * guest program takes it from its context and listens. The VMBus integration service
 * ({@code org.vhdkit.stack.ic.IntegrationServices}) replaces it by calling
 * {@link VmWorker#setShutdownService} from its {@link DeviceProvider}, keeping the default
 * ({@link VmWorker#shutdownService()}) as its fallback for guests that listen only there.
 *
 * <p>Thread-safety: implementations must allow calls from any thread.
 */
public interface ShutdownService {
    /**
     * Delivers a shutdown request to the guest and returns without waiting for the guest to act.
     * Throws if the request cannot be delivered (the guest's side of the service is not running).
     */
    void requestShutdown(String reason) throws VmException;

    /**
     * Delivers a shutdown request and waits up to {@code timeout} for the guest to answer it (an
     * implementation whose guest answers, as the VMBus service's does); throws if the request cannot
     * be delivered, the guest refuses it or does not answer in time. Returns once the guest accepted;
     * it then shuts down and powers off. The default delivers the request and does not wait.
     */
    default void requestShutdown(String reason, Duration timeout) throws VmException {
        requestShutdown(reason);
    }
}
