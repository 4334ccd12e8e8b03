package org.vhdkit.stack.partition;

import java.util.concurrent.locks.LockSupport;

/**
 * The port I/O intercepts of one child partition on their way to its VM worker: each virtual
 * processor's IN or OUT is posted here, handled on the worker's thread and answered back to the
 * processor, which waits for it. One synchronous round trip per access, as on Hyper-V's emulated
 * path; nothing is allocated per access.
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
        Thread processor;
    }

    private final Slot[] slots;
    private volatile Thread worker;
    private volatile long count; // written only by the worker thread

    InterceptQueue(int processors) {
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
                if (s.write) {
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

    /** One access from {@code vp}, on its own thread: posts it, wakes the worker, waits for the answer. */
    int access(VirtualProcessor vp, int port, int size, boolean write, int value) {
        if (port < 0 || port > 0xFFFF) {
            throw new IllegalArgumentException("port 0x" + Integer.toHexString(port) + " is not a 16-bit port");
        }
        Slot s = slots[vp.index()];
        s.port = port;
        s.size = size;
        s.write = write;
        s.value = value & mask(size);
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
