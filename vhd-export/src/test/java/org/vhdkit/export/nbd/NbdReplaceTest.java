package org.vhdkit.export.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.export.fuse.ForwardingDisk;
import org.vhdkit.export.nbd.protocol.CommandType;
import org.vhdkit.vhd.disk.MemoryDisk;
import org.vhdkit.vhd.disk.VirtualDisk;

/**
 * Replacing an export's disk under connected clients, as a VM's host does when a running guest's
 * drive moves onto a new differencing disk: a client connected before reads the new disk's bytes
 * afterwards without reconnecting, writes land in the new disk only, a request under way finishes
 * on the old disk before the replace happens, and a disk that does not fit is refused.
 */
@Timeout(60)
class NbdReplaceTest {
    private static final int SIZE = 1 << 20;

    @TempDir
    Path tmp;

    private MemoryDisk first;
    private MemoryDisk second;
    private NbdServer server;
    private final List<String> log = Collections.synchronizedList(new ArrayList<>());

    @BeforeEach
    void start() throws IOException {
        first = MemoryDisk.create("first", SIZE);
        first.write(0, NbdServerTest.pattern(SIZE, 1));
        second = MemoryDisk.create("second", SIZE);
        second.write(0, NbdServerTest.pattern(SIZE, 2));
    }

    @AfterEach
    void stop() throws IOException {
        if (server != null) {
            server.close();
        }
        first.close();
        second.close();
    }

    private NbdServer serve(VirtualDisk disk) throws IOException {
        server = NbdServer.start(UnixDomainSocketAddress.of(tmp.resolve("nbd.sock")),
                List.of(new NbdServer.Export("d", disk, false, "a replaceable disk")), log::add);
        return server;
    }

    private TestClient client() throws IOException {
        TestClient c = TestClient.connect(server.address());
        c.go("d", true, false);
        return c;
    }

    @Test
    void aConnectedClientReadsAndWritesTheNewDiskAfterTheReplace() throws IOException {
        serve(first);
        try (TestClient c = client()) {
            assertArrayEquals(slice(NbdServerTest.pattern(SIZE, 1), 4096, 8192),
                    c.call(CommandType.READ, 0, 4096, 8192, null).data(), "before: the first disk");

            VirtualDisk old = server.replace("d", second, Duration.ofSeconds(5));

            assertSame(first, old, "the replace gives back the disk it replaced");
            assertSame(second, server.exports().getFirst().disk(), "the export lists its new disk");
            assertArrayEquals(slice(NbdServerTest.pattern(SIZE, 2), 4096, 8192),
                    c.call(CommandType.READ, 0, 4096, 8192, null).data(), "after: the new disk, same connection");
            byte[] written = NbdServerTest.pattern(4096, 3);
            assertEquals(0, c.call(CommandType.WRITE, 0, 0, written.length, written).error());
            assertEquals(0, c.call(CommandType.FLUSH, 0, 0, 0, null).error());
            byte[] inSecond = new byte[4096];
            second.read(0, inSecond);
            assertArrayEquals(written, inSecond, "a write after the replace lands in the new disk");
            byte[] inFirst = new byte[4096];
            first.read(0, inFirst);
            assertArrayEquals(slice(NbdServerTest.pattern(SIZE, 1), 0, 4096), inFirst, "and not in the old one");
        }
    }

    @Test
    void aRequestUnderWayFinishesOnTheOldDiskBeforeTheHoldIsTaken() throws Exception {
        Blocking blocking = new Blocking(first);
        try (TestClient c = readUnderWay(blocking)) {
            CompletableFuture<VirtualDisk> replaced = CompletableFuture.supplyAsync(() -> {
                try {
                    return server.replace("d", second, Duration.ofSeconds(20));
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            Thread.sleep(200);
            assertFalse(replaced.isDone(), "the replace waits for the read under way");
            blocking.release.countDown();
            TestClient.Reply r = c.next();
            assertEquals(0, r.error());
            assertArrayEquals(slice(NbdServerTest.pattern(SIZE, 1), 0, 4096), r.data(), "the read under way saw the old disk");
            assertSame(blocking, replaced.get(10, TimeUnit.SECONDS));
            assertArrayEquals(slice(NbdServerTest.pattern(SIZE, 2), 0, 4096),
                    c.call(CommandType.READ, 0, 0, 4096, null).data(), "the next read sees the new disk");
        }
    }

    @Test
    void aHoldThatCannotDrainTheRequestsUnderWayIsRefusedAndHoldsNothing() throws Exception {
        Blocking blocking = new Blocking(first);
        try (TestClient c = readUnderWay(blocking)) {
            IOException e = assertThrows(IOException.class, () -> server.hold("d", Duration.ofMillis(100)));
            assertTrue(e.getMessage().contains("requests still running"), e.getMessage());
            blocking.release.countDown();
            assertEquals(0, c.next().error());
            assertEquals(0, c.call(CommandType.READ, 0, 0, 512, null).error(), "the export still serves");
        }
    }

    @Test
    void aDiskOfAnotherSizeOrAReadOnlyDiskUnderAWritableExportIsRefused() throws IOException {
        serve(first);
        try (MemoryDisk bigger = MemoryDisk.create("bigger", 2 * SIZE);
                NbdServer.Hold h = server.hold("d", Duration.ofSeconds(5))) {
            IllegalArgumentException size = assertThrows(IllegalArgumentException.class, () -> h.replace(bigger));
            assertTrue(size.getMessage().contains("2097152 bytes"), size.getMessage());
            assertSame(first, h.disk(), "nothing was replaced");
        }
    }

    /** Serves {@code blocking} and connects a client whose read of the first 4 KiB is under way on it. */
    private TestClient readUnderWay(Blocking blocking) throws Exception {
        serve(blocking);
        TestClient c = client();
        c.sendRead(0, 4096);
        assertTrue(blocking.reading.await(10, TimeUnit.SECONDS), "the read reached the disk");
        return c;
    }

    private static byte[] slice(byte[] b, int from, int length) {
        byte[] s = new byte[length];
        System.arraycopy(b, from, s, 0, length);
        return s;
    }

    /** A disk whose reads wait until released, telling when one has begun. */
    private static final class Blocking extends ForwardingDisk {
        final CountDownLatch reading = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);

        Blocking(VirtualDisk inner) {
            super(inner);
        }

        @Override
        public void read(long offset, MemorySegment dst, long dstOffset, long length) throws IOException {
            reading.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                throw new IOException(e);
            }
            inner.read(offset, dst, dstOffset, length);
        }

        @Override
        public void close() {
        }
    }
}
