package org.vhdkit.stack.vhostuser;

import static org.vhdkit.stack.protocol.vhostuser.VhostUser.*;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.function.Consumer;
import org.vhdkit.stack.protocol.ProtocolException;
import org.vhdkit.stack.protocol.vhostuser.ConfigPayload;
import org.vhdkit.stack.protocol.vhostuser.LogBase;
import org.vhdkit.stack.protocol.vhostuser.MemoryTable;
import org.vhdkit.stack.protocol.vhostuser.MessageHeader;
import org.vhdkit.stack.protocol.vhostuser.VirtioScsi;
import org.vhdkit.stack.protocol.vhostuser.VringAddress;
import org.vhdkit.stack.protocol.vhostuser.VringFile;
import org.vhdkit.stack.protocol.vhostuser.VringState;

/**
 * One front-end's connection (qemu's vhost-user-scsi device): reads its messages, keeps the device
 * state they set (features, memory table, each queue's configuration) and starts and stops the
 * queues' workers.
 *
 * <h2>What is refused, and how</h2>
 * A message whose payload is too short for its request, whose values are out of range (a ring
 * index beyond the queues, a ring size that is not a power of two up to 32768, features not
 * offered), that lacks the file descriptor it needs or brings one of the wrong kind (a ring's kick,
 * call or error descriptor that is not an eventfd) is refused: with REPLY_ACK negotiated and
 * NEED_REPLY set the front-end gets a non-zero acknowledgement, and the connection goes on. An
 * unknown request is refused the same way (its payload is read and dropped). What leaves the
 * stream unreadable (a bad version, a payload longer than {@link
 * org.vhdkit.stack.protocol.vhostuser.VhostUser#MAX_PAYLOAD}, the stream ending inside a message)
 * ends the connection; the backend then waits for the next one.
 *
 * <p>Thread-safety: confined to the thread that runs {@link #serve}, except {@link #postEvent}
 * (any thread: the event queue's list has its own guard) and {@link #wakeEvents}.
 */
final class FrontEnd {
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** The virtio features offered. */
    static final long FEATURES = 1L << F_VERSION_1 | 1L << F_RING_INDIRECT_DESC | 1L << F_RING_EVENT_IDX
            | 1L << F_LOG_ALL
            | 1L << F_PROTOCOL_FEATURES | 1L << VirtioScsi.F_HOTPLUG
            // qemu's vhost-user-scsi-pci (7.2) passes its own param_change property's bit through
            // without asking the backend (it is not in qemu's list of backend-owned bits), so it
            // sets F_CHANGE whatever is offered; offering it lets qemu's SET_FEATURES through. The
            // bit only permits PARAM_CHANGE events; the backend need not send any.
            | 1L << VirtioScsi.F_CHANGE;
    /** The protocol features offered. */
    static final long PROTOCOL_FEATURES = 1L << PROTOCOL_F_MQ | 1L << PROTOCOL_F_LOG_SHMFD | 1L << PROTOCOL_F_REPLY_ACK
            | 1L << PROTOCOL_F_CONFIG;

    private final int socket;
    private final Virtqueue[] queues;
    private final EventQueue events;
    private final VirtioScsi.Config config;
    private final Consumer<String> log;
    private final int stopFd;
    private final java.util.Set<Integer> requestsSeen;

    private long features;
    private long protocolFeatures;
    private boolean featuresSet;
    private volatile GuestRegions memory;
    private DirtyLog dirtyLog;

    FrontEnd(int socket, int stopFd, Virtqueue[] queues, EventQueue events, VirtioScsi.Config config,
             Consumer<String> log, java.util.Set<Integer> requestsSeen) {
        this.requestsSeen = requestsSeen;
        this.socket = socket;
        this.stopFd = stopFd;
        this.queues = queues;
        this.events = events;
        this.config = config;
        this.log = log;
    }

    /** Serves messages until the front-end goes away, the stream breaks, or the stop eventfd fires. */
    void serve() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment header = arena.allocate(MessageHeader.LENGTH);
            MemorySegment payload = arena.allocate(MAX_PAYLOAD + 8);
            MemorySegment reply = arena.allocate(MessageHeader.LENGTH + MAX_PAYLOAD);
            LinuxCalls.Scratch scratch = new LinuxCalls.Scratch(arena);
            int[] fds = new int[LinuxCalls.MAX_FDS];
            while (true) {
                int ready = LinuxCalls.poll(socket, stopFd, -1, scratch);
                if ((ready & 2) != 0) {
                    return;
                }
                if ((ready & 1) == 0) {
                    continue;
                }
                int fdCount = 0;
                int got = 0;
                while (got < MessageHeader.LENGTH) {
                    int[] into = got == 0 ? fds : new int[LinuxCalls.MAX_FDS];
                    long r = LinuxCalls.receive(socket, header.asSlice(got), MessageHeader.LENGTH - got, into);
                    int n = (int) r;
                    int count = (int) (r >>> 32);
                    if (got == 0) {
                        fdCount = count;
                    } else {
                        closeAll(into, count);
                    }
                    if (n == 0) {
                        closeAll(fds, fdCount);
                        if (got > 0) {
                            log.accept("the front-end closed the connection inside a message header");
                        } else {
                            log.accept("the front-end closed the connection");
                        }
                        return;
                    }
                    got += n;
                }
                MessageHeader h;
                try {
                    h = MessageHeader.decode(header, 0);
                } catch (ProtocolException e) {
                    closeAll(fds, fdCount);
                    log.accept("closing the connection: " + e.getMessage());
                    return;
                }
                payload.fill((byte) 0);
                if (LinuxCalls.readFully(socket, payload, h.size()) < h.size()) {
                    closeAll(fds, fdCount);
                    log.accept("closing the connection: it ended inside the payload of " + h.name());
                    return;
                }
                int[] received = Arrays.copyOf(fds, fdCount);
                handle(h, payload, received, reply);
            }
        } catch (IOException e) {
            log.accept("closing the connection: " + e.getMessage());
        } finally {
            reset();
        }
    }

    private void handle(MessageHeader h, MemorySegment payload, int[] fds, MemorySegment reply) throws IOException {
        requestsSeen.add(h.request());
        boolean[] fdTaken = new boolean[fds.length];
        long ack = 0;
        boolean replied = false;
        try {
            switch (h.request()) {
                case GET_FEATURES -> {
                    reply(h, reply, u64(reply, FEATURES));
                    replied = true;
                }
                case SET_FEATURES -> {
                    long f = h.u64(payload);
                    if ((f & ~FEATURES) != 0) {
                        throw refused(h, "features 0x" + Long.toHexString(f) + " include some not offered (0x"
                                + Long.toHexString(FEATURES) + ")");
                    }
                    stopAll();
                    features = f;
                    featuresSet = true;
                    startAll();
                }
                case GET_PROTOCOL_FEATURES -> {
                    reply(h, reply, u64(reply, PROTOCOL_FEATURES));
                    replied = true;
                }
                case SET_PROTOCOL_FEATURES -> {
                    long f = h.u64(payload);
                    if ((f & ~PROTOCOL_FEATURES) != 0) {
                        throw refused(h, "protocol features 0x" + Long.toHexString(f) + " include some not offered");
                    }
                    protocolFeatures = f;
                }
                case GET_QUEUE_NUM -> {
                    reply(h, reply, u64(reply, queues.length));
                    replied = true;
                }
                case SET_OWNER -> {
                }
                case RESET_OWNER, RESET_DEVICE -> reset();
                case SET_MEM_TABLE -> {
                    MemoryTable table = MemoryTable.decode(h, payload, fds.length);
                    GuestRegions mapped = GuestRegions.map(table, fds);
                    boolean[] wasRunning = stopAll();
                    GuestRegions old = memory;
                    memory = mapped;
                    if (old != null) {
                        old.close();
                    }
                    log.accept("memory table: " + table.regions().size() + " regions, "
                            + table.regions().stream().mapToLong(MemoryTable.Region::size).sum() + " bytes");
                    for (int i = 0; i < queues.length; i++) {
                        if (wasRunning[i]) {
                            maybeStart(queues[i]);
                        }
                    }
                    startAll();
                }
                case SET_LOG_BASE -> {
                    LogBase base = LogBase.decode(h, payload);
                    if (fds.length != 1) {
                        throw refused(h, "came with " + fds.length + " file descriptors; it needs one");
                    }
                    DirtyLog mapped = DirtyLog.map(base, fds[0]);
                    boolean[] wasRunning = stopAll();
                    DirtyLog old = dirtyLog;
                    dirtyLog = mapped;
                    if (old != null) {
                        old.close();
                    }
                    for (int i = 0; i < queues.length; i++) {
                        if (wasRunning[i]) {
                            maybeStart(queues[i]);
                        }
                    }
                    log.accept("dirty-page log: " + base.size() + " bytes");
                    reply(h, reply, 0);
                    replied = true;
                }
                case SET_LOG_FD -> {
                }
                case SET_VRING_NUM -> {
                    VringState s = VringState.decode(h, payload);
                    Virtqueue q = queue(h, s.index());
                    if (s.num() < 1 || s.num() > 32768 || Integer.bitCount(s.num()) != 1) {
                        throw refused(h, "ring size " + Integer.toUnsignedString(s.num())
                                + "; a power of two from 1 to 32768");
                    }
                    q.stop();
                    q.size = s.num();
                }
                case SET_VRING_ADDR -> {
                    VringAddress a = VringAddress.decode(h, payload);
                    Virtqueue q = queue(h, a.index());
                    boolean was = q.running();
                    q.stop();
                    q.address = a;
                    if (was) {
                        maybeStart(q);
                    }
                }
                case SET_VRING_BASE -> {
                    VringState s = VringState.decode(h, payload);
                    Virtqueue q = queue(h, s.index());
                    if (Integer.compareUnsigned(s.num(), 0xFFFF) > 0) {
                        throw refused(h, "base " + Integer.toUnsignedString(s.num()) + "; a split ring's is 0 to 65535");
                    }
                    q.stop();
                    q.lastAvailable = s.num();
                }
                case GET_VRING_BASE -> {
                    VringState s = VringState.decode(h, payload);
                    Virtqueue q = queue(h, s.index());
                    q.stop();
                    int base = q.lastAvailable;
                    LinuxCalls.closeQuietly(q.kickFd);
                    q.kickFd = -1;
                    q.kickSet = false;
                    reply.set(ValueLayout.JAVA_INT_UNALIGNED, MessageHeader.LENGTH, s.index());
                    reply.set(ValueLayout.JAVA_INT_UNALIGNED, MessageHeader.LENGTH + 4, base);
                    reply(h, reply, VringState.LENGTH);
                    replied = true;
                }
                case SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ERR -> {
                    VringFile f = VringFile.decode(h, payload);
                    Virtqueue q = queue(h, f.index());
                    if (!f.noFd() && fds.length != 1) {
                        throw refused(h, "came with " + fds.length + " file descriptors; it needs one");
                    }
                    if (!f.noFd() && !LinuxCalls.isEventfd(fds[0])) {
                        // A worker reads its kick descriptor: any other kind of file may block it for
                        // good (a socket, a pipe), and with it the front-end's thread that stops it.
                        throw refused(h, "its file descriptor is not an eventfd");
                    }
                    int fd = f.noFd() ? -1 : fds[0];
                    if (!f.noFd()) {
                        fdTaken[0] = true;
                    }
                    if (h.request() == SET_VRING_CALL) {
                        q.callFd(fd);
                    } else if (h.request() == SET_VRING_ERR) {
                        q.errorFd(fd);
                    } else {
                        q.stop();
                        q.kickFd(fd, f.noFd());
                        maybeStart(q);
                    }
                }
                case SET_VRING_ENABLE -> {
                    VringState s = VringState.decode(h, payload);
                    Virtqueue q = queue(h, s.index());
                    if (s.num() != 0 && s.num() != 1) {
                        throw refused(h, "enable " + Integer.toUnsignedString(s.num()) + "; 0 or 1");
                    }
                    q.enabled = s.num() == 1;
                    if (q.enabled) {
                        maybeStart(q);
                    } else {
                        q.stop();
                    }
                }
                case GET_CONFIG -> {
                    ConfigPayload c = ConfigPayload.decode(h, payload);
                    MemorySegment space = reply.asSlice(MessageHeader.LENGTH + ConfigPayload.HEAD);
                    space.asSlice(0, ConfigPayload.MAX_SIZE).fill((byte) 0);
                    MemorySegment full = payload.asSlice(MAX_PAYLOAD - ConfigPayload.MAX_SIZE, ConfigPayload.MAX_SIZE);
                    full.fill((byte) 0);
                    config.encode(full, 0);
                    MemorySegment.copy(full, c.offset(), space, 0, c.size());
                    c.encode(reply.asSlice(MessageHeader.LENGTH));
                    reply(h, reply, ConfigPayload.HEAD + c.size());
                    replied = true;
                }
                case SET_CONFIG -> throw refused(h, "the configuration space is read-only");
                case SET_VRING_ENDIAN -> throw refused(h, "only little-endian rings are served");
                default -> throw refused(h, "the request is not supported");
            }
        } catch (ProtocolException e) {
            log.accept("refused: " + e.getMessage());
            ack = 1;
        } catch (IOException e) {
            log.accept("refused " + h.name() + ": " + e.getMessage());
            ack = 1;
        } finally {
            for (int i = 0; i < fds.length; i++) {
                if (!fdTaken[i]) {
                    LinuxCalls.closeQuietly(fds[i]);
                }
            }
        }
        if (!replied && (h.request() == SET_LOG_BASE
                || h.needsReply() && (protocolFeatures & 1L << PROTOCOL_F_REPLY_ACK) != 0)) {
            // SET_LOG_BASE is always answered: a front-end waits for its reply, refused or not.
            reply(h, reply, u64(reply, ack));
        }
    }

    private static ProtocolException refused(MessageHeader h, String problem) {
        return new ProtocolException(PROTOCOL, h.name(), MessageHeader.LENGTH, problem);
    }

    private Virtqueue queue(MessageHeader h, int index) throws ProtocolException {
        if (index < 0 || index >= queues.length) {
            throw refused(h, "ring " + Integer.toUnsignedString(index) + "; the device has " + queues.length);
        }
        return queues[index];
    }

    private static int u64(MemorySegment reply, long value) {
        reply.set(U64, MessageHeader.LENGTH, value);
        return 8;
    }

    private void reply(MessageHeader h, MemorySegment reply, int size) throws IOException {
        MessageHeader.reply(h.request(), size).encode(reply, 0);
        LinuxCalls.send(socket, reply, MessageHeader.LENGTH + size, new int[0]);
    }

    /** Starts {@code q} when it has all it needs: size, addresses, memory, a kick, and is enabled. */
    private void maybeStart(Virtqueue q) {
        boolean enabledNow = q.enabled || (features & 1L << F_PROTOCOL_FEATURES) == 0;
        GuestRegions m = memory;
        if (!featuresSet || q.running() || !q.kickSet || !enabledNow || m == null || q.address == null || q.size == 0) {
            return;
        }
        try {
            DirtyLog logging = (features & 1L << F_LOG_ALL) != 0 ? dirtyLog : null;
            SplitRing ring = SplitRing.at(m, q.size, q.address.descriptorTable(), q.address.availableRing(),
                    q.address.usedRing(), (features & 1L << F_RING_INDIRECT_DESC) != 0,
                    (features & 1L << F_RING_EVENT_IDX) != 0, logging,
                    (q.address.flags() & VringAddress.F_LOG) != 0 ? q.address.log() : -1);
            q.start(ring, logging);
        } catch (IllegalArgumentException | IOException e) {
            log.accept("ring " + q.index + " not started: " + e.getMessage());
        }
    }

    private void startAll() {
        if (!featuresSet) {
            return;
        }
        for (Virtqueue q : queues) {
            maybeStart(q);
        }
    }

    private boolean[] stopAll() {
        boolean[] was = new boolean[queues.length];
        for (int i = 0; i < queues.length; i++) {
            was[i] = queues[i].running();
            queues[i].stop();
        }
        return was;
    }

    /** Stops every queue, releases their eventfds, unmaps memory, forgets the features. */
    private void reset() {
        for (Virtqueue q : queues) {
            q.release();
        }
        events.clear();
        GuestRegions m = memory;
        memory = null;
        if (m != null) {
            m.close();
        }
        if (dirtyLog != null) {
            dirtyLog.close();
            dirtyLog = null;
        }
        features = 0;
        protocolFeatures = 0;
        featuresSet = false;
    }

    private static void closeAll(int[] fds, int count) {
        for (int i = 0; i < count; i++) {
            LinuxCalls.closeQuietly(fds[i]);
        }
    }
}
