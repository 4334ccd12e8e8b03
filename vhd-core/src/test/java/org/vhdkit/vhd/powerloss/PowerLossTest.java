package org.vhdkit.vhd.powerloss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.check.CheckReport;
import org.vhdkit.vhd.check.Faults;
import org.vhdkit.vhd.check.ImageCheck;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.edit.ImageEdits;
import org.vhdkit.vhd.edit.MergeOptions;
import org.vhdkit.vhd.edit.RebaseMode;
import org.vhdkit.vhd.testing.CrashState;
import org.vhdkit.vhd.testing.CrashStates;
import org.vhdkit.vhd.testing.RecordingLog;
import org.vhdkit.vhd.transform.Compaction;
import org.vhdkit.vhd.transform.ConvertOptions;
import org.vhdkit.vhd.transform.Conversion;
import org.vhdkit.vhd.transform.ImageType;

/**
 * What a power cut leaves of our images, simulated as CrashMonkey does with dm-log-writes: each
 * operation runs with every store it opens recorded ({@link RecordingLog}: every write, size change
 * and force, per file, in order), and the folder is then rebuilt in each state a power cut could
 * have left it in ({@link CrashStates}): the state right after each force with every later write
 * written back (what a killed process leaves) and with none; and between forces random subsets of
 * the writes since each file's last force, in random order, some torn at 512-byte or 4 KiB
 * granularity. Renames and deletions (a conversion's or compaction's rename into place, a merge's
 * deletion of the merged disk) are placed where the operation did them, as its last step.
 *
 * <h2>The oracles, for every state</h2>
 * <ol>
 * <li><b>Opens.</b> {@code check} finds the image at most leaking, or {@code check --repair} makes
 * it so: after it, no finding of severity CORRUPT remains, and the image opens.</li>
 * <li><b>Nothing acknowledged is lost.</b> A write is acknowledged once a {@link VhdDisk#flush()}
 * (or {@code close}) called after it has returned; in a state whose cut lies after that return, the
 * sectors it wrote (unless a later write overwrote them) read its bytes. An operation (convert,
 * compact, merge, resize, rebase, repair) changes no byte of the virtual disk it works on, so in
 * every state the images that name that disk read exactly its bytes: the source always, the result
 * once it exists under its name (a merged-away child is read through its parent once it is gone; a
 * resized disk reads its bytes within either size and zeros beyond).</li>
 * <li><b>No stale data.</b> Every sector reads a value it held: the value of its last acknowledged
 * write (its initial bytes, zeros or the parent's, when none), or the bytes of a write to it that
 * started after the last completed flush, before the cut. Anything else (zeros in a differencing
 * disk, bytes of a block that once stood in reused space, a torn mixture within a sector) fails.
 * The oracle compares whole sectors, so the workload writes whole sectors.</li>
 * </ol>
 * States before the operation's first step (image creation included) are not checked: what a
 * creation that never returned leaves is not an image anyone was promised.
 *
 * <p>Sizes: {@value #CI_RANDOM_PER_FORCE} random states between each two forces in CI, many more with
 * {@code -Dvhdkit.long=true}; {@code -Dvhdkit.powerloss.seed=N} replays a run (the seed is printed,
 * and named in every failure). The counts per operation are printed at the end for RELIABILITY.md.
 *
 * <p>Not covered: the snapshot tree of storage-stack (its {@code snapshots.json} is written through
 * {@code Files.write}, not a store; see RELIABILITY-crash.md), and a file system that loses a rename
 * after the folder was forced.
 */
class PowerLossTest {
    private static final boolean LONG = Boolean.getBoolean("vhdkit.long");
    private static final long SEED = Long.getLong("vhdkit.powerloss.seed", System.nanoTime() & 0xFFFFFFFFL);
    private static final int CI_RANDOM_PER_FORCE = 4;
    private static final int RANDOM_PER_FORCE = LONG ? 48 : CI_RANDOM_PER_FORCE;
    private static final int SECTOR = VirtualDisk.SECTOR_SIZE;
    private static final long SIZE = 4L << 20;
    private static final int BLOCK = 256 << 10;
    /** States checked per operation, printed at the end. */
    private static final Map<String, Integer> COUNTS = new ConcurrentSkipListMap<>();

    @TempDir
    Path tmp;
    /** The folder in /dev/shm the states are written to, or null. */
    private Path memory;

    @AfterAll
    static void printCounts() {
        int total = COUNTS.values().stream().mapToInt(Integer::intValue).sum();
        StringBuilder text = new StringBuilder("power-loss states checked (seed " + SEED + (LONG ? ", long" : "") + "):");
        COUNTS.forEach((op, n) -> text.append("\n  ").append(op).append(": ").append(n));
        System.out.println(text.append("\n  total: ").append(total));
    }

    // ------------------------------------------------------------------ workloads of writes

    @Test
    void randomWritesIntoADynamicDiskLoseNothingFlushedAndReadNothingStale() throws IOException {
        Path folder = folder("dynamic");
        byte[] zeros = new byte[(int) SIZE];
        checkWorkload("random writes, dynamic", folder, "disk.vhd", zeros,
                () -> Vhd.create(folder.resolve("disk.vhd"), CreateOptions.dynamic(SIZE).withBlockSize(BLOCK)));
    }

    @Test
    void randomWritesIntoADifferencingDiskLoseNothingFlushedAndReadNothingStale() throws IOException {
        Path folder = folder("differencing");
        byte[] parent = filledDisk(folder.resolve("parent.vhd"), new Random(SEED ^ 1), 24);
        checkWorkload("random writes, differencing", folder, "child.vhd", parent,
                () -> Vhd.create(folder.resolve("child.vhd"), CreateOptions.differencing(folder.resolve("parent.vhd"))));
    }

    @FunctionalInterface
    private interface DiskMaker {
        VhdDisk make() throws IOException;
    }

    /** One user write: where, what, and the log position when it was issued. */
    private record UserWrite(long offset, byte[] bytes, int issuedAt) {
    }

    /** A completed flush: how many writes were issued before it, and the log position once it returned. */
    private record UserFlush(int writesBefore, int returnedAt) {
    }

    private void checkWorkload(String operation, Path folder, String image, byte[] initial, DiskMaker create)
            throws IOException {
        Random random = new Random(SEED ^ operation.hashCode());
        RecordingLog log = RecordingLog.of(folder);
        List<UserWrite> writes = new ArrayList<>();
        List<UserFlush> flushes = new ArrayList<>();
        int[] created = new int[1];
        int writeCount = LONG ? 160 : 48;
        log.record(() -> {
            VhdDisk disk = create.make();
            created[0] = log.position();
            try {
                for (int i = 0; i < writeCount; i++) {
                    int sectors = switch (random.nextInt(4)) {
                        case 0 -> 1;
                        case 1 -> 1 + random.nextInt(16);
                        case 2 -> 1 + random.nextInt(128);
                        default -> 8;
                    };
                    long offset = random.nextInt(4) == 0
                            ? (long) (1 + random.nextInt((int) (SIZE / BLOCK) - 1)) * BLOCK - (long) sectors / 2 * SECTOR
                            : (long) random.nextInt((int) (SIZE / SECTOR) - sectors) * SECTOR;
                    byte[] bytes = new byte[sectors * SECTOR];
                    random.nextBytes(bytes);
                    writes.add(new UserWrite(offset, bytes, log.position()));
                    disk.write(offset, bytes);
                    if (random.nextInt(6) == 0) {
                        disk.flush();
                        flushes.add(new UserFlush(writes.size(), log.position()));
                    } else if (random.nextInt(20) == 0) {
                        disk.close(); // close flushes; then the image is opened again
                        flushes.add(new UserFlush(writes.size(), log.position()));
                        disk = Vhd.open(folder.resolve(image), OpenOptions.READ_WRITE);
                    }
                }
                disk.flush();
                flushes.add(new UserFlush(writes.size(), log.position()));
            } finally {
                disk.close();
            }
            return null;
        });
        log.reconcile();
        checkStates(operation, log, created[0], log.position(), random, (dir, cut) -> {
            Path path = dir.resolve(image);
            sound(path);
            byte[] actual = readAll(path, SIZE);
            int acknowledged = 0;
            for (UserFlush flush : flushes) {
                if (flush.returnedAt() <= cut) {
                    acknowledged = flush.writesBefore();
                }
            }
            byte[] durable = initial.clone();
            for (int i = 0; i < acknowledged; i++) {
                UserWrite w = writes.get(i);
                System.arraycopy(w.bytes(), 0, durable, (int) w.offset(), w.bytes().length);
            }
            List<UserWrite> maybe = new ArrayList<>();
            for (int i = acknowledged; i < writes.size() && writes.get(i).issuedAt() < cut; i++) {
                maybe.add(writes.get(i));
            }
            for (int s = 0; s < SIZE / SECTOR; s++) {
                long at = (long) s * SECTOR;
                if (Arrays.equals(actual, (int) at, (int) at + SECTOR, durable, (int) at, (int) at + SECTOR)) {
                    continue;
                }
                boolean heldOnce = maybe.stream().anyMatch(w -> w.offset() <= at && at < w.offset() + w.bytes().length
                        && Arrays.equals(actual, (int) at, (int) at + SECTOR,
                        w.bytes(), (int) (at - w.offset()), (int) (at - w.offset()) + SECTOR));
                if (!heldOnce) {
                    fail(path + ": the sector at disk offset " + at + " reads bytes it never held (neither its "
                            + "acknowledged value, after " + acknowledged + " acknowledged writes, nor one of the "
                            + maybe.size() + " writes since the last completed flush)");
                }
            }
        });
    }

    // ------------------------------------------------------------------ operations

    @Test
    void convertingAChainLeavesTheSourceAndAnyTargetReadingTheDisk() throws IOException {
        Path folder = folder("convert");
        byte[] content = chain(folder);
        RecordingLog log = recordAndCheck("convert", folder, () -> {
            try (VirtualDisk source = Conversion.openSource(folder.resolve("child.vhd"))) {
                return Conversion.convert(source, folder.resolve("flat.vhd"), ConvertOptions.to(ImageType.DYNAMIC),
                        ProgressListener.NONE);
            }
        }, new Random(SEED ^ 3), (dir, cut) -> {
            assertReads(dir.resolve("child.vhd"), content);
            if (Files.exists(dir.resolve("flat.vhd"))) {
                assertReads(dir.resolve("flat.vhd"), content);
            }
        });
        assertTrue(log.events().stream().anyMatch(e -> e instanceof RecordingLog.Rename),
                "the conversion's rename into place was seen");
    }

    @Test
    void compactingLeavesTheImageReadingTheDisk() throws IOException {
        Path folder = folder("compact");
        byte[] content = chain(folder);
        zeroSomeBlocks(folder.resolve("child.vhd"), content, new Random(SEED ^ 4));
        recordAndCheck("compact", folder, () -> Compaction.compact(folder.resolve("child.vhd"), ProgressListener.NONE),
                new Random(SEED ^ 5), (dir, cut) -> assertReads(dir.resolve("child.vhd"), content));
    }

    @Test
    void mergingLeavesTheChildOrItsParentReadingTheDisk() throws IOException {
        Path folder = folder("merge");
        byte[] content = chain(folder);
        RecordingLog log = recordAndCheck("merge", folder,
                () -> ImageEdits.merge(folder.resolve("child.vhd"), MergeOptions.INTO_PARENT, ProgressListener.NONE),
                new Random(SEED ^ 6), (dir, cut) -> {
                    Path child = dir.resolve("child.vhd");
                    assertReads(Files.exists(child) ? child : dir.resolve("parent.vhd"), content);
                });
        assertTrue(log.events().stream().anyMatch(e -> e instanceof RecordingLog.Delete), "the merged child was deleted");
    }

    @Test
    void growingAndShrinkingLeaveTheDiskReadingItsBytes() throws IOException {
        Path folder = folder("resize");
        Random random = new Random(SEED ^ 7);
        byte[] content = new byte[(int) SIZE];
        try (VhdDisk disk = Vhd.create(folder.resolve("disk.vhd"), CreateOptions.dynamic(SIZE).withBlockSize(BLOCK))) {
            writeRandomBlocks(disk, content, random, 10, 0, SIZE / 2);
        }
        recordAndCheck("resize", folder, () -> {
            ImageEdits.resize(folder.resolve("disk.vhd"), SIZE + (4L << 20), false, ProgressListener.NONE);
            return ImageEdits.resize(folder.resolve("disk.vhd"), SIZE / 2, false, ProgressListener.NONE);
        }, random, (dir, cut) -> {
            Path path = dir.resolve("disk.vhd");
            sound(path);
            try (VhdDisk disk = Vhd.openReadOnly(path)) {
                long size = disk.size();
                assertTrue(size == SIZE || size == SIZE + (4L << 20) || size == SIZE / 2, "size " + size);
                byte[] actual = new byte[(int) size];
                disk.read(0, actual);
                byte[] expected = Arrays.copyOf(Arrays.copyOf(content, (int) Math.min(size, SIZE)), (int) size);
                assertDiskEquals(path, expected, actual);
            }
        });
    }

    @Test
    void rebasingSafelyLeavesTheChildReadingTheSame() throws IOException {
        Path folder = folder("rebase");
        byte[] content = chain(folder);
        filledDisk(folder.resolve("other.vhd"), new Random(SEED ^ 8), 16);
        recordAndCheck("rebase", folder, () -> ImageEdits.rebase(folder.resolve("child.vhd"), folder.resolve("other.vhd"),
                RebaseMode.SAFE, ProgressListener.NONE), new Random(SEED ^ 9),
                (dir, cut) -> assertReads(dir.resolve("child.vhd"), content));
    }

    @Test
    void repairingAKilledWritersImageLosesNothingFlushed() throws IOException {
        Path folder = folder("repair");
        Random random = new Random(SEED ^ 10);
        byte[] content = new byte[(int) SIZE];
        Path image = folder.resolve("disk.vhd");
        Path damaged = tmp.resolve("damaged.vhd");
        try (VhdDisk disk = Vhd.create(image, CreateOptions.dynamic(SIZE).withBlockSize(BLOCK))) {
            writeRandomBlocks(disk, content, random, 6, 0, SIZE / 2);
            disk.flush();
            // Blocks allocated after the last flush: their entries are written through at allocation,
            // so a killed writer keeps every write that returned, flushed or not.
            writeRandomBlocks(disk, content, random, 4, SIZE / 2, SIZE - BLOCK);
            // And one allocation the kill cut before its entry: the last block, its bitmap, data and the
            // footer after it in the file, no entry naming it. Its write never returned.
            int cut = (int) (SIZE / BLOCK) - 1;
            byte[] unreturned = new byte[8 * SECTOR];
            random.nextBytes(unreturned);
            disk.write((long) cut * BLOCK + 16 * SECTOR, unreturned);
            Files.copy(image, damaged);
            Faults.poke(damaged, disk.dynamicHeader().orElseThrow().tableOffset() + 4L * cut, new byte[] {-1, -1, -1, -1});
        }
        Files.copy(damaged, image, StandardCopyOption.REPLACE_EXISTING);
        // And a damaged footer copy at offset 0, which the trailing footer repairs.
        byte[] bytes = Files.readAllBytes(image);
        bytes[100] ^= 0x55;
        Files.write(image, bytes);
        assertEquals(CheckReport.Status.CORRUPT, ImageCheck.check(image, ProgressListener.NONE).status());
        recordAndCheck("check --repair", folder, () -> ImageCheck.repair(image, ProgressListener.NONE), random,
                (dir, cut) -> assertReads(dir.resolve("disk.vhd"), content));
    }

    // ------------------------------------------------------------------ the states

    @FunctionalInterface
    private interface Oracle {
        void check(Path dir, int cut) throws IOException;
    }

    /**
     * Runs {@code operation} recorded over the files of {@code folder}, then checks every crash state
     * of it with {@code oracle}; returns the log.
     */
    private RecordingLog recordAndCheck(String name, Path folder, java.util.concurrent.Callable<?> operation,
                                        Random random, Oracle oracle) throws IOException {
        RecordingLog log = RecordingLog.of(folder);
        int from = log.position();
        log.record(operation);
        log.reconcile();
        checkStates(name, log, from, log.position(), random, oracle);
        return log;
    }

    private void checkStates(String operation, RecordingLog log, int from, int to, Random random, Oracle oracle)
            throws IOException {
        List<CrashState> states = CrashStates.of(log, from, to, random, RANDOM_PER_FORCE);
        int n = 0;
        for (CrashState state : states) {
            Path dir = states().resolve("state-" + operation.replaceAll("\\W", "_") + "-" + n++);
            Files.createDirectories(dir);
            try {
                state.materialise(dir);
                oracle.check(dir, state.cut());
            } catch (IOException | AssertionError | RuntimeException e) {
                throw new AssertionError(operation + ": " + state + " of " + to + " (replay with -Dvhdkit.powerloss.seed="
                        + SEED + "): " + e, e);
            } finally {
                deleteTree(dir);
            }
        }
        assertTrue(states.size() > 1, operation + ": too few states to mean anything: " + states.size());
        COUNTS.merge(operation, states.size(), Integer::sum);
    }

    /** The image opens sound: {@code check} finds at most leaks, or {@code check --repair} makes it so. */
    private static void sound(Path image) throws IOException {
        CheckReport report = ImageCheck.check(image, ProgressListener.NONE);
        if (report.status() == CheckReport.Status.CORRUPT) {
            ImageCheck.repair(image, ProgressListener.NONE);
            report = ImageCheck.check(image, ProgressListener.NONE);
            if (report.status() == CheckReport.Status.CORRUPT) {
                fail(image + ": corrupt even after check --repair: " + report.remaining());
            }
        }
    }

    private static void assertReads(Path image, byte[] expected) throws IOException {
        sound(image);
        assertDiskEquals(image, expected, readAll(image, expected.length));
    }

    private static byte[] readAll(Path image, long size) throws IOException {
        try (VhdDisk disk = Vhd.openReadOnly(image)) {
            assertEquals(size, disk.size(), image + ": size");
            byte[] actual = new byte[(int) size];
            disk.read(0, actual);
            return actual;
        }
    }

    private static void assertDiskEquals(Path image, byte[] expected, byte[] actual) {
        int at = Arrays.mismatch(expected, actual);
        if (at >= 0) {
            fail(image + ": the disk reads other bytes than it held, first at disk offset " + at);
        }
    }

    // ------------------------------------------------------------------ fixtures

    /**
     * Where states are written out: a folder in memory (/dev/shm) where the host has one, as a state
     * is written, checked and deleted hundreds of times; else the test's temporary folder.
     */
    private Path states() throws IOException {
        Path shm = Path.of("/dev/shm");
        if (Files.isDirectory(shm) && Files.isWritable(shm)) {
            if (memory == null) {
                memory = Files.createTempDirectory(shm, "vhdkit-powerloss-");
            }
            return memory;
        }
        return tmp;
    }

    @AfterEach
    void deleteMemoryFolder() throws IOException {
        if (memory != null) {
            deleteTree(memory);
            memory = null;
        }
    }

    private Path folder(String name) throws IOException {
        return Files.createDirectories(tmp.resolve(name));
    }

    /** A dynamic disk with {@code writes} runs of random sectors in it; returns its bytes. */
    private static byte[] filledDisk(Path path, Random random, int writes) throws IOException {
        byte[] content = new byte[(int) SIZE];
        try (VhdDisk disk = Vhd.create(path, CreateOptions.dynamic(SIZE).withBlockSize(BLOCK))) {
            writeRandomBlocks(disk, content, random, writes, 0, SIZE);
        }
        return content;
    }

    /** parent.vhd with data and child.vhd over it with more; returns what the child reads. */
    private byte[] chain(Path folder) throws IOException {
        Random random = new Random(SEED ^ folder.getFileName().toString().hashCode());
        byte[] content = filledDisk(folder.resolve("parent.vhd"), random, 16);
        try (VhdDisk child = Vhd.create(folder.resolve("child.vhd"), CreateOptions.differencing(folder.resolve("parent.vhd")))) {
            writeRandomBlocks(child, content, random, 16, 0, SIZE);
        }
        return content;
    }

    /** Runs of random sectors at random places in {@code [from, to)}, mirrored into {@code content}. */
    private static void writeRandomBlocks(VhdDisk disk, byte[] content, Random random, int writes, long from, long to)
            throws IOException {
        for (int i = 0; i < writes; i++) {
            int sectors = 1 + random.nextInt(128);
            long offset = from + (long) random.nextInt((int) ((to - from) / SECTOR) - sectors) * SECTOR;
            byte[] bytes = new byte[sectors * SECTOR];
            random.nextBytes(bytes);
            disk.write(offset, bytes);
            System.arraycopy(bytes, 0, content, (int) offset, bytes.length);
        }
    }

    /** Zeros whole blocks of the child that hold data, so that a compaction has something to drop. */
    private static void zeroSomeBlocks(Path image, byte[] content, Random random) throws IOException {
        try (VhdDisk disk = Vhd.open(image, OpenOptions.READ_WRITE)) {
            for (int b = 0; b < SIZE / BLOCK; b++) {
                if (random.nextInt(3) == 0) {
                    disk.write((long) b * BLOCK, new byte[BLOCK]);
                    Arrays.fill(content, b * BLOCK, (b + 1) * BLOCK, (byte) 0);
                }
            }
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
