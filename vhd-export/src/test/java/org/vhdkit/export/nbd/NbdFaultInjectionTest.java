package org.vhdkit.export.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.export.AcknowledgedWrites.pattern;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.export.nbd.protocol.Chunk;
import org.vhdkit.export.nbd.protocol.CommandFlags;
import org.vhdkit.export.nbd.protocol.CommandType;
import org.vhdkit.export.nbd.protocol.ErrorCode;
import org.vhdkit.export.AcknowledgedWrites;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.io.StoreInterception;
import org.vhdkit.vhd.testing.ExternalTools;
import org.vhdkit.vhd.testing.FaultSwitch;
import org.vhdkit.vhd.testing.FaultyStore.Kind;
import org.vhdkit.vhd.testing.FaultyStore.Plan;

/**
 * The NBD server over a dynamic VHD whose file fails one call (issue 14, fault injection): a write,
 * a force under FLUSH and under a FUA write, a read (with and without structured replies), and no
 * space while a write allocates a block. Each time the request that hit the fault gets an error
 * reply (EIO, or NBD's ENOSPC) that does not name the server's file, the log says which export,
 * request and offset failed, the same connection and another go on reading and writing, and once
 * the server has stopped every acknowledged write reads back and {@code check} finds at most leaks.
 */
@Timeout(60)
class NbdFaultInjectionTest {
    private static final int MIB = 1 << 20;
    private static final String EXPORT = "faulty";
    private static final Duration TOOL = Duration.ofSeconds(60);

    @TempDir
    Path tmp;

    private Path image;
    private VhdDisk disk;
    private NbdServer server;
    private final FaultSwitch faults = new FaultSwitch();
    private final List<String> log = Collections.synchronizedList(new ArrayList<>());
    /** Every write a client had acknowledged, by offset; what the image must hold at the end. */
    private final AcknowledgedWrites acknowledged = new AcknowledgedWrites();

    @BeforeEach
    void serve() throws IOException {
        image = tmp.resolve("d.vhd");
        Vhd.create(image, CreateOptions.dynamic(16 * MIB)).close();
        disk = StoreInterception.call(faults.wrapper(), () -> Vhd.open(image, OpenOptions.READ_WRITE));
        server = NbdServer.start(UnixDomainSocketAddress.of(tmp.resolve("nbd.sock")),
                List.of(new NbdServer.Export(EXPORT, disk, false, "a dynamic disk on a failing file")), log::add);
    }

    @AfterEach
    void stop() throws IOException {
        if (server != null) {
            server.close();
            disk.close();
        }
    }

    @Test
    void aFailingWriteIsEioAndTheServerGoesOn() throws IOException {
        try (TestClient c = client(true); TestClient other = client(false)) {
            before(c, other);
            Plan plan = arm(Kind.WRITE);
            // A write into a block not yet allocated: the allocation fails part-way.
            TestClient.Reply r = c.call(CommandType.WRITE, 0, 6L * MIB + 512, 4096, pattern(4096, 7));
            assertFailed(r, ErrorCode.EIO, plan, "NBD_CMD_WRITE", 6L * MIB + 512);
            goesOn(c, other, 6L * MIB + 512);
        }
        reopenAndCheck();
    }

    @Test
    void aFailingFlushAndAFailingFuaWriteAreEio() throws IOException {
        try (TestClient c = client(true); TestClient other = client(false)) {
            before(c, other);
            Plan plan = arm(Kind.FORCE);
            TestClient.Reply r = c.call(CommandType.FLUSH, 0, 0, 0, null);
            assertFailed(r, ErrorCode.EIO, plan, "NBD_CMD_FLUSH", 0);
            plan = arm(Kind.FORCE);
            r = other.call(CommandType.WRITE, CommandFlags.FUA, 8L * MIB, 4096, pattern(4096, 8));
            assertFailed(r, ErrorCode.EIO, plan, "NBD_CMD_WRITE", 8L * MIB);
            // The write itself reached the disk; only its durability is in doubt, so it is not
            // counted as acknowledged, but a flush that now succeeds makes both connections' writes durable.
            goesOn(c, other, 10L * MIB);
        }
        reopenAndCheck();
    }

    @Test
    void aFailingReadIsEioWithAndWithoutStructuredReplies() throws IOException {
        try (TestClient c = client(true); TestClient other = client(false)) {
            before(c, other);
            Plan plan = arm(Kind.READ);
            TestClient.Reply r = c.call(CommandType.READ, 0, 0, 64 * 1024, null);
            assertFailed(r, ErrorCode.EIO, plan, "NBD_CMD_READ", 0);
            plan = arm(Kind.READ);
            r = other.call(CommandType.READ, 0, 2L * MIB, 4096, null);
            assertFailed(r, ErrorCode.EIO, plan, "NBD_CMD_READ", 2L * MIB);
            goesOn(c, other, 12L * MIB);
        }
        reopenAndCheck();
    }

    @Test
    void aReadFailingAfterItsReplyBeganEndsOnlyThatRequestOrConnection() throws IOException {
        try (TestClient c = client(true); TestClient other = client(false)) {
            before(c, other);
            write(c, MIB + 4096, pattern(4096, 4)); // data in the read's second MiB too
            // Structured replies: data chunks went out, then an error chunk; the connection goes on.
            Plan plan = faults.arm(Kind.READ, lastRead(c, 2 * MIB));
            TestClient.Reply r = c.call(CommandType.READ, 0, 0, 2 * MIB, null);
            // Which piece failed depends on how the disk reports its extents: any offset will do.
            assertFailed(r, ErrorCode.EIO, plan, "NBD_CMD_READ", -1);
            assertTrue(r.chunks().getFirst() instanceof Chunk.OffsetData, r.chunks().toString());

            // Simple replies: the header said success and data went out; nothing can take it back, so
            // the connection is closed rather than the client given a read that is half wrong.
            plan = faults.arm(Kind.READ, lastRead(other, 2 * MIB));
            other.send(CommandType.READ, 0, 0, 2 * MIB, null);
            assertThrows(IOException.class, other::next);
            assertNotNull(plan.fired());
            faults.disarm();
            assertTrue(log.stream().anyMatch(l -> l.contains("'" + EXPORT + "'") && l.contains("NBD_CMD_READ of "
                    + 2 * MIB + " bytes at offset 0") && l.contains(image.toString())), log.toString());
        }
        try (TestClient c = client(true); TestClient other = client(false)) {
            goesOn(c, other, 12L * MIB);
        }
        reopenAndCheck();
    }

    @Test
    void noSpaceWhileAllocatingIsEnospc() throws IOException {
        try (TestClient c = client(true); TestClient other = client(false)) {
            before(c, other);
            Plan plan = arm(Kind.NO_SPACE);
            TestClient.Reply r = c.call(CommandType.WRITE, 0, 14L * MIB, 64 * 1024, pattern(64 * 1024, 9));
            assertFailed(r, ErrorCode.ENOSPC, plan, "NBD_CMD_WRITE", 14L * MIB);
            // Space again (the plan fires once): the same block allocates now.
            goesOn(c, other, 14L * MIB);
        }
        reopenAndCheck();
    }

    @Test
    void qemuIoSeesEioForTheFailedWriteAndFlushAndGoesOn() throws IOException {
        ExternalTools.assumeAvailable("qemu-io");
        String url = "nbd+unix:///" + EXPORT + "?socket=" + tmp.resolve("nbd.sock");
        // qemu-io stops at a command that fails: the commands after the fault are a second run.
        Plan plan = arm(Kind.WRITE);
        ExternalTools.Result r = ExternalTools.run(TOOL, "qemu-io", "-f", "raw", "-c", "write -P 0x11 6M 4k", url);
        assertTrue(r.stdout().contains("write failed: Input/output error"), r.stdout() + r.stderr());
        assertFailed(new TestClient.Reply(0, ErrorCode.EIO, new byte[0], List.of()), ErrorCode.EIO, plan,
                "NBD_CMD_WRITE", 6L * MIB);
        // qemu sends a flush only after a write of its own, and with its default writethrough cache
        // a FUA write: in writeback mode the write succeeds and the flush after it fails.
        plan = arm(Kind.FORCE);
        r = ExternalTools.run(TOOL, "qemu-io", "-f", "raw", "-t", "writeback", "-c", "write -P 0x33 8M 4k",
                "-c", "flush", url);
        // qemu-io prints nothing for a failed flush: its exit status says it.
        assertNotEquals(0, r.exitCode(), r.stdout() + r.stderr());
        assertFailed(new TestClient.Reply(0, ErrorCode.EIO, new byte[0], List.of()), ErrorCode.EIO, plan,
                "NBD_CMD_FLUSH", 0);
        r = ExternalTools.run(TOOL, "qemu-io", "-f", "raw", "-c", "write -P 0x22 6M 4k", "-c", "flush",
                "-c", "read -P 0x22 6M 4k", "-c", "read -P 0x33 8M 4k", url).requireSuccess();
        assertTrue(!r.stdout().contains("failed") && r.stdout().contains("read 4096/4096 bytes"), r.stdout() + r.stderr());
        acknowledged.put(6L * MIB, filled(4096, 0x22));
        acknowledged.put(8L * MIB, filled(4096, 0x33));
        reopenAndCheck();
    }

    private static byte[] filled(int length, int value) {
        byte[] b = new byte[length];
        java.util.Arrays.fill(b, (byte) value);
        return b;
    }

    // ---------------------------------------------------------------- steps

    private TestClient client(boolean structured) throws IOException {
        TestClient c = TestClient.connect(server.address());
        c.go(EXPORT, structured, false);
        return c;
    }

    /** Writes acknowledged before the fault: on both connections, one flushed, one not. */
    private void before(TestClient c, TestClient other) throws IOException {
        write(c, 0, pattern(64 * 1024, 1));
        write(other, 2L * MIB + 4096, pattern(8192, 2));
        assertEquals(0, c.call(CommandType.FLUSH, 0, 0, 0, null).error());
        write(c, 4L * MIB, pattern(4096, 3)); // allocates a block, never flushed by a client
    }

    /** After the fault: reads and writes on the same connection, on the other and on a new one succeed. */
    private void goesOn(TestClient c, TestClient other, long offset) throws IOException {
        write(c, offset, pattern(4096, 11));
        assertArrayEquals(acknowledged.get(offset), read(c, offset, 4096));
        write(other, offset + 8192, pattern(4096, 12));
        assertArrayEquals(acknowledged.get(offset + 8192), read(other, offset + 8192, 4096));
        assertArrayEquals(acknowledged.get(0L), read(other, 0, 64 * 1024));
        assertEquals(0, other.call(CommandType.FLUSH, 0, 0, 0, null).error());
        try (TestClient third = client(true)) {
            assertArrayEquals(acknowledged.get(2L * MIB + 4096), read(third, 2L * MIB + 4096, 8192));
        }
    }

    /**
     * How many reads of the file a read of {@code length} bytes at 0 makes, counted warm: arming the
     * fault at that count fails the request's last read, after its reply began.
     */
    private long lastRead(TestClient c, int length) throws IOException {
        read(c, 0, length);
        Plan counting = faults.arm(Kind.READ, Long.MAX_VALUE);
        read(c, 0, length);
        faults.disarm();
        return counting.calls();
    }

    private void write(TestClient c, long offset, byte[] data) throws IOException {
        TestClient.Reply r = c.call(CommandType.WRITE, 0, offset, data.length, data);
        assertEquals(0, r.error(), "write at " + offset);
        acknowledged.put(offset, data);
    }

    private static byte[] read(TestClient c, long offset, int length) throws IOException {
        TestClient.Reply r = c.call(CommandType.READ, 0, offset, length, null);
        assertEquals(0, r.error(), "read at " + offset);
        return r.data();
    }

    /** Makes the next call of {@code kind} on the image's file fail. */
    private Plan arm(Kind kind) {
        return faults.arm(kind);
    }

    /** The request failed with {@code error}, told the client nothing secret and was logged; {@code offset} -1 for any. */
    private void assertFailed(TestClient.Reply r, int error, Plan plan, String command, long offset) {
        assertNotNull(plan.fired(), plan + " never fired");
        faults.disarm();
        assertEquals(error, r.error(), plan + ": " + plan.fired());
        for (Chunk chunk : r.chunks()) {
            if (chunk instanceof Chunk.Error e) {
                // The client learns what failed, not where the server keeps its files.
                assertTrue(!e.message().contains(tmp.toString()) && !e.message().contains("d.vhd"), e.message());
                assertTrue(e.message().contains(command), e.message());
            }
        }
        String line = log.stream().filter(l -> l.contains(command) && l.contains("failed")).reduce((a, b) -> b)
                .orElseThrow(() -> new AssertionError("no log line for the failed " + command + ": " + log));
        assertTrue(line.contains("'" + EXPORT + "'") && line.contains(image.toString())
                && (offset < 0 || line.contains(" at offset " + offset + " failed")), line);
    }

    /** Stops the server and closes the disk, then opens the image again: what was acknowledged is there. */
    private void reopenAndCheck() throws IOException {
        server.close();
        disk.close();
        server = null;
        acknowledged.assertInImage(image);
    }
}
