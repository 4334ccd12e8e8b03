package org.vhdkit.stack.vhostuser;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.stack.protocol.vhostuser.VhostUser.*;
import static org.vhdkit.stack.vhostuser.TestFrontEnd.MEMORY;
import static org.vhdkit.stack.vhostuser.TestFrontEnd.RING_SIZE;
import static org.vhdkit.stack.vhostuser.TestFrontEnd.U16;
import static org.vhdkit.stack.vhostuser.TestFrontEnd.U32;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.protocol.vhostuser.ConfigPayload;
import org.vhdkit.stack.protocol.vhostuser.LogBase;
import org.vhdkit.stack.protocol.vhostuser.MemoryTable;
import org.vhdkit.stack.protocol.vhostuser.VirtioScsi;
import org.vhdkit.stack.protocol.vhostuser.VringAddress;
import org.vhdkit.stack.protocol.vhostuser.VringFile;
import org.vhdkit.stack.scsi.ScsiDisk;
import org.vhdkit.stack.scsi.ScsiTarget;
import org.vhdkit.stack.vhostuser.TestFrontEnd.Ring;
import org.vhdkit.vhd.disk.MemoryDisk;
import org.vhdkit.vhd.io.Libc;

/**
 * The vhost-user messages a front-end may send besides the ones a plain setup uses (qemu sends
 * GET_CONFIG, SET_VRING_ERR, RESET_DEVICE, and newer requests the backend refuses), what it may get
 * wrong, and how the backend is started: every refusal is acknowledged as one, logged naming the
 * request and what was wrong, and the connection goes on. No qemu needed.
 */
class VhostUserMessagesTest {
    private static final long WANTED = 1L << F_VERSION_1 | 1L << F_PROTOCOL_FEATURES | 1L << VirtioScsi.F_HOTPLUG;

    @TempDir
    Path dir;

    private final List<String> log = Collections.synchronizedList(new ArrayList<>());
    private final List<AutoCloseable> closing = new ArrayList<>();
    private VhostUserScsi backend;

    @BeforeEach
    void serve() throws IOException {
        ScsiTarget target = new ScsiTarget("vhost-user-messages", VhostUserScsi.MAX_LUNS);
        target.attach(0, ScsiDisk.of(MemoryDisk.create("disk", 1 << 20), ScsiDisk.Settings.of(UUID.randomUUID())));
        backend = VhostUserScsi.start(dir.resolve("vu.sock"), target, new VhostUserScsi.Options(2), log::add);
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : closing.reversed()) {
            c.close();
        }
        backend.close();
    }

    private TestFrontEnd connect() throws IOException {
        TestFrontEnd f = TestFrontEnd.connect(backend.socket());
        closing.add(f);
        return f;
    }

    private int eventfd() throws IOException {
        int fd = LinuxCalls.eventfd();
        closing.add(() -> LinuxCalls.closeQuietly(fd));
        return fd;
    }

    /** A refusal: a non-zero acknowledgement, and a log line naming the request and the problem. */
    private void refused(long ack, String request, String problem) {
        assertNotEquals(0, ack, request + " was acknowledged as done");
        assertTrue(log.stream().anyMatch(l -> l.contains(request) && l.contains(problem)),
                "no line names " + request + " and '" + problem + "': " + log);
    }

    /** Waits (10 s at most) until a log line holds {@code text}. */
    private void awaitLogged(String text) throws InterruptedException {
        for (int i = 0; i < 1000 && log.stream().noneMatch(l -> l.contains(text)); i++) {
            Thread.sleep(10);
        }
        assertTrue(log.stream().anyMatch(l -> l.contains(text)), "never logged '" + text + "': " + log);
    }

    private static void good(TestFrontEnd f, Ring r) throws IOException {
        TestFrontEnd.Outcome o = f.scsi(r, 0, new byte[6], null, 0);
        if (o.status() == 2 && o.senseKey() == 6) { // the power-on unit attention
            o = f.scsi(r, 0, new byte[6], null, 0);
        }
        assertEquals(VirtioScsi.S_OK, o.response());
        assertEquals(0, o.status(), "TEST UNIT READY");
    }

    /** virtio's struct virtio_scsi_config, at the offsets the specification gives, whole and in part. */
    @Test
    void getConfigAnswersTheVirtioScsiConfigurationSpaceAndSetConfigIsRefused() throws Exception {
        TestFrontEnd f = connect();
        f.handshake(WANTED);
        MemorySegment p = f.arena.allocate(ConfigPayload.HEAD + ConfigPayload.MAX_SIZE);
        new ConfigPayload(0, VirtioScsi.CONFIG_LENGTH, 0).encode(p);
        f.send(GET_CONFIG, 0, p, ConfigPayload.HEAD + VirtioScsi.CONFIG_LENGTH);
        MemorySegment whole = f.reply(GET_CONFIG);
        assertEquals(ConfigPayload.HEAD + 36, whole.byteSize());
        assertEquals(0, whole.get(U32, 0), "offset");
        assertEquals(36, whole.get(U32, 4), "size");
        MemorySegment space = whole.asSlice(ConfigPayload.HEAD);
        assertEquals(2, space.get(U32, 0), "num_queues: the request queues offered");
        assertEquals(DescriptorChain.MAX_RANGES - 2, space.get(U32, 4), "seg_max");
        assertEquals(ScsiDisk.Settings.DEFAULT_MAX_TRANSFER / 512, space.get(U32, 8), "max_sectors");
        assertEquals(128, space.get(U32, 12), "cmd_per_lun");
        assertEquals(16, space.get(U32, 16), "event_info_size");
        assertEquals(96, space.get(U32, 20), "sense_size");
        assertEquals(32, space.get(U32, 24), "cdb_size");
        assertEquals(0, space.get(U16, 28), "max_channel");
        assertEquals(0, space.get(U16, 30), "max_target");
        assertEquals(VhostUserScsi.MAX_LUNS - 1, space.get(U32, 32), "max_lun");

        new ConfigPayload(32, 4, 0).encode(p);
        f.send(GET_CONFIG, 0, p, ConfigPayload.HEAD + 4);
        MemorySegment part = f.reply(GET_CONFIG);
        assertEquals(ConfigPayload.HEAD + 4, part.byteSize());
        assertEquals(VhostUserScsi.MAX_LUNS - 1, part.get(U32, ConfigPayload.HEAD), "max_lun alone");

        new ConfigPayload(250, 10, 0).encode(p);
        refused(f.acked(GET_CONFIG, p, ConfigPayload.HEAD + 10), "GET_CONFIG (24)", "250 and 10");
        new ConfigPayload(0, 4, 0).encode(p);
        refused(f.acked(SET_CONFIG, p, ConfigPayload.HEAD + 4), "SET_CONFIG (25)", "read-only");
        assertEquals(4, f.getU64(GET_QUEUE_NUM), "still answering");
    }

    @Test
    void valuesOutOfRangeAndRequestsNotServedAreRefusedByName() throws Exception {
        TestFrontEnd f = connect();
        f.handshake(WANTED);
        refused(f.ackedU64(SET_PROTOCOL_FEATURES, 1L << 60), "SET_PROTOCOL_FEATURES (16)", "not offered");
        refused(f.ackedState(SET_VRING_BASE, 2, 70000), "SET_VRING_BASE (10)", "base 70000");
        refused(f.ackedState(SET_VRING_ENABLE, 2, 2), "SET_VRING_ENABLE (18)", "enable 2; 0 or 1");
        refused(f.ackedU64(SET_VRING_CALL, 0x1_0000_0002L), "SET_VRING_CALL (13) u64", "0x100000002");
        refused(f.ackedState(SET_VRING_ENDIAN, 2, 1), "SET_VRING_ENDIAN (23)", "only little-endian");
        for (int request : new int[] {SET_BACKEND_REQ_FD, GET_INFLIGHT_FD, SET_INFLIGHT_FD, GET_MAX_MEM_SLOTS, 99}) {
            refused(f.ackedU64(request, 0), requestName(request), "not supported");
        }

        MemorySegment p = f.arena.allocate(LogBase.LENGTH);
        new LogBase(4096, 0).encode(p);
        refused(f.acked(SET_LOG_BASE, p, LogBase.LENGTH), "SET_LOG_BASE (6)", "came with 0 file descriptors");
        new LogBase(4096, 4).encode(p);
        refused(f.acked(SET_LOG_BASE, p, LogBase.LENGTH, f.memfd), "SET_LOG_BASE (6)", "mmap_offset 0x4");
        new LogBase(0, 0).encode(p);
        refused(f.acked(SET_LOG_BASE, p, LogBase.LENGTH, f.memfd), "SET_LOG_BASE (6) mmap_size", "0x0 bytes");

        // The device still works, and a reset leaves it to be set up afresh.
        good(f, f.ring(VirtioScsi.FIRST_REQUEST_QUEUE));
        f.send(RESET_DEVICE, 0, p, 0);
        f.handshake(WANTED);
        good(f, f.ring(VirtioScsi.FIRST_REQUEST_QUEUE + 1));
    }

    /**
     * Descriptors the backend cannot map as the message asks (a file opened read-only, a socket)
     * are refused naming the call and the errno; the memory table in force stays.
     */
    @Test
    void descriptorsThatCannotBeMappedAreRefusedNamingTheCallAndErrno() throws Exception {
        Libc libc = Libc.system().orElseThrow();
        Path file = dir.resolve("region.bin");
        Files.write(file, new byte[(int) MEMORY]);
        Libc.Result readOnly = libc.open(file.toString(), Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        assertTrue(!readOnly.failed(), "open: errno " + readOnly.errno());
        int fd = readOnly.intValue();
        closing.add(() -> libc.close(fd));
        TestFrontEnd f = connect();
        f.handshake(WANTED);
        List<MemoryTable.Region> one = List.of(new MemoryTable.Region(0, MEMORY, f.base, 0));
        refused(f.setMemTable(one, fd), "SET_MEM_TABLE (5)", "errno 13 (EACCES)");
        int socket = LinuxCalls.listen(dir.resolve("not-memory.sock"));
        closing.add(() -> LinuxCalls.closeQuietly(socket));
        refused(f.setMemTable(one, socket), "SET_MEM_TABLE (5)",
                "lseek to the end of a memory region's descriptor failed: errno 29");
        MemorySegment p = f.arena.allocate(LogBase.LENGTH);
        new LogBase(4096, 0).encode(p);
        refused(f.acked(SET_LOG_BASE, p, LogBase.LENGTH, fd), "SET_LOG_BASE (6)", "errno 13 (EACCES)");
        good(f, f.ring(VirtioScsi.FIRST_REQUEST_QUEUE));
    }

    /** A ring whose addresses lie outside the memory table, or are misaligned, is not started, and the log says why. */
    @Test
    void aRingOutsideGuestMemoryOrMisalignedIsNotStarted() throws Exception {
        TestFrontEnd f = connect();
        f.handshake(WANTED);
        int index = VirtioScsi.FIRST_REQUEST_QUEUE;
        TestFrontEnd.check(f.ackedState(SET_VRING_NUM, index, RING_SIZE), "SET_VRING_NUM");
        MemorySegment a = f.arena.allocate(VringAddress.LENGTH);
        new VringAddress(index, 0, f.base + MEMORY + 0x1000, f.base + 0x20000, f.base + 0x10800, 0).encode(a);
        TestFrontEnd.check(f.acked(SET_VRING_ADDR, a, VringAddress.LENGTH), "SET_VRING_ADDR");
        MemorySegment k = f.arena.allocate(8);
        new VringFile(index, false).encode(k);
        TestFrontEnd.check(f.acked(SET_VRING_KICK, k, 8, eventfd()), "SET_VRING_KICK");
        TestFrontEnd.check(f.ackedState(SET_VRING_ENABLE, index, 1), "SET_VRING_ENABLE");
        awaitLogged("ring " + index + " not started: the ring of 128 entries (descriptors at 0x"
                + Long.toHexString(f.base + MEMORY + 0x1000));

        new VringAddress(index, 0, f.base + 0x10001, f.base + 0x20000, f.base + 0x10800, 0).encode(a);
        TestFrontEnd.check(f.acked(SET_VRING_ADDR, a, VringAddress.LENGTH), "SET_VRING_ADDR");
        TestFrontEnd.check(f.ackedState(SET_VRING_ENABLE, index, 1), "SET_VRING_ENABLE");
        awaitLogged("ring " + index + " not started: the ring is misaligned");
        good(f, f.ring(index));
    }

    /**
     * A head index past the descriptor table cannot be followed: the ring is reset, the front-end is
     * told on the ring's error eventfd (SET_VRING_ERR), and the other rings go on.
     */
    @Test
    void aHeadOutsideTheTableResetsTheRingAndSignalsItsErrorEventfd() throws Exception {
        TestFrontEnd f = connect();
        f.handshake(WANTED);
        Ring broken = f.ring(VirtioScsi.FIRST_REQUEST_QUEUE);
        Ring other = f.ring(VirtioScsi.FIRST_REQUEST_QUEUE + 1);
        int error = eventfd();
        MemorySegment e = f.arena.allocate(8);
        new VringFile(broken.index, false).encode(e);
        TestFrontEnd.check(f.acked(SET_VRING_ERR, e, 8, error), "SET_VRING_ERR");
        broken.publish(RING_SIZE + 72);
        try (Arena arena = Arena.ofConfined()) {
            LinuxCalls.Scratch scratch = new LinuxCalls.Scratch(arena);
            assertEquals(1, LinuxCalls.poll(error, -1, 10_000, scratch) & 1, "the error eventfd was not signalled");
            assertEquals(1, LinuxCalls.drain(error, scratch));
        }
        assertTrue(log.stream().anyMatch(l -> l.contains("reset: available ring entry 0 names descriptor 200,"
                + " outside the table of 128")), "logged: " + log);
        good(f, other);
    }

    /** What makes the stream unreadable ends the connection, logged; the next front-end is served. */
    @Test
    void anOversizedPayloadOrAHeaderCutShortEndsTheConnection() throws Exception {
        TestFrontEnd f = connect();
        f.sendRaw(new byte[] {GET_FEATURES, 0, 0, 0, VERSION, 0, 0, 0, (byte) 0x88, 0x13, 0, 0});
        TestFrontEnd g = connect();
        assertEquals(FrontEnd.FEATURES, g.getU64(GET_FEATURES), "the next front-end is served");
        assertTrue(log.stream().anyMatch(l -> l.contains("closing the connection") && l.contains("GET_FEATURES (1) size")
                && l.contains("5000 bytes; at most 4096")), "logged: " + log);
        g.sendRaw(new byte[] {GET_FEATURES, 0, 0, 0, VERSION});
        g.disconnect();
        TestFrontEnd h = connect();
        assertEquals(FrontEnd.FEATURES, h.getU64(GET_FEATURES), "the next front-end is served");
        assertTrue(log.stream().anyMatch(l -> l.contains("closed the connection inside a message header")),
                "logged: " + log);
    }

    /**
     * Events the guest has no buffers for wait; past {@link EventQueue#MAX_PENDING} the oldest are
     * dropped and the next event delivered carries VIRTIO_SCSI_T_EVENTS_MISSED, so that the driver
     * rescans (the virtio specification's event queue).
     */
    @Test
    void eventsBeyondWhatWaitsAreDroppedAndTheNextSaysEventsWereMissed() throws Exception {
        TestFrontEnd f = connect();
        f.handshake(WANTED);
        Ring events = f.ring(VirtioScsi.EVENT_QUEUE);
        for (int i = 0; i < (EventQueue.MAX_PENDING + 2) / 2; i++) {
            backend.hotAdd(9, ScsiDisk.of(MemoryDisk.create("hot", 1 << 20), ScsiDisk.Settings.of(UUID.randomUUID())));
            assertTrue(backend.hotRemove(9).isPresent());
        }
        long buffers = 0x1A0000;
        for (int i = 0; i < 2; i++) {
            events.descriptor(i, buffers + 16L * i, 16, SplitRing.DESC_F_WRITE, 0);
            events.publish(i);
        }
        int[] first = events.awaitUsed();
        long at = buffers + 16L * first[0];
        assertEquals(VirtioScsi.T_TRANSPORT_RESET | VirtioScsi.T_EVENTS_MISSED, f.guest.get(U32, at));
        assertEquals(9, VirtioScsi.lun(f.guest, at + 4));
        assertEquals(VirtioScsi.EVT_RESET_RESCAN, f.guest.get(U32, at + 12), "the oldest left is the third, an add");
        int[] second = events.awaitUsed();
        at = buffers + 16L * second[0];
        assertEquals(VirtioScsi.T_TRANSPORT_RESET, f.guest.get(U32, at), "only the first after the loss says so");
        assertEquals(VirtioScsi.EVT_RESET_REMOVED, f.guest.get(U32, at + 12));
    }

    @Test
    void aBackendThatCannotServeIsRefusedWhenStarted() throws Exception {
        ScsiTarget target = new ScsiTarget("t", 1);
        IOException exists = assertThrows(IOException.class,
                () -> VhostUserScsi.start(backend.socket(), target, VhostUserScsi.Options.defaults(), log::add));
        assertEquals(backend.socket() + ": already exists; remove it or choose another socket path", exists.getMessage());
        Path tooLong = dir.resolve("s".repeat(120));
        IOException longPath = assertThrows(IOException.class,
                () -> VhostUserScsi.start(tooLong, target, VhostUserScsi.Options.defaults(), log::add));
        assertEquals(tooLong + ": a Unix socket path has at most 107 bytes", longPath.getMessage());
        Path noDirectory = dir.resolve("missing/vu.sock");
        IOException missing = assertThrows(IOException.class,
                () -> VhostUserScsi.start(noDirectory, target, VhostUserScsi.Options.defaults(), log::add));
        assertEquals("bind " + noDirectory + " failed: errno 2 (ENOENT)", missing.getMessage());

        IllegalArgumentException luns = assertThrows(IllegalArgumentException.class, () -> VhostUserScsi.start(
                dir.resolve("a.sock"), new ScsiTarget("big", 65), VhostUserScsi.Options.defaults(), log::add));
        assertEquals("a vhost-user-scsi backend serves at most 64 LUNs, not 65", luns.getMessage());
        assertThrows(IllegalArgumentException.class, () -> VhostUserScsi.start(dir.resolve("b.sock"),
                Arrays.asList(new ScsiDisk[65]), log::add));
        assertThrows(IllegalArgumentException.class, () -> new VhostUserScsi.Options(0));
        assertThrows(IllegalArgumentException.class, () -> new VhostUserScsi.Options(255));
        assertTrue(!Files.exists(dir.resolve("a.sock")) && !Files.exists(dir.resolve("b.sock")), "no socket made");
    }
}
