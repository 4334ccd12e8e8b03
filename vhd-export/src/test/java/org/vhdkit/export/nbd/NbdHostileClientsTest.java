package org.vhdkit.export.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAccumulator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.export.nbd.protocol.CommandType;
import org.vhdkit.export.nbd.protocol.HandshakeFlags;
import org.vhdkit.export.nbd.protocol.RequestHeader;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;

/**
 * Hostile clients under load (the reliability issue): good clients (readers checking every byte,
 * one writer that flushes) share the server with clients that stall in the handshake, stall in
 * the middle of a write's data, stop reading replies, disconnect in the middle of a request, send
 * random bytes, or connect and go in a loop. The good clients must finish their work with correct
 * data, everything the writer flushed must be in the image after the server stops, the server
 * must stay up, drop every stalled client, and hold a bounded amount of memory (its buffer pool
 * and the JVM's direct memory are sampled throughout).
 *
 * <p>A few seconds by default; {@code -Dvhdkit.long=true} gives each good client 60 times the work
 * (minutes). The figures go to stdout as "hostile-clients:" lines and to RELIABILITY-nbd.md.
 */
@Timeout(900)
class NbdHostileClientsTest {
    private static final int MIB = 1 << 20;
    private static final boolean LONG = Boolean.getBoolean("vhdkit.long");
    private static final int SIZE = 64 * MIB;
    /** Readers read the first half (filled before the server starts); the writer writes the second. */
    private static final int HALF = SIZE / 2;
    private static final int READERS = 4;
    private static final int READS = LONG ? 60 * 100 : 100;
    private static final int WRITES = LONG ? 60 * 100 : 100;
    /** Short limits so that stalled clients are dropped within the run. */
    private static final NbdServer.Limits LIMITS = new NbdServer.Limits(Duration.ofSeconds(1), Duration.ofSeconds(2), 64,
            128 * MIB);

    @TempDir
    Path tmp;

    private final List<String> log = Collections.synchronizedList(new ArrayList<>());
    private final ConcurrentMap<String, AtomicLong> tried = new ConcurrentHashMap<>();
    private volatile boolean hostile = true;

    private static byte[] pattern(int length, long seed) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }

    private void count(String what) {
        tried.computeIfAbsent(what, k -> new AtomicLong()).incrementAndGet();
    }

    @Test
    void goodClientsFinishWithCorrectDataWhileHostileOnesAreDroppedAndMemoryStaysBounded() throws Exception {
        Path file = tmp.resolve("d.vhd");
        byte[] lower = pattern(HALF, 1);
        try (VhdDisk d = Vhd.create(file, CreateOptions.dynamic(SIZE))) {
            d.write(0, lower);
        }
        byte[] written = new byte[HALF]; // the writer's model of the upper half
        VhdDisk disk = Vhd.open(file, OpenOptions.READ_WRITE);
        NbdServer server = NbdServer.start(UnixDomainSocketAddress.of(tmp.resolve("nbd.sock")),
                List.of(new NbdServer.Export("d", disk, false, "d")), null, LIMITS, log::add);
        BufferPoolMXBean direct = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
                .filter(b -> b.getName().equals("direct")).findFirst().orElseThrow();
        long directBefore = direct.getMemoryUsed();
        LongAccumulator peakLent = new LongAccumulator(Math::max, 0);
        LongAccumulator peakDirect = new LongAccumulator(Math::max, 0);
        LongAccumulator peakPool = new LongAccumulator(Math::max, 0);
        LongAccumulator peakHeap = new LongAccumulator(Math::max, 0);
        LongAccumulator peakClients = new LongAccumulator(Math::max, 0);
        AtomicLong readBytes = new AtomicLong();
        List<Throwable> goodFailures = Collections.synchronizedList(new ArrayList<>());
        long start = System.nanoTime();

        Thread sampler = Thread.ofPlatform().daemon().start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                peakLent.accumulate(server.buffers().lent());
                peakPool.accumulate(server.buffers().lent() + server.buffers().kept());
                peakDirect.accumulate(direct.getMemoryUsed() - directBefore);
                peakHeap.accumulate(ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
                peakClients.accumulate(server.clients());
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        List<Thread> hostiles = new ArrayList<>();
        hostiles.add(loop("stalls in the handshake", server, c -> {
            c.clientFlags(HandshakeFlags.C_FIXED_NEWSTYLE); // and then nothing: no option
            c.closedByServer();
        }));
        hostiles.add(loop("stalls in a write's data", server, c -> {
            c.go("d", false, false);
            ByteBuffer b = ByteBuffer.allocate(RequestHeader.SIZE + 1000);
            new RequestHeader(0, CommandType.WRITE, 1, HALF, MIB).encode(b);
            c.write(b.put(new byte[1000]).flip());
            c.closedByServer();
        }));
        hostiles.add(loop("stops reading replies", server, c -> {
            c.go("d", false, false);
            for (int i = 0; i < 64; i++) {
                c.send(CommandType.READ, 0, (long) (i % 16) * MIB, MIB, null);
            }
            Thread.sleep(LIMITS.stall().toMillis() * 3); // the server must have dropped it by then
            c.closedByServer();
        }));
        hostiles.add(loop("disconnects in a write's data", server, c -> {
            c.go("d", false, false);
            ByteBuffer b = ByteBuffer.allocate(RequestHeader.SIZE + 4096);
            new RequestHeader(0, CommandType.WRITE, 1, HALF + MIB, 64 * 1024).encode(b);
            c.write(b.put(new byte[4096]).flip());
        }));
        hostiles.add(loop("disconnects with replies unread", server, c -> {
            c.go("d", true, false);
            for (int i = 0; i < 16; i++) {
                c.sendRead((long) i * MIB, MIB);
            }
        }));
        Random garbage = new Random(7);
        hostiles.add(loop("sends random bytes in the handshake", server, c -> {
            c.write(ByteBuffer.wrap(pattern(1 + garbage.nextInt(8192), garbage.nextLong())));
            c.closedByServer();
        }));
        hostiles.add(loop("sends random bytes as requests", server, c -> {
            c.go("d", false, false);
            c.write(ByteBuffer.wrap(pattern(1 + garbage.nextInt(8192), garbage.nextLong())));
            c.closedByServer();
        }));
        hostiles.add(loop("connects and closes", server, c -> { }));
        hostiles.add(loop("connects, chooses an export and disconnects", server, c -> {
            c.go("d", true, true);
            c.send(CommandType.DISC, 0, 0, 0, null);
        }));

        List<Thread> good = new ArrayList<>();
        for (int r = 0; r < READERS; r++) {
            long seed = 100 + r;
            boolean structured = r % 2 == 0;
            good.add(Thread.ofPlatform().name("reader-" + r).start(() -> {
                try (TestClient c = TestClient.connect(server.address())) {
                    c.go("d", structured, false);
                    Random random = new Random(seed);
                    int depth = 8;
                    List<long[]> pending = new ArrayList<>();
                    for (int i = 0; i < READS || !pending.isEmpty(); ) {
                        while (i < READS && pending.size() < depth) {
                            int length = 4096 << random.nextInt(8); // 4 KiB to 512 KiB
                            long offset = (long) random.nextInt((HALF - length) / 512) * 512;
                            long handle = c.sendRead(offset, length);
                            pending.add(new long[] {handle, offset, length});
                            i++;
                        }
                        TestClient.Reply reply = c.next();
                        long[] p = pending.stream().filter(x -> x[0] == reply.handle()).findFirst().orElseThrow();
                        pending.remove(p);
                        assertEquals(0, reply.error(), "read error");
                        assertArrayEquals(Arrays.copyOfRange(lower, (int) p[1], (int) (p[1] + p[2])), reply.data(),
                                "read of " + p[2] + " bytes at " + p[1]);
                        readBytes.addAndGet(p[2]);
                    }
                } catch (Throwable t) {
                    goodFailures.add(t);
                }
            }));
        }
        good.add(Thread.ofPlatform().name("writer").start(() -> {
            try (TestClient c = TestClient.connect(server.address())) {
                c.go("d", true, false);
                Random random = new Random(42);
                for (int i = 0; i < WRITES; i++) {
                    int length = 4096 << random.nextInt(7); // 4 KiB to 256 KiB
                    int offset = random.nextInt((HALF - length) / 4096) * 4096;
                    byte[] data = pattern(length, random.nextLong());
                    TestClient.Reply r = c.call(CommandType.WRITE, 0, HALF + (long) offset, length, data);
                    assertEquals(0, r.error(), "write error");
                    System.arraycopy(data, 0, written, offset, length);
                    if (i % 16 == 15 || i == WRITES - 1) {
                        assertEquals(0, c.call(CommandType.FLUSH, 0, 0, 0, null).error(), "flush error");
                    }
                }
            } catch (Throwable t) {
                goodFailures.add(t);
            }
        }));
        for (Thread t : good) {
            t.join();
        }
        double goodSeconds = (System.nanoTime() - start) / 1e9;
        // Hostile clients go on for at least three stall limits, so that every kind was dropped.
        long minimum = start + LIMITS.stall().toNanos() * 3;
        while (System.nanoTime() < minimum) {
            Thread.sleep(50);
        }
        hostile = false;
        for (Thread t : hostiles) {
            t.join();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (server.clients() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        sampler.interrupt();
        sampler.join();
        System.gc();
        long heapAfterGc = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();

        if (!goodFailures.isEmpty()) {
            AssertionError e = new AssertionError("a good client failed; server log:\n" + tail());
            goodFailures.forEach(e::addSuppressed);
            throw e;
        }
        assertEquals(0, server.clients(), "every client has ended");
        assertEquals(0, server.buffers().lent(), "every buffer is back in the pool or freed");
        // The server is still up: a new client reads correct data.
        try (TestClient c = TestClient.connect(server.address())) {
            c.go("d", true, false);
            assertArrayEquals(Arrays.copyOfRange(lower, 5 * MIB, 6 * MIB), c.call(CommandType.READ, 0, 5 * MIB, MIB, null).data());
        }
        // Every kind of stalled client was dropped by the watchdog.
        for (String why : List.of("did not finish the handshake", "began a request and sent nothing more",
                "took no reply data")) {
            assertTrue(logged(why) > 0, "no client was dropped as '" + why + "':\n" + tail());
        }
        // Memory: the pool never lent more than the server's budget, plus per client a reply scratch
        // buffer, a buffer of gathered replies, its read-ahead and a small skip buffer; direct memory
        // stayed under budget + what the pool keeps + those per-client buffers.
        long lentBound = LIMITS.buffered() + (long) LIMITS.clients()
                * (BufferPool.MIN + ReplyChannel.SCRATCH + ReplyChannel.GATHERED + Connection.READ_AHEAD);
        // The pool's memory (lent and kept; the pool frees what it does not keep at once) stays under
        // that plus what the pool keeps.
        long poolBound = lentBound + BufferPool.maxKept();
        // The JVM's other direct memory (the pool's is not in it): the zeros buffer, and the test's own
        // clients' temporary buffers: each client thread's socket I/O through heap buffers goes through
        // a temporary direct buffer as large as its largest transfer.
        long directBound = BufferPool.MAX + (long) (good.size() + hostiles.size()) * 2 * BufferPool.MAX;
        long hostileTries = tried.values().stream().mapToLong(AtomicLong::get).sum();
        System.out.printf("hostile-clients: %.1f s (good clients done after %.1f s), %d readers x %d reads (%d MiB verified), writer %d writes verified after"
                        + " restart, %d hostile connections %s%n", seconds, goodSeconds, READERS, READS, readBytes.get() >> 20, WRITES,
                hostileTries, new java.util.TreeMap<>(tried.entrySet().stream().collect(
                        java.util.stream.Collectors.toMap(e -> e.getKey(), e -> e.getValue().get()))));
        System.out.printf("hostile-clients: peak clients %d; peak pool lent %d MiB (bound %d MiB); peak pool lent+kept %d MiB"
                        + " (bound %d MiB); peak other direct memory %d MiB (bound %d MiB); peak heap used %d MiB; heap used after GC %d MiB; dropped: handshake %d, request"
                        + " %d, replies %d%n", peakClients.get(), peakLent.get() >> 20, lentBound >> 20, peakPool.get() >> 20,
                poolBound >> 20, peakDirect.get() >> 20, directBound >> 20, peakHeap.get() >> 20, heapAfterGc >> 20, logged("did not finish the handshake"),
                logged("began a request and sent nothing more"), logged("took no reply data"));
        assertTrue(peakLent.get() <= lentBound, "pool lent " + peakLent.get() + " bytes, bound " + lentBound);
        assertTrue(peakPool.get() <= poolBound, "pool held " + peakPool.get() + " bytes, bound " + poolBound);
        assertTrue(peakDirect.get() <= directBound, "direct memory " + peakDirect.get() + " bytes, bound " + directBound);

        server.close();
        disk.close();
        // Nothing the writer flushed is lost (nor anything acknowledged): the image reopened holds it.
        try (VhdDisk d = Vhd.openReadOnly(file)) {
            byte[] upper = new byte[HALF];
            d.read(HALF, upper);
            assertArrayEquals(written, upper, "the writer's data after the server stopped");
            byte[] below = new byte[HALF];
            d.read(0, below);
            assertArrayEquals(lower, below, "the readers' half is untouched");
        }
    }

    @FunctionalInterface
    private interface Behaviour {
        void run(TestClient c) throws Exception;
    }

    /** A thread that connects and behaves so, again and again, until the good clients are done. */
    private Thread loop(String what, NbdServer server, Behaviour behaviour) {
        return Thread.ofVirtual().name(what).start(() -> {
            while (hostile) {
                try (TestClient c = TestClient.connect(server.address())) {
                    count(what);
                    behaviour.run(c);
                } catch (Exception e) {
                    // What a hostile client meets: a closed connection, a refusal.
                }
            }
        });
    }

    private long logged(String what) {
        synchronized (log) {
            return log.stream().filter(l -> l.contains(what)).count();
        }
    }

    private String tail() {
        synchronized (log) {
            return String.join("\n", log.subList(Math.max(0, log.size() - 60), log.size()));
        }
    }
}
