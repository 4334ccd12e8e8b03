package org.vhdkit.stack.vhostuser;

import static org.junit.jupiter.api.Assertions.*;
import static org.vhdkit.stack.protocol.vhostuser.VhostUser.*;
import static org.vhdkit.stack.vhostuser.TestFrontEnd.*;
import org.vhdkit.stack.vhostuser.TestFrontEnd.Outcome;
import org.vhdkit.stack.vhostuser.TestFrontEnd.Ring;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.protocol.vhostuser.LogBase;
import org.vhdkit.stack.protocol.vhostuser.MemoryTable;
import org.vhdkit.stack.protocol.vhostuser.VirtioScsi;
import org.vhdkit.stack.protocol.vhostuser.VringFile;
import org.vhdkit.stack.scsi.CdRom;
import org.vhdkit.stack.scsi.ScsiDisk;
import org.vhdkit.stack.scsi.ScsiTarget;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.DiskImage;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.disk.MemoryDisk;
import org.vhdkit.vhd.disk.VirtualDisk;

/**
 * The backend driven by {@link TestFrontEnd} the way qemu and a guest driver drive it: the
 * handshake, real SCSI commands compared byte for byte with the VHD behind them, and the hostile
 * rings and messages it must refuse while it keeps serving. No qemu needed.
 */
class VhostUserScsiTest {
    private static final long DISK_SIZE = 8 << 20;
    private static final long WANTED = 1L << F_VERSION_1 | 1L << F_RING_INDIRECT_DESC | 1L << F_PROTOCOL_FEATURES
            | 1L << VirtioScsi.F_HOTPLUG;

    @TempDir
    Path dir;

    private final List<String> log = Collections.synchronizedList(new ArrayList<>());
    private final List<AutoCloseable> closing = new ArrayList<>();
    private ScsiTarget target;
    private VirtualDisk vhd;
    private VirtualDisk iso;
    private VhostUserScsi backend;

    @BeforeEach
    void serve() throws Exception {
        vhd = Vhd.create(dir.resolve("disk.vhd"), CreateOptions.dynamic(DISK_SIZE));
        Path isoPath = dir.resolve("medium.iso");
        byte[] isoBytes = new byte[40 * 2048];
        new Random(3).nextBytes(isoBytes);
        Files.write(isoPath, isoBytes);
        iso = DiskImage.openReadOnly(isoPath);
        target = new ScsiTarget("vhost-user-test", VhostUserScsi.MAX_LUNS);
        target.attach(0, ScsiDisk.of(vhd, ScsiDisk.Settings.of(UUID.randomUUID())));
        target.attach(1, ScsiDisk.of(MemoryDisk.create("ro", 1 << 20),
                ScsiDisk.Settings.of(UUID.randomUUID()).withReadOnly(true)));
        CdRom dvd = new CdRom("dvd", d -> { });
        dvd.insert(iso);
        target.attach(2, dvd);
        backend = VhostUserScsi.start(dir.resolve("vu.sock"), target, new VhostUserScsi.Options(2), log::add);
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : closing) {
            c.close();
        }
        backend.close();
        assertFalse(Files.exists(dir.resolve("vu.sock")), "closing removes the socket");
        vhd.close();
        iso.close();
    }

    private TestFrontEnd connect() throws IOException {
        TestFrontEnd f = TestFrontEnd.connect(backend.socket());
        closing.add(f);
        return f;
    }

    private static byte[] cdb(int... bytes) {
        byte[] b = new byte[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            b[i] = (byte) bytes[i];
        }
        return b;
    }

    private static Outcome good(Outcome o) {
        assertEquals(VirtioScsi.S_OK, o.response(), "virtio-scsi response");
        assertEquals(0, o.status(), "SCSI status GOOD, sense " + java.util.HexFormat.of().formatHex(o.sense()));
        return o;
    }

    private static Outcome tur(TestFrontEnd f, Ring r, int lun) throws IOException {
        Outcome o = f.scsi(r, lun, cdb(0, 0, 0, 0, 0, 0), null, 0);
        return o.status() == 2 && o.senseKey() == 6 ? f.scsi(r, lun, cdb(0, 0, 0, 0, 0, 0), null, 0) : o;
    }

    @Test
    void aDriverReadsAndWritesTheVhdThroughTheRings() throws Exception {
        TestFrontEnd f = connect();
        f.handshake(WANTED);
        f.ring(0);
        f.ring(1);
        Ring q = f.ring(VirtioScsi.FIRST_REQUEST_QUEUE);

        byte[] inquiry = good(f.scsi(q, 0, cdb(0x12, 0, 0, 0, 96, 0), null, 96)).data();
        assertEquals(0x00, inquiry[0], "LUN 0 is a disk");
        assertTrue(new String(inquiry, 8, 8).startsWith("Msft"), "vendor: " + new String(inquiry, 8, 8));
        good(tur(f, q, 0));

        byte[] capacity = good(f.scsi(q, 0, cdb(0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0), null, 32))
                .data();
        assertEquals(DISK_SIZE / 512 - 1, MemorySegment.ofArray(capacity).get(
                ValueLayout.JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN), 0), "last LBA");
        assertEquals(512, ((capacity[8] & 0xFF) << 24 | (capacity[9] & 0xFF) << 16 | (capacity[10] & 0xFF) << 8
                | capacity[11] & 0xFF), "block length");

        // WRITE(10) of 16 blocks at LBA 100 from a buffer that crosses the two memory regions.
        byte[] written = new byte[16 * 512];
        new Random(7).nextBytes(written);
        Outcome w = good(f.scsi(q, 0, cdb(0x2A, 0, 0, 0, 0, 100, 0, 0, 16, 0), written, 0));
        assertEquals(VirtioScsi.RESPONSE_LENGTH, w.usedLength(), "a write returns only the response");
        byte[] onDisk = new byte[written.length];
        vhd.read(100 * 512, onDisk);
        assertArrayEquals(written, onDisk, "the VHD holds what the guest wrote");

        // READ(16) back; and bytes the host wrote into the VHD read the same through the ring.
        Outcome r = good(f.scsi(q, 0, cdb(0x88, 0, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 16, 0, 0), null, 16 * 512));
        assertEquals(VirtioScsi.RESPONSE_LENGTH + 16 * 512, r.usedLength(), "used length: response and data-in");
        assertArrayEquals(written, r.data());
        byte[] host = new byte[4096];
        new Random(8).nextBytes(host);
        vhd.write(DISK_SIZE - 4096, host);
        byte[] read10 = good(f.scsi(q, 0, cdb(0x28, 0, 0, 0, (int) (DISK_SIZE / 512 - 8) >> 8,
                (int) (DISK_SIZE / 512 - 8) & 0xFF, 0, 0, 8, 0), null, 4096)).data();
        assertArrayEquals(host, read10);

        // Beyond the end: CHECK CONDITION with sense in the response, ILLEGAL REQUEST.
        Outcome beyond = f.scsi(q, 0, cdb(0x28, 0, 0, 0, 0x40, 0, 0, 0, 1, 0), null, 512);
        assertEquals(2, beyond.status(), "CHECK CONDITION");
        assertEquals(5, beyond.senseKey(), "ILLEGAL REQUEST");
        assertEquals(512, beyond.residual(), "nothing transferred");

        byte[] luns = good(f.scsi(q, 0, cdb(0xA0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0), null, 256)).data();
        assertEquals(24, luns[3], "three LUNs reported");
        assertArrayEquals(new byte[] {0, 1, 2}, new byte[] {luns[9], luns[17], luns[25]}, "LUNs 0, 1 and 2");

        // The read-only LUN refuses writes with DATA PROTECT.
        tur(f, q, 1);
        Outcome ro = f.scsi(q, 1, cdb(0x2A, 0, 0, 0, 0, 0, 0, 0, 1, 0), new byte[512], 0);
        assertEquals(2, ro.status());
        assertEquals(7, ro.senseKey(), "DATA PROTECT");

        // The DVD: a CD-ROM device whose blocks are the ISO's; READ TOC answers.
        byte[] dvdInquiry = good(f.scsi(q, 2, cdb(0x12, 0, 0, 0, 36, 0), null, 36)).data();
        assertEquals(0x05, dvdInquiry[0], "LUN 2 is a CD/DVD device");
        good(tur(f, q, 2));
        byte[] toc = good(f.scsi(q, 2, cdb(0x43, 0, 0, 0, 0, 0, 0, 0, 12, 0), null, 12)).data();
        assertEquals(1, toc[2], "first track 1");
        byte[] block = good(f.scsi(q, 2, cdb(0x28, 0, 0, 0, 0, 5, 0, 0, 1, 0), null, 2048)).data();
        byte[] expected = new byte[2048];
        iso.read(5 * 2048, expected);
        assertArrayEquals(expected, block);

        // An empty LUN of the target answers as SPC says; one beyond it or on another target is BAD_TARGET.
        byte[] empty = good(f.scsi(q, 5, cdb(0x12, 0, 0, 0, 36, 0), null, 36)).data();
        assertEquals(0x7F, empty[0] & 0xFF, "peripheral qualifier 3: no unit here");
        assertEquals(VirtioScsi.S_BAD_TARGET, f.scsi(q, 64, cdb(0, 0, 0, 0, 0, 0), null, 0).response());
        assertEquals(VirtioScsi.S_BAD_TARGET,
                f.scsi(q, new byte[] {1, 1, 0x40, 0, 0, 0, 0, 0}, cdb(0, 0, 0, 0, 0, 0), null, 0).response(),
                "target 1");
        assertEquals(VirtioScsi.S_BAD_TARGET,
                f.scsi(q, new byte[] {2, 0, 0x40, 0, 0, 0, 0, 0}, cdb(0, 0, 0, 0, 0, 0), null, 0).response(),
                "byte 0 not 1");
        assertTrue(backend.commandsExecuted() >= 15, "commands counted: " + backend.commandsExecuted());
    }

    @Test
    void hostileChainsAreRefusedAndTheQueueKeepsServing() throws Exception {
        TestFrontEnd f = connect();
        f.handshake(WANTED);
        Ring q = f.ring(VirtioScsi.FIRST_REQUEST_QUEUE);
        good(tur(f, q, 0));
        long canary = 0x180000;
        f.guest.asSlice(canary, 0x1000).fill((byte) 0x5A);
        long header = HEADER;
        long resp = RESPONSE;
        f.guest.asSlice(header, VirtioScsi.REQUEST_LENGTH).fill((byte) 0);
        f.guest.set(ValueLayout.JAVA_BYTE, header, (byte) 1);
        f.guest.set(ValueLayout.JAVA_BYTE, header + 2, (byte) 0x40);

        record Case(String name, Runnable build) {
        }
        int n = SplitRing.DESC_F_NEXT;
        int w = SplitRing.DESC_F_WRITE;
        int ind = SplitRing.DESC_F_INDIRECT;
        long table = 0x190000;
        List<Case> cases = List.of(
                new Case("a descriptor loop", () -> {
                    q.descriptor(0, header, VirtioScsi.REQUEST_LENGTH, n, 1);
                    q.descriptor(1, resp, VirtioScsi.RESPONSE_LENGTH, n | w, 0);
                }),
                new Case("a buffer outside guest memory", () -> {
                    q.descriptor(0, MEMORY + 0x1000, VirtioScsi.REQUEST_LENGTH, n, 1);
                    q.descriptor(1, resp, VirtioScsi.RESPONSE_LENGTH, w, 0);
                }),
                new Case("a buffer running off the end of guest memory", () -> {
                    q.descriptor(0, header, VirtioScsi.REQUEST_LENGTH, n, 1);
                    q.descriptor(1, MEMORY - 16, VirtioScsi.RESPONSE_LENGTH, w, 0);
                }),
                new Case("a huge length", () -> {
                    q.descriptor(0, header, 0xFFFF_FFFFL, n, 1);
                    q.descriptor(1, resp, VirtioScsi.RESPONSE_LENGTH, w, 0);
                }),
                new Case("a negative guest address", () -> {
                    q.descriptor(0, -4096, VirtioScsi.REQUEST_LENGTH, n, 1);
                    q.descriptor(1, resp, VirtioScsi.RESPONSE_LENGTH, w, 0);
                }),
                new Case("zero lengths only", () -> {
                    q.descriptor(0, header, 0, n, 1);
                    q.descriptor(1, resp, 0, w, 0);
                }),
                new Case("readable after writable", () -> {
                    q.descriptor(0, resp, VirtioScsi.RESPONSE_LENGTH, n | w, 1);
                    q.descriptor(1, header, VirtioScsi.REQUEST_LENGTH, 0, 0);
                }),
                new Case("the response in a device-readable buffer", () -> {
                    q.descriptor(0, header, VirtioScsi.REQUEST_LENGTH, n, 1);
                    q.descriptor(1, resp, VirtioScsi.RESPONSE_LENGTH, 0, 0);
                }),
                new Case("a next index outside the table", () -> {
                    q.descriptor(0, header, VirtioScsi.REQUEST_LENGTH, n, RING_SIZE + 5);
                }),
                new Case("an indirect table whose length is no whole number of descriptors", () ->
                        q.descriptor(0, table, 17, ind, 0)),
                new Case("an indirect table outside memory", () -> q.descriptor(0, MEMORY - 16, 64, ind, 0)),
                new Case("an indirect descriptor with NEXT", () -> {
                    f.descriptorAt(table, 0, header, VirtioScsi.REQUEST_LENGTH, n, 1);
                    f.descriptorAt(table, 1, resp, VirtioScsi.RESPONSE_LENGTH, w, 0);
                    q.descriptor(0, table, 32, ind | n, 1);
                    q.descriptor(1, resp, VirtioScsi.RESPONSE_LENGTH, w, 0);
                }),
                new Case("an indirect table inside an indirect table", () -> {
                    f.descriptorAt(table, 0, table + 0x100, 32, ind, 0);
                    q.descriptor(0, table, 16, ind, 0);
                }),
                new Case("a loop inside an indirect table", () -> {
                    f.descriptorAt(table, 0, header, VirtioScsi.REQUEST_LENGTH, n, 1);
                    f.descriptorAt(table, 1, resp, VirtioScsi.RESPONSE_LENGTH, n | w, 0);
                    q.descriptor(0, table, 32, ind, 0);
                }));
        for (Case c : cases) {
            c.build().run();
            f.guest.asSlice(resp, VirtioScsi.RESPONSE_LENGTH).fill((byte) 0xEE);
            q.publish(0);
            int[] used = q.awaitUsed();
            assertEquals(0, used[0], c.name() + ": the head comes back");
            if (used[1] != 0) {
                // Refused as a request, not as a chain: the response says so.
                assertNotEquals(VirtioScsi.S_OK, f.guest.get(ValueLayout.JAVA_BYTE, resp + VirtioScsi.RESP_RESPONSE),
                        c.name());
            }
            assertEquals(0, used[1], c.name() + ": refused with used length 0");
            good(tur(f, q, 0));
        }
        for (long i = 0; i < 0x1000; i++) {
            assertEquals(0x5A, f.guest.get(ValueLayout.JAVA_BYTE, canary + i), "untouched guest memory at " + i);
        }
        assertTrue(log.stream().anyMatch(l -> l.contains("loop")), "the refusals are logged: " + log);

        // A request whose buffers are too small for a request header is answered FAILURE.
        q.descriptor(0, header, 8, n, 1);
        q.descriptor(1, resp, VirtioScsi.RESPONSE_LENGTH, w, 0);
        q.publish(0);
        int[] used = q.awaitUsed();
        assertEquals(VirtioScsi.RESPONSE_LENGTH, used[1]);
        assertEquals(VirtioScsi.S_FAILURE, f.guest.get(ValueLayout.JAVA_BYTE, resp + VirtioScsi.RESP_RESPONSE));

        // A good request through an indirect table, with the data straddling the regions.
        f.guest.asSlice(header + VirtioScsi.REQ_CDB, 16).fill((byte) 0);
        MemorySegment.copy(cdb(0x28, 0, 0, 0, 0, 0, 0, 0, 2, 0), 0, f.guest, ValueLayout.JAVA_BYTE,
                header + VirtioScsi.REQ_CDB, 10);
        f.descriptorAt(table, 0, header, VirtioScsi.REQUEST_LENGTH, n, 1);
        f.descriptorAt(table, 1, resp, VirtioScsi.RESPONSE_LENGTH, n | w, 2);
        f.descriptorAt(table, 2, DATA, 1024, w, 0);
        q.descriptor(0, table, 48, ind, 0);
        q.publish(0);
        used = q.awaitUsed();
        assertEquals(VirtioScsi.RESPONSE_LENGTH + 1024, used[1], "an indirect chain is served");
    }

    @Test
    void aRingThatCannotBeFollowedIsResetAndTheOthersKeepServing() throws Exception {
        TestFrontEnd f = connect();
        f.handshake(WANTED);
        Ring q0 = f.ring(VirtioScsi.FIRST_REQUEST_QUEUE);
        Ring q1 = f.ring(VirtioScsi.FIRST_REQUEST_QUEUE + 1);
        good(tur(f, q0, 0));
        q0.availableIndex(q0.availableIndex + 1000);
        q0.kick();
        assertTrue(q0.nothingUsedWithin(200), "a broken ring serves nothing");
        good(tur(f, q1, 0));
        // The front-end stops the ring, learns its base, and sets it up again.
        MemorySegment p = f.arena.allocate(8);
        p.set(U32, 0, q0.index);
        f.send(GET_VRING_BASE, 0, p, 8);
        MemorySegment base = f.reply(GET_VRING_BASE);
        assertEquals(1, base.get(U32, 4), "the base is where the ring stopped");
        Ring again = f.ring(VirtioScsi.FIRST_REQUEST_QUEUE, false, 1);
        good(tur(f, again, 0));
        assertTrue(log.stream().anyMatch(l -> l.contains("available index")), "logged: " + log);
    }

    @Test
    void chainsServedBeforeTheCallDescriptorCameAreSignalledWhenItComes() throws Exception {
        // qemu's order: the kick descriptor (the worker starts), then the call descriptor; a driver
        // that publishes at once (Linux scanning a hot-added controller) must still hear of it.
        TestFrontEnd f = connect();
        f.handshake(WANTED);
        Ring q = f.ring(VirtioScsi.FIRST_REQUEST_QUEUE);
        MemorySegment noFd = f.arena.allocate(8);
        new VringFile(q.index, true).encode(noFd);
        TestFrontEnd.check(f.acked(SET_VRING_CALL, noFd, 8), "SET_VRING_CALL without a descriptor");
        good(tur(f, q, 0)); // served; awaitUsed polls the used ring, no interrupt needed
        int call = LinuxCalls.eventfd();
        closing.add(() -> LinuxCalls.closeQuietly(call));
        MemorySegment withFd = f.arena.allocate(8);
        new VringFile(q.index, false).encode(withFd);
        TestFrontEnd.check(f.acked(SET_VRING_CALL, withFd, 8, call), "SET_VRING_CALL");
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            LinuxCalls.Scratch scratch = new LinuxCalls.Scratch(a);
            assertEquals(1, LinuxCalls.poll(call, -1, 10_000, scratch) & 1, "the new call descriptor is signalled");
        }
    }

    @Test
    void badMessagesAreRefusedAndTheBackendKeepsServing() throws Exception {
        TestFrontEnd f = connect();
        f.handshake(WANTED);
        Ring running = f.ring(VirtioScsi.FIRST_REQUEST_QUEUE + 1);
        assertNotEquals(0, f.ackedU64(99, 0), "an unknown request");
        assertNotEquals(0, f.ackedU64(SET_VRING_KICK, 2), "SET_VRING_KICK without its descriptor");
        assertNotEquals(0, f.setMemTable(2, f.memfd), "two regions with one descriptor");
        assertNotEquals(0, f.setMemTable(List.of(new MemoryTable.Region(0, 2 * MEMORY, f.base, 0)), f.memfd),
                "a region larger than its file");
        assertNotEquals(0, f.ackedState(SET_VRING_NUM, 2, 3), "a ring size that is no power of two");
        assertNotEquals(0, f.ackedState(SET_VRING_NUM, 40, 128), "a ring the device does not have");
        assertNotEquals(0, f.ackedU64(SET_FEATURES, 1L << 40), "a feature not offered");
        MemorySegment shortPayload = f.arena.allocate(4);
        assertNotEquals(0, f.acked(SET_VRING_ADDR, shortPayload, 4), "a payload too short");
        assertEquals(2 + 2, f.getU64(GET_QUEUE_NUM), "still answering: control, event and two request queues");
        good(tur(f, running, 0));
        Ring q = f.ring(VirtioScsi.FIRST_REQUEST_QUEUE);
        good(tur(f, q, 0));

        // A message cut short ends the connection; the backend then serves the next front-end.
        f.sendRaw(new byte[] {SET_VRING_ADDR, 0, 0, 0, VERSION, 0, 0, 0, 40, 0, 0, 0, 1, 2, 3});
        f.disconnect();
        TestFrontEnd g = connect();
        g.handshake(WANTED);
        good(tur(g, g.ring(VirtioScsi.FIRST_REQUEST_QUEUE), 0));
        // A header with a bad version is not followed either.
        g.sendRaw(new byte[] {GET_FEATURES, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0});
        TestFrontEnd h = connect();
        assertEquals(FrontEnd.FEATURES, h.getU64(GET_FEATURES), "the next front-end is served");
        assertTrue(log.stream().anyMatch(l -> l.contains("version")), "logged: " + log);
    }

    @Test
    void hotAddAndRemoveReachTheGuestAsTransportResetEvents() throws Exception {
        TestFrontEnd f = connect();
        f.handshake(WANTED);
        f.ring(VirtioScsi.CONTROL_QUEUE);
        Ring events = f.ring(VirtioScsi.EVENT_QUEUE);
        Ring q = f.ring(VirtioScsi.FIRST_REQUEST_QUEUE);
        good(tur(f, q, 0));
        long buffers = 0x1A0000;
        for (int i = 0; i < 4; i++) {
            events.descriptor(i, buffers + 16L * i, 16, SplitRing.DESC_F_WRITE, 0);
            events.publish(i);
        }
        backend.hotAdd(7, ScsiDisk.of(MemoryDisk.create("hot", 1 << 20), ScsiDisk.Settings.of(UUID.randomUUID())));
        int[] used = events.awaitUsed();
        assertEquals(16, used[1]);
        long at = buffers + 16L * used[0];
        assertEquals(VirtioScsi.T_TRANSPORT_RESET, f.guest.get(U32, at));
        assertEquals(7, VirtioScsi.lun(f.guest, at + 4), "the LUN field names the new LUN");
        assertEquals(VirtioScsi.EVT_RESET_RESCAN, f.guest.get(U32, at + 12));
        byte[] inquiry = good(f.scsi(q, 7, cdb(0x12, 0, 0, 0, 36, 0), null, 36)).data();
        assertEquals(0, inquiry[0], "the new LUN answers as a disk");

        assertTrue(backend.hotRemove(7).isPresent());
        used = events.awaitUsed();
        at = buffers + 16L * used[0];
        assertEquals(VirtioScsi.T_TRANSPORT_RESET, f.guest.get(U32, at));
        assertEquals(VirtioScsi.EVT_RESET_REMOVED, f.guest.get(U32, at + 12));
        assertEquals(0x7F, good(f.scsi(q, 7, cdb(0x12, 0, 0, 0, 36, 0), null, 36)).data()[0] & 0xFF, "gone");
        assertTrue(backend.hotRemove(7).isEmpty(), "removing it twice tells nobody");
    }

    @Test
    @SuppressWarnings("restricted")
    void pagesTheBackendWritesAreMarkedInTheDirtyPageLog() throws Exception {
        TestFrontEnd f = connect();
        assertEquals(FrontEnd.FEATURES & (1L << F_LOG_ALL), f.handshake(WANTED | 1L << F_LOG_ALL) & (1L << F_LOG_ALL),
                "LOG_ALL negotiated");
        int logFd = LinuxCalls.memfd("dirty-log", 4096);
        long logAt = LinuxCalls.reserve(4096);
        try {
            LinuxCalls.mapFixed(logAt, 4096, logFd, 0);
            MemorySegment bitmap = MemorySegment.ofAddress(logAt).reinterpret(4096);
            MemorySegment p = f.arena.allocate(LogBase.LENGTH);
            new LogBase(MEMORY / LogBase.PAGE / 8, 0).encode(p);
            f.send(SET_LOG_BASE, 0, p, LogBase.LENGTH, logFd);
            assertEquals(0, f.reply(SET_LOG_BASE).byteSize(), "SET_LOG_BASE is answered with an empty reply");
            Ring q = f.ring(VirtioScsi.FIRST_REQUEST_QUEUE, true);
            tur(f, q, 0);
            bitmap.fill((byte) 0);
            good(f.scsi(q, 0, cdb(0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0), null, 4096));
            for (long page : new long[] {DATA / LogBase.PAGE, (DATA + 4095) / LogBase.PAGE, RESPONSE / LogBase.PAGE,
                q.used / LogBase.PAGE}) {
                assertTrue((bitmap.get(ValueLayout.JAVA_BYTE, page / 8) & 1 << (page % 8)) != 0,
                        "page 0x" + Long.toHexString(page) + " is marked dirty");
            }
            long untouched = 0x180000 / LogBase.PAGE;
            assertEquals(0, bitmap.get(ValueLayout.JAVA_BYTE, untouched / 8) & 1 << (untouched % 8),
                    "a page the backend did not write stays clean");
        } finally {
            LinuxCalls.unmap(logAt, 4096);
            LinuxCalls.closeQuietly(logFd);
        }
    }

    /**
     * Regression (suspected on review, shown by {@code VhostUserMessageFuzzTest}'s input
     * {@code dirty-log-larger-than-its-file}):
     * a log larger than its file was mapped, and the first page marked beyond the file faulted
     * (SIGBUS, an InternalError in the queue's worker, which died without a word).
     */
    @Test
    void aDirtyLogLargerThanItsFileIsRefused() throws Exception {
        TestFrontEnd f = connect();
        f.handshake(WANTED | 1L << F_LOG_ALL);
        int logFd = LinuxCalls.memfd("small-log", 4096);
        try {
            MemorySegment p = f.arena.allocate(LogBase.LENGTH);
            new LogBase(1 << 20, 0).encode(p);
            assertNotEquals(0, f.acked(SET_LOG_BASE, p, LogBase.LENGTH, logFd), "a 1 MiB log in a 4 KiB file");
            new LogBase(4096, 8).encode(p);
            assertNotEquals(0, f.acked(SET_LOG_BASE, p, LogBase.LENGTH, logFd), "a log that ends 8 bytes past its file");
            assertTrue(log.stream().anyMatch(l -> l.contains("runs past the end of its file (0x1000 bytes)")), "logged: " + log);
        } finally {
            LinuxCalls.closeQuietly(logFd);
        }
        good(tur(f, f.ring(VirtioScsi.FIRST_REQUEST_QUEUE), 0));
    }

    /**
     * Regression (suspected on review, shown by {@code VhostUserMessageFuzzTest}'s input
     * {@code kick-descriptor-is-the-front-ends-own-socket}): a kick descriptor that was not an eventfd
     * was read by the queue's worker when it was told to stop; a socket with nothing to read blocked
     * it, and with it the backend, for good (the next front-end was never served).
     */
    @Test
    void aRingDescriptorThatIsNotAnEventfdIsRefused() throws Exception {
        TestFrontEnd f = connect();
        f.handshake(WANTED);
        MemorySegment file = f.arena.allocate(8);
        new VringFile(VirtioScsi.FIRST_REQUEST_QUEUE, false).encode(file);
        assertNotEquals(0, f.acked(SET_VRING_KICK, file, 8, f.socket), "the front-end's own socket as the kick");
        assertNotEquals(0, f.acked(SET_VRING_CALL, file, 8, f.memfd), "a memfd as the call");
        assertNotEquals(0, f.acked(SET_VRING_ERR, file, 8, f.memfd), "a memfd as the error descriptor");
        assertTrue(log.stream().anyMatch(l -> l.contains("not an eventfd")), "logged: " + log);
        good(tur(f, f.ring(VirtioScsi.FIRST_REQUEST_QUEUE), 0));
        f.disconnect();
        TestFrontEnd g = connect();
        assertEquals(FrontEnd.FEATURES, g.getU64(GET_FEATURES), "the next front-end is served");
    }

    @Test
    void taskManagementAndNotificationQueriesAreAnswered() throws Exception {
        TestFrontEnd f = connect();
        f.handshake(WANTED);
        Ring control = f.ring(VirtioScsi.CONTROL_QUEUE);
        Ring q = f.ring(VirtioScsi.FIRST_REQUEST_QUEUE);
        good(tur(f, q, 0));
        assertEquals(VirtioScsi.S_FUNCTION_COMPLETE, tmf(f, control, VirtioScsi.TMF_LOGICAL_UNIT_RESET, 0));
        Outcome after = f.scsi(q, 0, cdb(0, 0, 0, 0, 0, 0), null, 0);
        assertEquals(6, after.senseKey(), "a logical unit reset leaves a unit attention");
        assertEquals(0x29, after.sense()[12] & 0xFF);
        assertEquals(VirtioScsi.S_FUNCTION_COMPLETE, tmf(f, control, VirtioScsi.TMF_ABORT_TASK, 0));
        assertEquals(VirtioScsi.S_BAD_TARGET, tmf(f, control, VirtioScsi.TMF_ABORT_TASK, 200));
        assertEquals(VirtioScsi.S_FUNCTION_REJECTED, tmf(f, control, 42, 0));

        long req = 0x1B0000;
        long resp = 0x1B1000;
        f.guest.set(U32, req, VirtioScsi.T_AN_QUERY);
        VirtioScsi.putLun(f.guest, req + VirtioScsi.AN_LUN, 0);
        f.guest.set(U32, req + 12, 0xFF);
        f.guest.asSlice(resp, 8).fill((byte) 0xEE);
        control.descriptor(0, req, VirtioScsi.AN_REQUEST_LENGTH, SplitRing.DESC_F_NEXT, 1);
        control.descriptor(1, resp, VirtioScsi.AN_RESPONSE_LENGTH, SplitRing.DESC_F_WRITE, 0);
        control.publish(0);
        assertEquals(VirtioScsi.AN_RESPONSE_LENGTH, control.awaitUsed()[1]);
        assertEquals(0, f.guest.get(U32, resp), "no asynchronous events supported");
        assertEquals(VirtioScsi.S_OK, f.guest.get(ValueLayout.JAVA_BYTE, resp + 4));
    }

    private static int tmf(TestFrontEnd f, Ring control, int subtype, int lun) throws IOException {
        long req = 0x1B0000;
        long resp = 0x1B1000;
        f.guest.set(U32, req, VirtioScsi.T_TMF);
        f.guest.set(U32, req + 4, subtype);
        VirtioScsi.putLun(f.guest, req + VirtioScsi.TMF_LUN, lun);
        f.guest.set(U64, req + 16, 0x99);
        f.guest.set(ValueLayout.JAVA_BYTE, resp, (byte) 0xEE);
        control.descriptor(0, req, VirtioScsi.TMF_REQUEST_LENGTH, SplitRing.DESC_F_NEXT, 1);
        control.descriptor(1, resp, 1, SplitRing.DESC_F_WRITE, 0);
        control.publish(0);
        assertEquals(1, control.awaitUsed()[1]);
        return f.guest.get(ValueLayout.JAVA_BYTE, resp) & 0xFF;
    }
}
