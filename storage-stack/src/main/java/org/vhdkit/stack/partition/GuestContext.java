package org.vhdkit.stack.partition;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import org.vhdkit.stack.memory.GuestMemory;
import org.vhdkit.stack.memory.GuestMemoryException;

/**
 * Everything a guest program can reach: the machine as one virtual processor sees it. There is one
 * context per processor, handed to {@link GuestProgram#run}.
 *
 * <p>Through it a program touches only its own partition: its guest memory, port I/O (each access an
 * intercept answered by its VM's worker), signals its partition made, and the guest-side services
 * the parent offered its partition by type (the VMBus guest library, the shutdown integration
 * service, ...). It holds no reference a program could follow to another partition, the parent's
 * objects or the VM's lifecycle.
 *
 * <p>Every method except {@link #processor()}, {@link #processorCount()}, {@link #resumed()} and
 * {@link #memory()} is a <em>safe point</em>: the processor may be parked there while the VM is
 * paused, and throws {@link ProcessorStopped} there when the VM stops. See {@link GuestProgram} for
 * what that means for a program.
 *
 * <p>Thread-safety: use a context only on the thread of the processor it was given to; it is
 * confined to it. (Its memory may be shared with the program's other processors as any memory is.)
 */
public final class GuestContext {
    private final ChildPartition partition;
    /** The partition's memory as the guest may hold it: it cannot free it. */
    private final GuestMemory guestMemory;
    private final VirtualProcessor vp;
    private final boolean resumed;

    GuestContext(ChildPartition partition, VirtualProcessor vp, boolean resumed) {
        this.partition = partition;
        this.guestMemory = partition.memory().guestView();
        this.vp = vp;
        this.resumed = resumed;
    }

    /** This processor's number, 0 for the bootstrap processor. */
    public int processor() {
        return vp.index();
    }

    /** How many virtual processors the partition has. */
    public int processorCount() {
        return partition.processorCount();
    }

    /**
     * Whether this run continues a saved state: memory and devices were restored and the program
     * re-entered from the top (see {@link GuestProgram}). False on a fresh start.
     */
    public boolean resumed() {
        return resumed;
    }

    /** The partition's guest physical memory; every access is bounds-checked. Not a safe point. */
    public GuestMemory memory() {
        return guestMemory;
    }

    /** A safe point and nothing else: lets the VM pause or stop a processor that computes for long. */
    public void safePoint() {
        partition.safePoint(vp);
    }

    /** IN of one byte: an intercept answered by the VM worker. Unknown ports read 0xFF. */
    public int in8(int port) {
        return portIo(port, 1, false, 0);
    }

    /** IN of two bytes. Unknown ports read 0xFFFF. */
    public int in16(int port) {
        return portIo(port, 2, false, 0);
    }

    /** IN of four bytes. Unknown ports read 0xFFFFFFFF. */
    public int in32(int port) {
        return portIo(port, 4, false, 0);
    }

    /** OUT of the low byte of {@code value}. Writes to unknown ports are dropped (and counted). */
    public void out8(int port, int value) {
        portIo(port, 1, true, value);
    }

    /** OUT of the low two bytes of {@code value}. */
    public void out16(int port, int value) {
        portIo(port, 2, true, value);
    }

    /** OUT of four bytes. */
    public void out32(int port, int value) {
        portIo(port, 4, true, value);
    }

    /**
     * REP INS: {@code count} INs of {@code size} bytes (1, 2 or 4) from {@code port}, stored one after
     * another into guest memory from {@code gpa}. The VM worker moves the values itself: one
     * intercept for each page of memory the string touches, not one per value.
     *
     * @throws GuestMemoryException when the string does not lie in guest memory (nothing is read)
     */
    public void inString(int port, int size, long gpa, int count) throws GuestMemoryException {
        string(port, size, false, gpa, count);
    }

    /**
     * REP OUTS: {@code count} OUTs of {@code size} bytes to {@code port}, taken one after another from
     * guest memory at {@code gpa}; one intercept for each page the string touches.
     *
     * @throws GuestMemoryException when the string does not lie in guest memory (nothing is written)
     */
    public void outString(int port, int size, long gpa, int count) throws GuestMemoryException {
        string(port, size, true, gpa, count);
    }

    private void string(int port, int size, boolean write, long gpa, int count) throws GuestMemoryException {
        InterceptQueue.mask(size);
        if (count < 0) {
            throw new IllegalArgumentException("a string of " + count + " values");
        }
        guestMemory.check(gpa, (long) count * size);
        long at = gpa;
        int left = count;
        while (left > 0) {
            long pageEnd = (at | (GuestMemory.PAGE_SIZE - 1)) + 1;
            int n = (int) Math.min(left, Math.max(1, (pageEnd - at) / size));
            partition.enterBlocking(vp);
            try {
                partition.intercepts().string(vp, port, size, write, at, n);
            } finally {
                partition.exitBlocking(vp);
            }
            at += (long) n * size;
            left -= n;
        }
    }

    private int portIo(int port, int size, boolean write, int value) {
        partition.enterBlocking(vp);
        try {
            return partition.intercepts().access(vp, port, size, write, value);
        } finally {
            partition.exitBlocking(vp);
        }
    }

    /** Waits until {@code signal} is raised, consuming it. */
    public void await(GuestSignal signal) {
        await(signal, Long.MAX_VALUE);
    }

    /** Waits until {@code signal} is raised (true, consuming it) or {@code timeout} passes (false). */
    public boolean await(GuestSignal signal, Duration timeout) {
        long nanos = timeout.isNegative() ? 0 : timeout.compareTo(Duration.ofDays(365)) > 0 ? Long.MAX_VALUE : timeout.toNanos();
        return await(signal, nanos);
    }

    private boolean await(GuestSignal signal, long nanos) {
        checkOwner(signal);
        partition.enterBlocking(vp);
        try {
            return signal.await(vp, nanos);
        } finally {
            partition.exitBlocking(vp);
        }
    }

    /**
     * Runs a guest-side library's own blocking wait as a safe point: while it waits the processor
     * counts as parked (a pause need not wait for it), and when the VM stops the wait is interrupted
     * and this throws {@link ProcessorStopped}. The wait must end promptly when its thread is
     * interrupted (any {@code java.util.concurrent} wait does). Guest libraries that block (the
     * VMBus guest library, a guest driver) should wait through here or through {@link #await}.
     */
    public <T, E extends Exception> T blocking(BlockingWait<T, E> wait) throws E {
        partition.enterBlocking(vp);
        try {
            return wait.call();
        } catch (InterruptedException e) {
            vp.checkStop();
            Thread.currentThread().interrupt();
            throw new IllegalStateException(vp.name() + " was interrupted, but not stopped", e);
        } finally {
            partition.exitBlocking(vp);
        }
    }

    /** Consumes {@code signal} if it is raised; never waits. */
    public boolean poll(GuestSignal signal) {
        checkOwner(signal);
        partition.safePoint(vp);
        return signal.consume();
    }

    /**
     * The guest-side service of type {@code type} the parent offered this VM, if any: the VMBus
     * guest library, the shutdown integration service, and so on.
     */
    public <T> Optional<T> service(Class<T> type) {
        partition.safePoint(vp);
        return partition.guestService(Objects.requireNonNull(type, "type"));
    }

    /**
     * Powers the VM off from inside, as a guest OS does at the end of its shutdown: the VM turns Off
     * and this call does not return (it throws {@link ProcessorStopped}).
     */
    public void powerOff() {
        partition.safePoint(vp);
        partition.poweredOff(vp);
        throw vp.stopped();
    }

    private void checkOwner(GuestSignal signal) {
        if (signal.owner() != partition) {
            throw new IllegalArgumentException("that signal belongs to another partition");
        }
    }

    @Override
    public String toString() {
        return "GuestContext[" + vp.name() + "]";
    }
}
