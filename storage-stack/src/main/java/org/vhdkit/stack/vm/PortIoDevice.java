package org.vhdkit.stack.vm;

/**
 * A device that answers port I/O: an emulated controller's registers. Registered with
 * {@link VmWorker#mapPorts} for the ports it decodes; every guest IN or OUT to them is an intercept
 * delivered here on the VM's worker thread, one at a time.
 *
 * <p>Everything is guest input: {@code port} is one of the device's ports (the first port of the
 * access), {@code size} is 1, 2 or 4, {@code value} is masked to the size. A device must answer
 * anything without harm; an exception it throws stops the VM (the parent and other VMs go on).
 *
 * <p>Thread-safety: both methods run only on the VM worker's thread.
 */
public interface PortIoDevice extends VmDevice {
    /** An IN of {@code size} bytes; the result is masked to the size. */
    int read(int port, int size);

    /** An OUT of {@code size} bytes. */
    void write(int port, int size, int value);
}
