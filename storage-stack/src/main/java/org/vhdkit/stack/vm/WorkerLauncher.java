package org.vhdkit.stack.vm;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Starts the worker process of a VM whose guest is real (its {@link GuestEngine} is not the in-JVM
 * programs): the seam through which the hypervisor core reaches qemu without knowing it. Given to the
 * hypervisor with {@link HypervisorOptions#withWorkerLauncher}; {@code org.vhdkit.stack.qemu} has the
 * implementation.
 *
 * <p>Thread-safety: one launcher may start any number of VMs at once.
 */
@FunctionalInterface
public interface WorkerLauncher {
    /**
     * Starts the worker process of the VM {@code config} (validated), whose folder is {@code folder}:
     * serves its disks, starts the process and returns once the guest's processors are ready, paused
     * (the VM lets them run with {@link WorkerProcess#resume}). From a saved state, {@code savedState}
     * is the file {@link WorkerProcess#saveTo} wrote, loaded before this returns. On failure nothing
     * is left running or open.
     */
    WorkerProcess launch(VmConfiguration config, Path folder, Optional<Path> savedState,
                         WorkerProcess.ExitListener listener) throws IOException;
}
