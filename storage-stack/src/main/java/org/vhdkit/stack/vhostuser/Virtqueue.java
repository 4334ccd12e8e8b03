package org.vhdkit.stack.vhostuser;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.util.function.Consumer;
import org.vhdkit.stack.protocol.vhostuser.VringAddress;

/**
 * One virtqueue of the device: what the front-end configured (size, addresses, base, eventfds,
 * enabled) and, while started, the worker thread that serves it through a {@link Service}.
 *
 * <h2>The worker</h2>
 * It tells the driver not to kick, serves every available chain, and while the queue stays busy
 * keeps polling the ring (about {@link #SPIN_NANOS} after the last request) without a system call;
 * only when the ring stays empty does it ask for kicks again, look once more (a request may have
 * come as it did), and wait in {@code poll} on the kick eventfd and its own wake eventfd. The call
 * eventfd is signalled once per batch, and only when the driver wants it (its NO_INTERRUPT flag,
 * or with event index its used_event).
 *
 * <p>A refused chain is returned used with length 0 and logged (the first few); an available index
 * that runs more than the ring's size ahead, or a head outside the table, cannot be followed: the
 * queue stops (is reset) and its error eventfd is signalled, until the front-end sets it up again.
 *
 * <p>Thread-safety: the configuration is written by the front-end's thread only while the worker
 * is stopped ({@link #start} publishes it, {@link #stop} joins); the call and error eventfds may
 * change while it runs, under {@link #signalLock}.
 */
final class Virtqueue {
    /** How long a busy queue polls its ring before it waits for a kick. */
    static final long SPIN_NANOS = 20_000;
    private static final int MAX_LOGGED = 16;

    /** What a queue does with the chains the driver makes available. */
    interface Service {
        /** Whether it wants a chain now (the event queue only when it has an event to deliver). */
        boolean wantsChains();

        /** Serves {@code chain}; returns the bytes written into its writable part, -1 to refuse it. */
        int serve(DescriptorChain chain, Scratch scratch);

        /** Prepares the per-worker memory. */
        default void started(Arena arena) {
        }
    }

    /** The native memory a worker reuses. */
    record Scratch(LinuxCalls.Scratch calls, Arena arena) {
    }

    final int index;
    private final String name;
    private final Consumer<String> log;
    final Service service;

    // configuration, written by the front-end's thread
    int size;
    VringAddress address;
    int lastAvailable;
    int kickFd = -1;
    boolean kickPolled;
    boolean kickSet;
    boolean enabled;
    boolean broken;

    final Object signalLock = new Object();
    /** Guarded by signalLock. */
    private int callFd = -1;
    /** Guarded by signalLock. */
    private int errorFd = -1;

    private volatile Thread worker;
    private int wakeFd = -1;
    private volatile boolean stopping;

    Virtqueue(int index, String name, Service service, Consumer<String> log) {
        this.index = index;
        this.name = name;
        this.service = service;
        this.log = log;
    }

    boolean running() {
        return worker != null;
    }

    /**
     * Sets the call eventfd. On a running queue the new one is signalled once at once: qemu sends
     * SET_VRING_CALL after SET_VRING_KICK, so chains the worker used before it had a call
     * descriptor (a driver that makes requests as soon as the device starts, as Linux's scan of a
     * hot-added controller does) were never signalled, and the driver would wait for them for good.
     * A spurious interrupt costs the driver one look at its used ring (libvhost-user does the same).
     */
    void callFd(int fd) {
        int old;
        synchronized (signalLock) {
            old = callFd;
            callFd = fd;
            if (fd >= 0 && worker != null) {
                try (Arena a = Arena.ofConfined()) {
                    LinuxCalls.signal(fd, new LinuxCalls.Scratch(a));
                }
            }
        }
        LinuxCalls.closeQuietly(old);
    }

    void errorFd(int fd) {
        int old;
        synchronized (signalLock) {
            old = errorFd;
            errorFd = fd;
        }
        LinuxCalls.closeQuietly(old);
    }

    void kickFd(int fd, boolean polled) {
        LinuxCalls.closeQuietly(kickFd);
        kickFd = fd;
        kickPolled = polled;
        kickSet = true;
    }

    /** Starts the worker on {@code ring}. Front-end thread only; the queue is stopped. */
    void start(SplitRing ring, DirtyLog dirtyLog) throws IOException {
        stopping = false;
        broken = false;
        wakeFd = LinuxCalls.eventfd();
        worker = Thread.ofPlatform().daemon().name(name).start(() -> run(ring, dirtyLog));
    }

    /** Wakes the worker to look at its service again (the event queue has an event). Any thread. */
    void wake(LinuxCalls.Scratch scratch) {
        int fd = wakeFd;
        if (fd >= 0 && worker != null) {
            LinuxCalls.signal(fd, scratch);
        }
    }

    /** Stops the worker, waiting for the chain it serves. Front-end thread only. */
    void stop() {
        Thread w = worker;
        if (w == null) {
            return;
        }
        stopping = true;
        try (Arena a = Arena.ofConfined()) {
            LinuxCalls.signal(wakeFd, new LinuxCalls.Scratch(a));
        }
        boolean interrupted = false;
        while (true) {
            try {
                w.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        worker = null;
        LinuxCalls.closeQuietly(wakeFd);
        wakeFd = -1;
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Closes the eventfds; the queue is stopped. Front-end thread only. */
    void release() {
        stop();
        LinuxCalls.closeQuietly(kickFd);
        kickFd = -1;
        kickSet = false;
        callFd(-1);
        errorFd(-1);
        size = 0;
        address = null;
        lastAvailable = 0;
        enabled = false;
        broken = false;
    }

    private void run(SplitRing ring, DirtyLog dirtyLog) {
        try (Arena arena = Arena.ofConfined()) {
            Scratch scratch = new Scratch(new LinuxCalls.Scratch(arena), arena);
            service.started(arena);
            DescriptorChain chain = new DescriptorChain();
            int usedIndex = ring.usedIndex();
            int logged = 0;
            ring.notifications(false, lastAvailable);
            while (!stopping) {
                int availableIndex = ring.availableIndex();
                int pending = (availableIndex - lastAvailable) & 0xFFFF;
                if (pending > ring.size()) {
                    fail("the available index " + availableIndex + " is " + pending + " ahead of "
                            + lastAvailable + " in a ring of " + ring.size(), scratch);
                    return;
                }
                if (pending == 0 || !service.wantsChains()) {
                    if (spinUntilWork(ring)) {
                        continue;
                    }
                    ring.notifications(true, lastAvailable);
                    if (hasWork(ring)) {
                        ring.notifications(false, lastAvailable);
                        continue;
                    }
                    int ready = LinuxCalls.poll(kickPolled ? -1 : kickFd, wakeFd, kickPolled ? 1 : -1, scratch.calls());
                    if (kickFd >= 0 && (ready & 1) != 0) {
                        LinuxCalls.drain(kickFd, scratch.calls());
                    }
                    LinuxCalls.drain(wakeFd, scratch.calls());
                    ring.notifications(false, lastAvailable);
                    continue;
                }
                int oldUsed = usedIndex;
                while (pending > 0 && service.wantsChains() && !stopping) {
                    int head = ring.availableHead(lastAvailable);
                    if (head >= ring.size()) {
                        fail("available ring entry " + (lastAvailable & (ring.size() - 1)) + " names descriptor "
                                + head + ", outside the table of " + ring.size(), scratch);
                        return;
                    }
                    lastAvailable = (lastAvailable + 1) & 0xFFFF;
                    pending--;
                    String refused = ring.take(head, chain);
                    int length;
                    if (refused != null) {
                        length = 0;
                    } else {
                        length = service.serve(chain, scratch);
                        if (length < 0) {
                            refused = "the request does not fit its buffers";
                            length = 0;
                        }
                    }
                    if (refused != null && logged++ < MAX_LOGGED) {
                        log.accept(name + ": refused the chain at descriptor " + head + ": " + refused
                                + (logged == MAX_LOGGED ? " (further refusals on this queue are not logged)" : ""));
                    }
                    if (dirtyLog != null && length > 0) {
                        chain.markWritable(dirtyLog);
                    }
                    ring.putUsed(usedIndex, head, length);
                    usedIndex = (usedIndex + 1) & 0xFFFF;
                    ring.publishUsed(usedIndex);
                }
                if (ring.interruptWanted(oldUsed, usedIndex)) {
                    synchronized (signalLock) {
                        if (callFd >= 0) {
                            LinuxCalls.signal(callFd, scratch.calls());
                        }
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            log.accept(name + ": stopped: " + e);
            broken = true;
        }
    }

    private boolean spinUntilWork(SplitRing ring) {
        long until = System.nanoTime() + SPIN_NANOS;
        do {
            if (hasWork(ring)) {
                return true;
            }
            Thread.onSpinWait();
        } while (System.nanoTime() < until && !stopping);
        return false;
    }

    private boolean hasWork(SplitRing ring) {
        return ring.availableIndex() != lastAvailable && service.wantsChains();
    }

    private void fail(String why, Scratch scratch) {
        broken = true;
        log.accept(name + ": reset: " + why);
        synchronized (signalLock) {
            if (errorFd >= 0) {
                LinuxCalls.signal(errorFd, scratch.calls());
            }
        }
    }
}
