package org.vhdkit.vhd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.check.CheckReport;
import org.vhdkit.vhd.check.ImageCheck;
import org.vhdkit.vhd.edit.ImageEdits;
import org.vhdkit.vhd.edit.MergeOptions;
import org.vhdkit.vhd.edit.RebaseMode;
import org.vhdkit.vhd.io.StoreInterception;
import org.vhdkit.vhd.testing.FaultyStore;
import org.vhdkit.vhd.testing.FaultyStore.Kind;
import org.vhdkit.vhd.testing.FaultyStore.Plan;
import org.vhdkit.vhd.transform.Compaction;
import org.vhdkit.vhd.transform.Conversion;
import org.vhdkit.vhd.transform.ConvertOptions;
import org.vhdkit.vhd.transform.ImageType;

/**
 * Every operation that writes an image, failed at every step: a {@link FaultyStore} under the
 * operation fails its Nth write, torn write, write with no space, force, growth or read, for N = 1,
 * 2, ... until the operation makes fewer such calls than N and succeeds. For each fault: the
 * operation fails with an error that names the file and says what the system said; nothing
 * acknowledged before the fault is lost; every image involved opens, or {@code check --repair}
 * makes it open; and {@code check} then finds at most leaked space. Outside the long mode each kind
 * of fault is injected at 2 or 3 steps spread evenly over the operation (reads at 1 or 2), the first
 * step always among them, forces are counted but not passed to the disk (no power is cut here, so
 * they buy nothing but time), and the files live in /dev/shm when there is one;
 * {@code -Dvhdkit.long=true} injects at every step, with real forces, on disk.
 *
 * <p>Prints how many faults it injected per operation, the figure RELIABILITY.md reports.
 */
@Timeout(900)
class FaultInjectionTest {
    private static final int MIB = 1 << 20;
    private static final long SIZE = 8L * MIB;
    private static final boolean LONG = Boolean.getBoolean("vhdkit.long");
    /** At most this many steps of each kind per operation outside the long mode, spread over the operation. */
    private static final int STEPS = LONG ? Integer.MAX_VALUE : 2;
    private static final int READ_STEPS = LONG ? Integer.MAX_VALUE : 1;
    private static final Map<String, LongAdder> INJECTED = new ConcurrentHashMap<>();

    @TempDir
    Path tempDir;
    /** Where the steps' files go: memory (/dev/shm) outside the long mode when there is one, else {@link #tempDir}. */
    private Path tmp;

    @org.junit.jupiter.api.BeforeEach
    void chooseFolder() throws IOException {
        Path shm = Path.of("/dev/shm");
        tmp = !LONG && Files.isDirectory(shm) && Files.isWritable(shm)
                ? Files.createTempDirectory(shm, "vhdkit-faults-") : tempDir;
    }

    @org.junit.jupiter.api.AfterEach
    void removeFolder() throws IOException {
        if (!tmp.equals(tempDir)) {
            delete(tmp);
        }
    }

    /** What an operation does to the files in its folder. */
    @FunctionalInterface
    private interface Operation {
        void run(Path dir, List<Write> acknowledged) throws IOException;
    }

    /** Checks what a failed (or, with a null failure, a successful) operation left in its folder. */
    @FunctionalInterface
    private interface Verification {
        void verify(Path dir, List<Write> acknowledged, IOException failure, String where) throws IOException;
    }

    /** Makes the files an operation starts from. */
    @FunctionalInterface
    private interface Setup {
        void make(Path dir) throws IOException;
    }

    /** A write that returned: its bytes must read back. */
    private record Write(long offset, byte[] data) {
    }

    @AfterAll
    static void report() {
        long total = INJECTED.values().stream().mapToLong(LongAdder::sum).sum();
        System.out.println("FaultInjectionTest: " + total + " faults injected " + new java.util.TreeMap<>(INJECTED));
    }

    // ---------------------------------------------------------------- the sweep

    private void sweep(String name, Setup setup, Operation operation, Verification verification) throws IOException {
        for (Kind kind : Kind.values()) {
            long calls = countCalls(name, kind, setup, operation);
            long stride = Math.max(1, calls / (kind == Kind.READ ? READ_STEPS : STEPS));
            System.out.println("FaultInjectionTest " + name + " " + kind + ": " + calls + " calls, every " + stride);
            for (long n = 1; n <= calls; n += stride) {
                Path dir = Files.createDirectories(tmp.resolve(name + "-" + kind + "-" + n));
                make(setup, dir);
                Plan plan = plan(kind, n);
                List<Write> acknowledged = new ArrayList<>();
                IOException failure = null;
                try {
                    StoreInterception.call(plan.wrapper(), () -> {
                        operation.run(dir, acknowledged);
                        return null;
                    });
                } catch (IOException e) {
                    failure = e;
                }
                plan.heal();
                String where = name + ", " + plan + ": " + plan.fired();
                assertNotNull(plan.fired(), where + ": the counted call was not made again");
                assertNotNull(failure, where + ": the operation succeeded although a call failed under it");
                String message = failure.getMessage();
                assertTrue(message != null && message.contains(dir.toString()),
                        where + ": the error names the file: " + message);
                assertTrue(message.contains(FaultyStore.EIO) || message.contains(FaultyStore.ENOSPC),
                        where + ": the error says what the system said: " + message);
                verification.verify(dir, acknowledged, failure, where);
                INJECTED.computeIfAbsent(name, k -> new LongAdder()).increment();
                delete(dir);
            }
        }
    }

    /** Runs the operation once under a plan that never fires, verifies it, and returns how many calls of the kind it made. */
    private long countCalls(String name, Kind kind, Setup setup, Operation operation) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(name + "-" + kind + "-count"));
        make(setup, dir);
        Plan plan = plan(kind, Long.MAX_VALUE);
        List<Write> acknowledged = new ArrayList<>();
        StoreInterception.call(plan.wrapper(), () -> {
            operation.run(dir, acknowledged);
            return null;
        });
        if (kind == Kind.READ) {
            assertTrue(plan.calls() > 0, name + " reads nothing");
        }
        delete(dir);
        return plan.calls();
    }

    private static Plan plan(Kind kind, long n) {
        Plan plan = new Plan(kind, n);
        return LONG ? plan : plan.skippingForces();
    }

    /** Makes the starting files, forces skipped outside the long mode (a fault that never fires). */
    private static void make(Setup setup, Path dir) throws IOException {
        StoreInterception.call(plan(Kind.FORCE, Long.MAX_VALUE).wrapper(), () -> {
            setup.make(dir);
            return null;
        });
    }

    private static void delete(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(f);
            }
        }
    }

    // ---------------------------------------------------------------- images and what they show

    private static byte[] pattern(long seed, int length) {
        byte[] data = new byte[length];
        new Random(seed).nextBytes(data);
        return data;
    }

    /** A dynamic disk with data in blocks 0 and 2 and nothing in 1 and 3. */
    private static Path dynamic(Path path, long seed) throws IOException {
        try (VhdDisk d = Vhd.create(path, CreateOptions.dynamic(SIZE))) {
            d.write(0, pattern(seed, 3 * MIB / 2));
            d.write(4L * MIB + 4096, pattern(seed + 1, 100_000));
        }
        return path;
    }

    /** What the disk at {@code path} shows, read with its chain; opening it repaired first when it needs that. */
    private static byte[] shows(Path path, String where) throws IOException {
        mendable(path, where);
        try (VhdDisk d = Vhd.openReadOnly(path)) {
            byte[] all = new byte[(int) d.size()];
            d.read(0, all);
            return all;
        }
    }

    /** The image opens, or {@code check --repair} makes it open; {@code check} then finds at most leaks. */
    private static void mendable(Path path, String where) throws IOException {
        CheckReport report = ImageCheck.check(path, ProgressListener.NONE);
        if (report.status() == CheckReport.Status.CORRUPT) {
            report = ImageCheck.repair(path, ProgressListener.NONE);
        }
        assertNotEquals(CheckReport.Status.CORRUPT, report.status(), where + ": " + path + ": " + report);
        try (VhdDisk d = Vhd.openReadOnly(path)) {
            assertTrue(d.size() > 0, where);
        }
    }

    private static void assertShows(byte[] expected, Path path, String where) throws IOException {
        byte[] actual = shows(path, where);
        assertEquals(expected.length, actual.length, where + ": size of " + path);
        assertArrayEquals(expected, actual, where + ": content of " + path);
    }

    // ---------------------------------------------------------------- writes and flushes

    /** The writes of the write operations: inside an allocated block, into new blocks, across a block edge. */
    private static final List<Write> WRITES = List.of(
            new Write(MIB + 100, pattern(11, 5000)),
            new Write(2L * MIB + 512, pattern(12, 70_000)),
            new Write(6L * MIB - 300, pattern(13, 600)),
            new Write(5L * MIB, pattern(14, 4096)));

    private static void writeAndFlush(Path image, List<Write> acknowledged) throws IOException {
        try (VhdDisk d = Vhd.open(image, OpenOptions.READ_WRITE)) {
            for (Write w : WRITES) {
                d.write(w.offset(), w.data());
                acknowledged.add(w);
            }
            d.flush();
        }
    }

    /** Every acknowledged write reads back; outside the write in flight the disk shows what it showed before. */
    private static void acknowledgedWritesReadBack(byte[] before, Path image, List<Write> acknowledged, String where)
            throws IOException {
        byte[] expected = before.clone();
        for (Write w : acknowledged) {
            System.arraycopy(w.data(), 0, expected, (int) w.offset(), w.data().length);
        }
        BitSet unknown = new BitSet();
        if (acknowledged.size() < WRITES.size()) {
            Write inFlight = WRITES.get(acknowledged.size());
            unknown.set((int) inFlight.offset(), (int) inFlight.offset() + inFlight.data().length);
        }
        byte[] actual = shows(image, where);
        for (int i = unknown.nextSetBit(0); i >= 0; i = unknown.nextSetBit(i + 1)) {
            actual[i] = expected[i];
        }
        assertArrayEquals(expected, actual, where + ": acknowledged writes of " + image);
    }

    @Test
    void writesAndFlushIntoADynamicDisk() throws IOException {
        byte[][] before = new byte[1][];
        sweep("write-dynamic", dir -> dynamic(dir.resolve("d.vhd"), 1),
                (dir, acked) -> writeAndFlush(dir.resolve("d.vhd"), acked),
                (dir, acked, failure, where) -> {
                    if (before[0] == null) {
                        before[0] = shows(dynamic(tmp.resolve("reference-dynamic.vhd"), 1), where);
                    }
                    acknowledgedWritesReadBack(before[0], dir.resolve("d.vhd"), acked, where);
                });
    }

    @Test
    void writesAndFlushIntoADifferencingDisk() throws IOException {
        byte[][] before = new byte[1][];
        sweep("write-differencing", dir -> {
            dynamic(dir.resolve("p.vhd"), 2);
            Vhd.create(dir.resolve("c.vhd"), CreateOptions.differencing(dir.resolve("p.vhd"))).close();
        }, (dir, acked) -> writeAndFlush(dir.resolve("c.vhd"), acked), (dir, acked, failure, where) -> {
            if (before[0] == null) {
                before[0] = shows(dynamic(tmp.resolve("reference-parent.vhd"), 2), where);
            }
            acknowledgedWritesReadBack(before[0], dir.resolve("c.vhd"), acked, where);
            assertShows(before[0], dir.resolve("p.vhd"), where);
        });
    }

    // ---------------------------------------------------------------- create

    @Test
    void createADynamicAndAFixedDisk() throws IOException {
        for (CreateOptions options : List.of(CreateOptions.dynamic(SIZE), CreateOptions.fixed(SIZE))) {
            String name = "create-" + options.type().toString().toLowerCase(java.util.Locale.ROOT);
            sweep(name, dir -> {
            }, (dir, acked) -> Vhd.create(dir.resolve("n.vhd"), options).close(), (dir, acked, failure, where) -> {
                Path made = dir.resolve("n.vhd");
                if (Files.exists(made)) {
                    assertShows(new byte[(int) SIZE], made, where);
                }
            });
        }
    }

    // ---------------------------------------------------------------- convert, compact

    @Test
    void convertBetweenDynamicAndFixed() throws IOException {
        for (ImageType type : List.of(ImageType.FIXED, ImageType.DYNAMIC)) {
            byte[] expected = shows(dynamic(tmp.resolve("reference-convert.vhd"), 3), "reference");
            Files.delete(tmp.resolve("reference-convert.vhd"));
            sweep("convert-to-" + type.toString().toLowerCase(java.util.Locale.ROOT), dir -> {
                Path source = dynamic(dir.resolve("s.vhd"), 3);
                if (type == ImageType.DYNAMIC) { // from a fixed one
                    try (VirtualDiskHolder h = new VirtualDiskHolder(source)) {
                        Conversion.convert(h.disk, dir.resolve("f.vhd"), ConvertOptions.to(ImageType.FIXED),
                                ProgressListener.NONE);
                    }
                    Files.delete(source);
                    Files.move(dir.resolve("f.vhd"), source);
                }
            }, (dir, acked) -> {
                try (VirtualDiskHolder h = new VirtualDiskHolder(dir.resolve("s.vhd"))) {
                    Conversion.convert(h.disk, dir.resolve("t.vhd"), ConvertOptions.to(type), ProgressListener.NONE);
                }
            }, (dir, acked, failure, where) -> {
                assertShows(expected, dir.resolve("s.vhd"), where);
                if (Files.exists(dir.resolve("t.vhd"))) {
                    assertShows(expected, dir.resolve("t.vhd"), where);
                }
            });
        }
    }

    /** The source of a conversion, opened read-only. */
    private static final class VirtualDiskHolder implements AutoCloseable {
        final org.vhdkit.vhd.disk.VirtualDisk disk;

        VirtualDiskHolder(Path path) throws IOException {
            disk = Conversion.openSource(path);
        }

        @Override
        public void close() throws IOException {
            disk.close();
        }
    }

    @Test
    void compact() throws IOException {
        byte[] expected = new byte[(int) SIZE];
        System.arraycopy(pattern(4, 3 * MIB / 2), 0, expected, 0, 3 * MIB / 2);
        sweep("compact", dir -> {
            Path image = dynamic(dir.resolve("d.vhd"), 4);
            try (VhdDisk d = Vhd.open(image, OpenOptions.READ_WRITE)) {
                d.write(4L * MIB + 4096, new byte[100_000]); // block 2 now all zeros: compaction drops it
            }
        }, (dir, acked) -> Compaction.compact(dir.resolve("d.vhd"), ProgressListener.NONE),
                (dir, acked, failure, where) -> assertShows(expected, dir.resolve("d.vhd"), where));
    }

    // ---------------------------------------------------------------- merge, resize, rebase

    /** A parent with data and a child that wrote over part of it. */
    private static void chain(Path dir) throws IOException {
        dynamic(dir.resolve("p.vhd"), 5);
        try (VhdDisk c = Vhd.create(dir.resolve("c.vhd"), CreateOptions.differencing(dir.resolve("p.vhd")))) {
            c.write(MIB - 1000, pattern(6, 3 * MIB));
            c.write(7L * MIB, pattern(7, 512));
        }
    }

    @Test
    void mergeAChildIntoItsParent() throws IOException {
        Path reference = Files.createDirectories(tmp.resolve("reference-merge"));
        chain(reference);
        byte[] expected = shows(reference.resolve("c.vhd"), "reference");
        sweep("merge", FaultInjectionTest::chain,
                (dir, acked) -> ImageEdits.merge(dir.resolve("c.vhd"), MergeOptions.INTO_PARENT, ProgressListener.NONE),
                (dir, acked, failure, where) -> {
                    mendable(dir.resolve("p.vhd"), where);
                    if (Files.exists(dir.resolve("c.vhd"))) {
                        assertShows(expected, dir.resolve("c.vhd"), where + ": the child reads the same");
                    } else {
                        assertShows(expected, dir.resolve("p.vhd"), where + ": the parent shows what the child did");
                    }
                });
    }

    @Test
    void resizeGrowsADynamicDisk() throws IOException {
        byte[] before = shows(dynamic(tmp.resolve("reference-resize.vhd"), 8), "reference");
        sweep("resize", dir -> dynamic(dir.resolve("d.vhd"), 8),
                (dir, acked) -> ImageEdits.resize(dir.resolve("d.vhd"), 64L * MIB, false, ProgressListener.NONE),
                (dir, acked, failure, where) -> {
                    byte[] after = shows(dir.resolve("d.vhd"), where);
                    assertTrue(after.length == SIZE || after.length == 64L * MIB, where + ": size " + after.length);
                    assertArrayEquals(before, java.util.Arrays.copyOf(after, (int) SIZE), where);
                    for (int i = (int) SIZE; i < after.length; i++) {
                        if (after[i] != 0) {
                            fail(where + ": the grown range reads zeros, not at " + i);
                        }
                    }
                });
    }

    @Test
    void rebaseOntoAnotherParentKeepingWhatTheChildShows() throws IOException {
        Path reference = Files.createDirectories(tmp.resolve("reference-rebase"));
        chain(reference);
        byte[] expected = shows(reference.resolve("c.vhd"), "reference");
        sweep("rebase", dir -> {
            chain(dir);
            dynamic(dir.resolve("q.vhd"), 9);
        }, (dir, acked) -> ImageEdits.rebase(dir.resolve("c.vhd"), dir.resolve("q.vhd"), RebaseMode.SAFE,
                ProgressListener.NONE), (dir, acked, failure, where) -> {
                    assertShows(expected, dir.resolve("c.vhd"), where + ": the child reads the same");
                    mendable(dir.resolve("q.vhd"), where);
                });
    }

    // ---------------------------------------------------------------- check --repair

    @Test
    void repairOfLeakedBlocks() throws IOException {
        byte[] expected = shows(dynamic(tmp.resolve("reference-repair.vhd"), 10), "reference");
        sweep("check-repair", dir -> {
            Path image = dynamic(dir.resolve("d.vhd"), 10);
            try (VhdDisk d = Vhd.open(image, OpenOptions.READ_WRITE)) {
                d.write(6L * MIB, pattern(11, 4096)); // a block at the end, then its entry cleared: a leaked tail
                long table = d.dynamicHeader().orElseThrow().tableOffset();
                try (var ch = java.nio.channels.FileChannel.open(image, java.nio.file.StandardOpenOption.WRITE)) {
                    d.flush();
                    ch.write(java.nio.ByteBuffer.wrap(new byte[] {-1, -1, -1, -1}), table + 12);
                }
            }
        }, (dir, acked) -> {
            CheckReport report = ImageCheck.repair(dir.resolve("d.vhd"), ProgressListener.NONE);
            assertEquals(CheckReport.Status.CLEAN, report.status(), report.toString());
        }, (dir, acked, failure, where) -> {
            assertShows(expected, dir.resolve("d.vhd"), where);
            assertEquals(CheckReport.Status.CLEAN,
                    ImageCheck.repair(dir.resolve("d.vhd"), ProgressListener.NONE).status(), where);
        });
    }
}
