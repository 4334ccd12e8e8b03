package org.vhdkit.stack.vhostuser;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import org.vhdkit.stack.protocol.vhostuser.VirtioScsi;
import org.vhdkit.stack.scsi.LogicalUnit;
import org.vhdkit.stack.scsi.ScsiDisk;
import org.vhdkit.stack.scsi.ScsiTarget;

/**
 * A vhost-user-scsi backend: serves the logical units of a {@link ScsiTarget} to a VM whose
 * front-end (qemu's {@code vhost-user-scsi-pci} device) connects to a Unix socket, through the
 * virtqueues in the guest's own memory (qemu's {@code docs/interop/vhost-user.rst}; the virtio
 * SCSI host device). The guest's {@code virtio_scsi} driver is the storage client, the virtqueues
 * the ring, this the storage provider, sharing the SCSI implementation (the {@code scsi} package)
 * with the synthetic SCSI path of {@code storvsp} and the IDE path's ATAPI.
 *
 * <h2>What the front-end gets</h2>
 * Features: VERSION_1, INDIRECT_DESC, EVENT_IDX, LOG_ALL, PROTOCOL_FEATURES and virtio-scsi's
 * HOTPLUG; protocol features: MQ (the control queue, the event queue and
 * {@link Options#requestQueues} request queues), LOG_SHMFD, REPLY_ACK and CONFIG. Split rings
 * only. With LOG_ALL negotiated and a log given (SET_LOG_BASE), every page the backend writes
 * (responses, data-in, used rings with the ring's log flag) is marked in qemu's dirty-page log, so
 * qemu can save or migrate the running VM. One front-end at a time; when it goes away the device
 * is reset and the next one may connect.
 *
 * <h2>Hot plug</h2>
 * {@link #hotAdd} and {@link #hotRemove} change the target (which posts REPORTED LUNS DATA HAS
 * CHANGED to the other units) and send the guest a VIRTIO_SCSI_T_TRANSPORT_RESET event (RESCAN or
 * REMOVED) on the event queue.
 *
 * <p>Thread-safety: every public method may be called from any thread.
 */
public final class VhostUserScsi implements AutoCloseable {
    /** The most LUNs a backend serves (those of a Hyper-V synthetic SCSI controller). */
    public static final int MAX_LUNS = 64;

    /**
     * How the backend presents itself.
     *
     * @param requestQueues the request queues offered (the front-end may use fewer): 1 to 254
     */
    public record Options(int requestQueues) {
        public Options {
            if (requestQueues < 1 || requestQueues > 254) {
                throw new IllegalArgumentException("1 to 254 request queues, not " + requestQueues);
            }
        }

        /**
         * Sixteen request queues: qemu gives a vhost-user-scsi device one per vCPU unless told
         * otherwise, and a queue costs nothing until the front-end starts it.
         */
        public static Options defaults() {
            return new Options(16);
        }
    }

    private final Path socket;
    private final ScsiTarget target;
    private final Consumer<String> log;
    private final int listenFd;
    private final int stopFd;
    private final Virtqueue[] queues;
    private final EventQueue events = new EventQueue();
    private final VirtioScsi.Config config;
    private final LongAdder served = new LongAdder();
    /** The request codes front-ends sent, for tests that watch a real front-end's handshake. */
    final Set<Integer> requestsSeen = ConcurrentHashMap.newKeySet();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final Thread listener;
    private volatile boolean closed;
    private volatile boolean connected;

    private VhostUserScsi(Path socket, ScsiTarget target, Options options, Consumer<String> log, int listenFd,
                          int stopFd) {
        this.socket = socket;
        this.target = target;
        this.log = log;
        this.listenFd = listenFd;
        this.stopFd = stopFd;
        int n = 2 + options.requestQueues();
        this.queues = new Virtqueue[n];
        queues[VirtioScsi.CONTROL_QUEUE] = new Virtqueue(0, "vhost-user-scsi control", new ControlQueue(target, log), log);
        queues[VirtioScsi.EVENT_QUEUE] = new Virtqueue(1, "vhost-user-scsi event", events, log);
        for (int i = VirtioScsi.FIRST_REQUEST_QUEUE; i < n; i++) {
            queues[i] = new Virtqueue(i, "vhost-user-scsi request " + (i - VirtioScsi.FIRST_REQUEST_QUEUE),
                    new RequestQueue(target, served), log);
        }
        this.config = new VirtioScsi.Config(options.requestQueues(), DescriptorChain.MAX_RANGES - 2,
                ScsiDisk.Settings.DEFAULT_MAX_TRANSFER / 512, 128, target.lunCount() - 1);
        this.listener = Thread.ofPlatform().name("vhost-user-scsi " + socket.getFileName()).unstarted(this::listen);
    }

    /**
     * Listens on a new Unix socket at {@code socket} and serves {@code target}'s units to the
     * front-end that connects; {@code log} gets one line per connection event and refusal (from the
     * backend's threads). Returns once listening. Thread-safe.
     *
     * @throws IOException when the socket cannot be made (it exists already, the directory is not
     *     there, the JVM has no native access, the host is not Linux)
     * @throws IllegalArgumentException when the target has more than {@link #MAX_LUNS} LUNs
     */
    public static VhostUserScsi start(Path socket, ScsiTarget target, Options options, Consumer<String> log)
            throws IOException {
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(log, "log");
        if (target.lunCount() > MAX_LUNS) {
            throw new IllegalArgumentException("a vhost-user-scsi backend serves at most " + MAX_LUNS + " LUNs, not "
                    + target.lunCount());
        }
        Path path = socket.toAbsolutePath();
        if (Files.exists(path)) {
            throw new IOException(path + ": already exists; remove it or choose another socket path");
        }
        int listenFd = LinuxCalls.listen(path);
        int stopFd;
        try {
            stopFd = LinuxCalls.eventfd();
        } catch (IOException e) {
            LinuxCalls.closeQuietly(listenFd);
            throw e;
        }
        VhostUserScsi backend = new VhostUserScsi(path, target, options, log, listenFd, stopFd);
        backend.listener.start();
        return backend;
    }

    /**
     * {@link #start(Path, ScsiTarget, Options, Consumer)} with the default options and a target of
     * {@link #MAX_LUNS} LUNs holding {@code units} at LUNs 0, 1, 2... in order (a null entry leaves
     * its LUN empty). Thread-safe.
     *
     * @throws IllegalArgumentException when there are more than {@link #MAX_LUNS} units
     */
    public static VhostUserScsi start(Path socket, List<? extends LogicalUnit> units, Consumer<String> log)
            throws IOException {
        if (units.size() > MAX_LUNS) {
            throw new IllegalArgumentException(units.size() + " units; a backend serves at most " + MAX_LUNS);
        }
        ScsiTarget target = new ScsiTarget("vhost-user-scsi " + socket.getFileName(), MAX_LUNS);
        for (int lun = 0; lun < units.size(); lun++) {
            if (units.get(lun) != null) {
                target.attach(lun, units.get(lun));
            }
        }
        return start(socket, target, Options.defaults(), log);
    }

    /** The socket's path. Thread-safe. */
    public Path socket() {
        return socket;
    }

    /** The target served. Thread-safe. */
    public ScsiTarget target() {
        return target;
    }

    /** Whether a front-end is connected now. Thread-safe. */
    public boolean connected() {
        return connected;
    }

    /** SCSI commands executed on the target since the start. Thread-safe. */
    public long commandsExecuted() {
        return served.sum();
    }

    /**
     * Attaches {@code unit} at {@code lun} while serving and tells the guest (a TRANSPORT_RESET
     * RESCAN event). Thread-safe.
     *
     * @throws IllegalArgumentException when the LUN is outside the target
     * @throws IllegalStateException when a unit is there already
     */
    public void hotAdd(int lun, LogicalUnit unit) {
        target.hotAdd(lun, unit);
        postEvent(new EventQueue.Event(VirtioScsi.T_TRANSPORT_RESET, lun, VirtioScsi.EVT_RESET_RESCAN));
    }

    /**
     * Takes the unit at {@code lun} away while serving and tells the guest (a TRANSPORT_RESET
     * REMOVED event); returns it, or empty when there was none. Commands already running on it
     * finish; close its disk once the guest has let it go. Thread-safe.
     */
    public Optional<LogicalUnit> hotRemove(int lun) {
        Optional<LogicalUnit> removed = target.hotRemove(lun);
        if (removed.isPresent()) {
            postEvent(new EventQueue.Event(VirtioScsi.T_TRANSPORT_RESET, lun, VirtioScsi.EVT_RESET_REMOVED));
        }
        return removed;
    }

    private void postEvent(EventQueue.Event e) {
        events.post(e);
        try (Arena a = Arena.ofConfined()) {
            queues[VirtioScsi.EVENT_QUEUE].wake(new LinuxCalls.Scratch(a));
        }
    }

    private void listen() {
        try (Arena arena = Arena.ofConfined()) {
            LinuxCalls.Scratch scratch = new LinuxCalls.Scratch(arena);
            log.accept("listening on " + socket);
            while (!closed) {
                int ready = LinuxCalls.poll(listenFd, stopFd, -1, scratch);
                if ((ready & 2) != 0 || closed) {
                    break;
                }
                if ((ready & 1) == 0) {
                    continue;
                }
                int fd = LinuxCalls.accept(listenFd);
                connected = true;
                log.accept("a front-end connected");
                try {
                    new FrontEnd(fd, stopFd, queues, events, config, log, requestsSeen).serve();
                } finally {
                    connected = false;
                    LinuxCalls.closeQuietly(fd);
                }
            }
        } catch (IOException | RuntimeException e) {
            log.accept("stopped listening: " + e);
        } finally {
            stopped.countDown();
        }
    }

    /**
     * How many of the front-end's rings the backend is serving now: none once the front-end stopped
     * the device (qemu does when its VM pauses, taking each ring's base back), so that nothing the
     * guest queued can reach a disk until it starts them again. Thread-safe.
     */
    public int ringsServed() {
        int n = 0;
        for (Virtqueue q : queues) {
            if (q.running()) {
                n++;
            }
        }
        return n;
    }

    /** Waits until the backend stops (after {@link #close}). Thread-safe. */
    public void awaitTermination() throws InterruptedException {
        stopped.await();
    }

    /**
     * Stops serving: disconnects the front-end (its queues stop after the requests they are
     * executing), unmaps the guest's memory, removes the socket. The units and their disks stay the
     * caller's. Idempotent; thread-safe.
     */
    @Override
    public void close() throws IOException {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        try (Arena a = Arena.ofConfined()) {
            LinuxCalls.signal(stopFd, new LinuxCalls.Scratch(a));
        }
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while stopping the vhost-user-scsi backend on " + socket);
        }
        LinuxCalls.closeQuietly(listenFd);
        LinuxCalls.closeQuietly(stopFd);
        Files.deleteIfExists(socket);
    }

    @Override
    public String toString() {
        return "VhostUserScsi[" + socket + ", " + target + "]";
    }
}
