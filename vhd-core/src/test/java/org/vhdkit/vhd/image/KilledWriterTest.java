package org.vhdkit.vhd.image;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.check.CheckReport;
import org.vhdkit.vhd.check.ImageCheck;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.format.DiskType;

/**
 * What a killed writer keeps: a child JVM writes a seeded sequence of writes (partial sectors, block
 * edges, new blocks) into a dynamic or differencing VHD, saying after each write that it returned
 * and flushing every few writes, and is killed with SIGKILL at a random moment. The page cache
 * outlives the process, so every acknowledged write reads back, flushed or not (a write that
 * allocated a block included: its table entry is in the file before the write returns); only the
 * write in flight may or may not be there. The image is clean or has only leaked space,
 * {@code check --repair} makes it clean, and writing on after the crash keeps it clean. The seed is
 * printed and replayable: {@code -Dvhdkit.killSeed=N}.
 */
@Timeout(120)
class KilledWriterTest {
    private static final long SIZE = 64L << 20;
    private static final int BLOCK = 2 << 20;
    private static final int FLUSH_EVERY = 8;
    private static final int MAX_WRITES = 4000;

    @TempDir
    Path tmp;

    /** One write of the sequence: where, and how many bytes, each byte derived from the seed and index. */
    private record Write(long offset, int length, int index, long seed) {
        static Write of(long seed, int index) {
            Random r = new Random(seed * 31 + index);
            int length = switch (r.nextInt(8)) {
                case 0, 1 -> 1 + r.nextInt(511); // part of a sector
                case 2, 3, 4 -> 512 * (1 + r.nextInt(16));
                case 5, 6 -> 4096 + r.nextInt(64 << 10); // unaligned, may cross a block edge
                default -> BLOCK; // a whole block's worth
            };
            long offset = r.nextInt(4) == 0
                    ? (long) (1 + r.nextInt((int) (SIZE / BLOCK) - 1)) * BLOCK - length / 2 // straddles an edge
                    : (long) (r.nextDouble() * (SIZE - length));
            return new Write(Math.max(0, Math.min(offset, SIZE - length)), length, index, seed);
        }

        byte[] data() {
            byte[] data = new byte[length];
            new Random(seed ^ ((long) index << 32)).nextBytes(data);
            return data;
        }
    }

    /**
     * The child: {@code <image> <seed>}. Writes the sequence, printing "wrote N" when write N returned,
     * and flushing after every {@value #FLUSH_EVERY} writes, printing "flushed N" after each flush.
     */
    public static void main(String[] args) throws Exception {
        long seed = Long.parseLong(args[1]);
        try (VhdDisk disk = Vhd.open(Path.of(args[0]), OpenOptions.READ_WRITE)) {
            System.out.println("ready");
            System.out.flush();
            for (int i = 0; i < MAX_WRITES; i++) {
                Write w = Write.of(seed, i);
                disk.write(w.offset(), w.data());
                System.out.println("wrote " + i);
                System.out.flush();
                if (i % FLUSH_EVERY == FLUSH_EVERY - 1) {
                    disk.flush();
                    System.out.println("flushed " + i);
                    System.out.flush();
                }
            }
        }
        System.out.println("done");
    }

    @ParameterizedTest
    @EnumSource(value = DiskType.class, names = {"DYNAMIC", "DIFFERENCING"})
    void everyAcknowledgedWriteSurvivesAKill(DiskType type) throws Exception {
        long first = Long.getLong("vhdkit.killSeed", new Random().nextLong());
        for (int round = 0; round < 3; round++) {
            killOnce(type, tmp.resolve("round" + round), first + round);
        }
    }

    private void killOnce(DiskType type, Path dir, long seed) throws Exception {
        java.nio.file.Files.createDirectories(dir);
        System.out.println("KilledWriterTest " + type + " seed " + seed + " (replay: -Dvhdkit.killSeed=" + seed + ")");
        Random random = new Random(seed);
        Path image = dir.resolve(type + ".vhd");
        byte[] model = new byte[(int) SIZE];
        if (type == DiskType.DIFFERENCING) {
            Path parent = dir.resolve("parent.vhd");
            try (VhdDisk p = Vhd.create(parent, CreateOptions.dynamic(SIZE))) {
                random.nextBytes(model);
                p.write(0, model); // the child shows this wherever it has not written
            }
            Vhd.create(image, CreateOptions.differencing(parent)).close();
        } else {
            Vhd.create(image, CreateOptions.dynamic(SIZE)).close();
        }

        Process child = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                KilledWriterTest.class.getName(), image.toString(), Long.toString(seed))
                .redirectError(dir.resolve("child.err").toFile()).start(); // standard output carries only the protocol
        BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), UTF_8));
        assertEquals("ready", out.readLine(), () -> "the child did not start: " + errors(dir));
        // Kill it between two flushes, early enough that most blocks are still to be allocated, so that
        // writes since the last flush allocate blocks (which a kill once lost).
        int killAfter = FLUSH_EVERY * random.nextInt(12) + 1 + random.nextInt(FLUSH_EVERY - 2);
        int flushed = -1;
        int wrote = -1;
        List<String> lines = new ArrayList<>();
        for (String line; wrote < killAfter && (line = out.readLine()) != null; ) {
            lines.add(line);
            if (line.startsWith("flushed ")) {
                flushed = Integer.parseInt(line.substring(8));
            } else if (line.startsWith("wrote ")) {
                wrote = Integer.parseInt(line.substring(6));
            }
        }
        Thread.sleep(random.nextInt(20));
        boolean running = child.isAlive();
        child.toHandle().destroyForcibly(); // SIGKILL, keeping the pipe: what the child printed before it died is read below
        for (String line; (line = out.readLine()) != null; ) {
            lines.add(line);
        }
        assertTrue(child.waitFor(30, TimeUnit.SECONDS));
        for (String line : lines) {
            if (line.startsWith("wrote ")) {
                wrote = Integer.parseInt(line.substring(6));
            }
        }
        assertTrue(lines.stream().allMatch(l -> l.startsWith("flushed ") || l.startsWith("wrote ")), lines::toString);
        assertTrue(running && wrote >= 0 && wrote < MAX_WRITES - 1,
                "the kill lands mid-run, after acknowledged writes: seed " + seed);
        System.out.println("KilledWriterTest: killed after write " + wrote + " was acknowledged, " + flushed
                + " flushed");

        // What the acknowledged writes must show; the bytes of the write in flight may or may not be there.
        BitSet unknown = new BitSet((int) SIZE);
        for (int i = 0; i <= wrote; i++) {
            Write w = Write.of(seed, i);
            System.arraycopy(w.data(), 0, model, (int) w.offset(), w.length());
        }
        Write inFlight = Write.of(seed, wrote + 1);
        unknown.set((int) inFlight.offset(), (int) inFlight.offset() + inFlight.length());
        assertNotEquals(CheckReport.Status.CORRUPT, ImageCheck.check(image, ProgressListener.NONE).status(),
                "seed " + seed);
        assertShowsOutside(image, model, unknown, "after the kill, seed " + seed);

        // Writing on after the crash reclaims what it left; the result is clean, with nothing lost.
        try (VhdDisk disk = Vhd.open(image, OpenOptions.READ_WRITE)) {
            for (int i = 0; i < 20; i++) {
                Write w = Write.of(~seed, i);
                disk.write(w.offset(), w.data());
                System.arraycopy(w.data(), 0, model, (int) w.offset(), w.length());
                unknown.clear((int) w.offset(), (int) w.offset() + w.length());
            }
        }
        CheckReport after = ImageCheck.repair(image, ProgressListener.NONE);
        assertEquals(CheckReport.Status.CLEAN, after.status(), "seed " + seed + ": " + after);
        assertShowsOutside(image, model, unknown, "written on and repaired, seed " + seed);
    }

    private static String errors(Path dir) {
        try {
            return java.nio.file.Files.readString(dir.resolve("child.err"));
        } catch (IOException e) {
            return e.toString();
        }
    }

    private static void assertShowsOutside(Path image, byte[] model, BitSet unknown, String what) throws IOException {
        byte[] actual = new byte[(int) SIZE];
        try (VhdDisk disk = Vhd.openReadOnly(image)) {
            disk.read(0, actual);
        }
        for (int i = unknown.nextSetBit(0); i >= 0; i = unknown.nextSetBit(i + 1)) {
            actual[i] = model[i];
        }
        assertArrayEquals(model, actual, what);
    }
}
