package org.vhdkit.stack.vm;

import java.io.IOException;

/**
 * Makes a VM's devices when it starts: the device layer's way in. The IDE controller, the synthetic
 * SCSI controllers (StorVSP on VMBus) and the VMBus server itself are each a provider, given to the
 * hypervisor through {@link HypervisorOptions#withDeviceProvider}.
 *
 * <p>On every start (fresh or from Saved) each provider is called, in the order given, with the new
 * VM's worker before any processor runs; it reads the configuration ({@link VmWorker#configuration()}),
 * opens the disks it names, makes its devices and registers them ({@link VmWorker#addDevice},
 * {@link VmWorker#mapPorts}), offers guest-side services ({@link VmWorker#offerGuestService}) and, for
 * the integration components, may install the {@link ShutdownService}.
 *
 * <p>Thread-safety: called on the thread starting the VM, one provider at a time; a provider shared
 * by several VMs must be safe for concurrent starts.
 */
@FunctionalInterface
public interface DeviceProvider {
    /**
     * Makes and registers this provider's devices for the VM of {@code worker}. Throws if it cannot
     * (a disk that does not open, an attachment it refuses); the start is then refused with the
     * message, and every device registered so far is released.
     */
    void attach(VmWorker worker) throws IOException;
}
