package org.vhdkit.stack.partition;

import java.util.concurrent.locks.LockSupport;
import org.vhdkit.stack.memory.GuestMemory;
import org.vhdkit.stack.memory.GuestMemoryException;

/**
 * The port I/O intercepts of one child partition on their way to its VM worker: each virtual
 * processor's IN or OUT is posted here, handled on the worker's thread and answered back to the
 * processor, which waits for it. One synchronous round trip per access, as on Hyper-V's emulated
 * path; nothing is allocated per access.
 *
 * <p>A string access (REP INS or REP OUTS) is one intercept too: the worker repeats the IN or OUT
 * {@code count} times and moves the values between the port and consecutive guest memory itself, as
 * a hypervisor's string I/O emulation does. {@link GuestContext} splits a string at page boundaries,
 * so one intercept moves at most a page.
 *
 * <p>Each processor has one slot (it has at most one access in flight); the worker scans the slots.
 * A processor waits for its answer by spinning briefly and then parking; a processor stopped while
 * it waits leaves its slot, and a late answer to it is dropped.
 *
 * <p>Thread-safety: {@link #attachWorker} once before the partition starts; {@link #handlePending}
 * only on the worker thread; {@link #count()} and {@link #hasPending()} from any thread. A slot's
 * fields are handed between its processor and the worker through its volatile {@code state}.
 */
public final class InterceptQueue {
    private static final int IDLE = 0;
    private static final int PENDING = 1;
    private static final int DONE = 2;
    private static final int SPINS = 2_000;

    private static final class Slot {
        volatile int state;
        int port;
        int size;
        boolean write;
        int value;
        /** A string access: where its values go or come from, and how many; 0 for a single IN or OUT. */
        long gpa;
        int count;
        /** Set by the worker when a string access met memory outside the partition's. */
        GuestMemoryException fault;
        Thread processor;
    }

    private final Slot[] slots;
    private final GuestMemory memory;
    private volatile Thread worker;
    private volatile long count; // written only by the worker thread

    InterceptQueue(int processors, GuestMemory memory) {
        this.memory = memory;
        slots = new Slot[processors];
        for (int i = 0; i < processors; i++) {
            slots[i] = new Slot();
        }
    }

    /** Names the thread that handles this partition's intercepts; call before the partition starts. */
    public void attachWorker(Thread thread) {
        if (worker != null) {
            throw new IllegalStateException("the intercepts already go to " + worker.getName());
        }
        worker = thread;
    }

    boolean hasWorker() {
        return worker != null;
    }

    /** How many intercepts have been handled. */
    public long count() {
        return count;
    }

    /** Whether an access is waiting to be handled. */
    public boolean hasPending() {
        for (Slot s : slots) {
            if (s.state == PENDING) {
                return true;
            }
        }
        return false;
    }

    /**
     * Handles every access waiting now, in processor order, and answers each. Returns how many.
     * Call only on the attached worker thread. If the handler throws, the access is answered with
     * all ones (as an empty bus reads) before the exception propagates.
     */
    public int handlePending(PortIoHandler handler) {
        int handled = 0;
        for (Slot s : slots) {
            if (s.state != PENDING) {
                continue;
            }
            int mask = mask(s.size);
            boolean answered = false;
            try {
                if (s.count > 0) {
                    repeat(s, handler, mask);
                } else if (s.write) {
                    handler.write(s.port, s.size, s.value);
                } else {
                    s.value = handler.read(s.port, s.size) & mask;
                }
                answered = true;
            } finally {
                if (!answered && !s.write) {
                    s.value = mask;
                }
                count++;
                handled++;
                s.state = DONE;
                LockSupport.unpark(s.processor);
            }
        }
        return handled;
    }

    /** A string access on the worker: {@code s.count} INs into memory, or OUTs from it. */
    private void repeat(Slot s, PortIoHandler handler, int mask) {
        long at = s.gpa;
        try {
            for (int i = 0; i < s.count; i++, at += s.size) {
                if (s.write) {
                    int v = switch (s.size) {
                        case 1 -> memory.getByte(at) & 0xFF;
                        case 2 -> memory.getShort(at) & 0xFFFF;
                        default -> memory.getInt(at);
                    };
                    handler.write(s.port, s.size, v);
                } else {
                    int v = handler.read(s.port, s.size) & mask;
                    switch (s.size) {
                        case 1 -> memory.setByte(at, (byte) v);
                        case 2 -> memory.setShort(at, (short) v);
                        default -> memory.setInt(at, v);
                    }
                }
            }
        } catch (GuestMemoryException e) {
            s.fault = e; // checked before posting, so only a bug gets here; the processor throws it
        }
    }

    /** One access from {@code vp}, on its own thread: posts it, wakes the worker, waits for the answer. */
    int access(VirtualProcessor vp, int port, int size, boolean write, int value) {
        Slot s = slots[vp.index()];
        s.count = 0;
        s.value = value & mask(size);
        return post(vp, s, port, size, write);
    }

    /**
     * One string access from {@code vp}: {@code count} values of {@code size} bytes between
     * {@code port} and guest memory from {@code gpa}, which the caller checked lies in the partition.
     */
    void string(VirtualProcessor vp, int port, int size, boolean write, long gpa, int count)
            throws GuestMemoryException {
        if (count < 1) {
            throw new IllegalArgumentException("a string access of " + count + " values");
        }
        Slot s = slots[vp.index()];
        s.count = count;
        s.gpa = gpa;
        s.fault = null;
        post(vp, s, port, size, write);
        if (s.fault != null) {
            throw s.fault;
        }
    }

    /** Posts the access in {@code s}; {@code size} was checked by the caller (mask). */
    private int post(VirtualProcessor vp, Slot s, int port, int size, boolean write) {
        if (port < 0 || port > 0xFFFF) {
            throw new IllegalArgumentException("port 0x" + Integer.toHexString(port) + " is not a 16-bit port");
        }
        s.port = port;
        s.size = size;
        s.write = write;
        s.processor = Thread.currentThread();
        s.state = PENDING;
        LockSupport.unpark(worker);
        int spins = SPINS;
        while (s.state != DONE) {
            vp.checkStop();
            if (spins > 0) {
                spins--;
                Thread.onSpinWait();
            } else {
                LockSupport.park(this);
                if (Thread.interrupted()) {
                    vp.checkStop();
                }
            }
        }
        int result = s.value;
        s.state = IDLE;
        return result;
    }

    static int mask(int size) {
        return switch (size) {
            case 1 -> 0xFF;
            case 2 -> 0xFFFF;
            case 4 -> -1;
            default -> throw new IllegalArgumentException("port access of " + size + " bytes");
        };
    }
}
