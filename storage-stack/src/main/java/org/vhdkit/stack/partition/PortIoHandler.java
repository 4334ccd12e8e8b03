package org.vhdkit.stack.partition;

/**
 * The parent-side end of port I/O intercepts: what a child partition's intercepts are delivered
 * to. The VM worker of that VM implements it with its device registry.
 *
 * <p>Everything here is guest input: {@code port} is 0 to 0xFFFF, {@code size} is 1, 2 or 4
 * (checked before delivery), and {@code value} is whatever the guest wrote, masked to the size.
 *
 * <p>Thread-safety: called only on the VM worker's thread (the one that calls
 * {@link InterceptQueue#handlePending}), one access at a time, so implementations need no lock
 * for state they touch only here.
 */
public interface PortIoHandler {
    /** An IN of {@code size} bytes from {@code port}; the result is masked to the size. */
    int read(int port, int size);

    /** An OUT of {@code size} bytes of {@code value} to {@code port}. */
    void write(int port, int size, int value);
}
