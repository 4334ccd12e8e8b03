package org.vhdkit.cli.disk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.check.CheckReport;
import org.vhdkit.vhd.check.ImageCheck;
import org.vhdkit.vhd.content.DigestAlgorithm;
import org.vhdkit.vhd.content.DiskContents;
import org.vhdkit.vhd.edit.ResizeHalt;

/**
 * The commands that rewrite a file, each run as the real {@code vhd} (target/vhd.jar) and killed
 * with SIGKILL at random moments, to hold them to what their help promises: crash-safe by a new file
 * renamed into place (compact, convert) or by the order of their steps (merge, resize). After each
 * kill the disk reads as it did (or as the finished command leaves it), no image is corrupt, and
 * running the same command again completes it.
 *
 * <p>Where a kill lands is placed, not left to chance: compact and convert are killed once their
 * staging file exists (the command is under way), after a fraction of how long the staging file
 * lived in an uninterrupted run (a different fraction each round); the test counts the kills that
 * caught the staging file and the command alive, and requires them all. Convert has one round more
 * that lets the command finish, so its "whole target" branch runs; resize has one round that stops
 * it dead right after it wrote its header and before its footer ({@code ResizeHalt}), a window no
 * timing hits. The seed (for the disks' data) is printed and replayable: {@code -Dvhdkit.killSeed=N}.
 */
@Timeout(300)
class KilledCommandsIT {
    private static final int MIB = 1 << 20;

    @TempDir
    Path tmp;

    /** Where after the staging file appears each round's kill lands, as a share of the staging file's life. */
    private static final double[] FRACTIONS = {0.1, 0.3, 0.5};

    private final long seed = Long.getLong("vhdkit.killSeed", new Random().nextLong());
    private final Random random = new Random(seed);

    private ProcessBuilder vhd(Path dir, String... args) {
        Path jar = Path.of("target", "vhd.jar").toAbsolutePath();
        assertTrue(Files.isRegularFile(jar), () -> "no " + jar + " (failsafe runs after package)");
        List<String> argv = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-jar",
                jar.toString(), args[0], "-q"));
        argv.addAll(List.of(args).subList(1, args.length));
        return new ProcessBuilder(argv).directory(dir.toFile()).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(dir.resolve("vhd.err").toFile());
    }

    /** Runs {@code vhd args} to its end and returns its exit code. */
    private int run(Path dir, String... args) throws Exception {
        Process p = vhd(dir, args).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), () -> "vhd " + String.join(" ", args) + " did not end");
        return p.exitValue();
    }

    /**
     * Times {@code vhd args} on a copy of the files in {@code dir}, from the moment its staging file
     * ({@code .partial}) appears to the end; then starts it on {@code dir}, waits for its staging file,
     * and kills it {@code fraction} of that time later. Returns whether the kill caught it mid-operation:
     * alive, with its staging file there. A fraction of at least 1 lets it run to its end instead.
     */
    private boolean killOnceStaged(Path dir, double fraction, String... args) throws Exception {
        Path probe = probe(dir);
        Process timed = vhd(probe, args).start();
        awaitStaging(probe, timed, "the uninterrupted run");
        long staged = System.nanoTime();
        assertTrue(timed.waitFor(120, TimeUnit.SECONDS), "the uninterrupted run did not end");
        assertEquals(0, timed.exitValue(), "the uninterrupted run");
        long millis = (System.nanoTime() - staged) / 1_000_000;
        deleteProbe(probe);
        Process p = vhd(dir, args).start();
        if (fraction >= 1) {
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the run left to finish did not end");
            assertEquals(0, p.exitValue(), "the run left to finish");
            return false;
        }
        awaitStaging(dir, p, "the run to kill");
        boolean ended = p.waitFor((long) (millis * fraction), TimeUnit.MILLISECONDS);
        boolean staging = partials(dir) > 0;
        p.destroyForcibly();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        return !ended && staging;
    }

    /** A copy of the files in {@code dir} beside it, for an uninterrupted run that times the command. */
    private static Path probe(Path dir) throws IOException {
        Path probe = Files.createDirectories(dir.resolveSibling(dir.getFileName() + "-probe"));
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                Files.copy(f, probe.resolve(f.getFileName()));
            }
        }
        return probe;
    }

    private static void deleteProbe(Path probe) throws IOException {
        try (var files = Files.list(probe)) {
            for (Path f : files.toList()) {
                Files.delete(f);
            }
        }
        Files.delete(probe);
    }

    /** Waits until {@code vhd} has made its staging file in {@code dir}: the operation is under way. */
    private static void awaitStaging(Path dir, Process p, String which) throws Exception {
        while (partials(dir) == 0) {
            assertTrue(p.isAlive(), () -> which + " ended before it made a staging file");
            Thread.sleep(1);
        }
    }

    /**
     * Times {@code vhd args} on a copy of the files in {@code dir}, then starts it on {@code dir} and
     * kills it at 0.4 + {@code fraction} of that time, when JVM start-up is behind it. Returns whether it was
     * still running. (For the commands that edit in place and leave no staging file to wait for.)
     */
    private boolean kill(Path dir, double fraction, String... args) throws Exception {
        Path probe = probe(dir);
        long start = System.nanoTime();
        assertEquals(0, run(probe, args), "the uninterrupted run");
        long millis = (System.nanoTime() - start) / 1_000_000;
        deleteProbe(probe);
        Process p = vhd(dir, args).start();
        boolean ended = p.waitFor((long) (millis * (0.4 + fraction)), TimeUnit.MILLISECONDS);
        p.destroyForcibly();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        return !ended;
    }

    /** One round of a test, in its own folder: returns whether the kill caught the command running. */
    @FunctionalInterface
    private interface Round {
        boolean run(Path dir, double fraction, String where) throws Exception;
    }

    /** Runs a round per fraction; returns how many kills caught the command running. */
    private int rounds(String command, double[] fractions, Round round) throws Exception {
        int killed = 0;
        for (int i = 0; i < fractions.length; i++) {
            killed += round.run(Files.createDirectories(tmp.resolve(command + i)), fractions[i],
                    "round " + i + " (fraction " + fractions[i] + "), seed " + seed + " (replay: -Dvhdkit.killSeed="
                            + seed + ")") ? 1 : 0;
        }
        System.out.printf("KilledCommandsIT %s: %d of %d kills caught the command under way (seed %d)%n", command, killed,
                fractions.length, seed);
        return killed;
    }

    /** A dynamic disk with random data in most blocks and zeros written over every third. */
    private Path disk(Path dir, String name, long size) throws IOException {
        Path path = dir.resolve(name);
        try (VhdDisk d = Vhd.create(path, CreateOptions.dynamic(size))) {
            byte[] block = new byte[2 * MIB];
            for (long at = 0; at < size; at += block.length) {
                if ((at / block.length) % 3 == 2) {
                    d.write(at, new byte[block.length]);
                } else {
                    random.nextBytes(block);
                    d.write(at, block);
                }
            }
        }
        return path;
    }

    /** The SHA-256 of what the disk (with its chain) shows, as {@code vhd digest} computes it. */
    private static String sha256(Path image) throws IOException {
        try (VhdDisk d = Vhd.openReadOnly(image)) {
            return DiskContents.digest(d, DigestAlgorithm.SHA256, ProgressListener.NONE).hex();
        }
    }

    private static CheckReport.Status status(Path image) throws IOException {
        return ImageCheck.check(image, ProgressListener.NONE).status();
    }

    private static long partials(Path dir) throws IOException {
        try (var files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".partial")).count();
        }
    }

    @Test
    void compactKilledLeavesTheDiskAsItWasAndRunsAgain() throws Exception {
        int midOperation = rounds("compact", FRACTIONS, (dir, fraction, where) -> {
            Path image = disk(dir, "d.vhd", 192L * MIB);
            String before = sha256(image);
            boolean killed = killOnceStaged(dir, fraction, "compact", "d.vhd");
            assertEquals(before, sha256(image), where);
            assertNotEquals(CheckReport.Status.CORRUPT, status(image), where);
            assertEquals(0, run(dir, "compact", "d.vhd"), where);
            assertEquals(before, sha256(image), where);
            assertEquals(CheckReport.Status.CLEAN, status(image), where);
            assertTrue(partials(dir) <= 1, "at most the killed run's staging file is left: " + where);
            return killed;
        });
        assertEquals(FRACTIONS.length, midOperation, "every kill lands while compact runs, seed " + seed);
    }

    @Test
    void convertKilledLeavesNoTargetOrAWholeOne() throws Exception {
        int[] whole = new int[1];
        double[] fractions = {FRACTIONS[0], FRACTIONS[1], FRACTIONS[2], 1}; // the last runs to its end
        int midOperation = rounds("convert", fractions, (dir, fraction, where) -> {
            Path source = disk(dir, "d.vhd", 192L * MIB);
            String before = sha256(source);
            boolean killed = killOnceStaged(dir, fraction, "convert", "--type", "fixed", "d.vhd", "f.vhd");
            assertEquals(before, sha256(source), where);
            Path target = dir.resolve("f.vhd");
            if (Files.exists(target)) { // renamed into place only once whole
                assertEquals(before, sha256(target), where);
                Files.delete(target);
                whole[0]++;
            }
            assertEquals(0, run(dir, "convert", "--type", "fixed", "d.vhd", "f.vhd"), where);
            assertEquals(before, sha256(target), where);
            assertEquals(CheckReport.Status.CLEAN, status(target), where);
            return killed;
        });
        // convert writes its target with positional writes and ends in one force, whose length swings
        // with the page cache's write-back: a late kill may find it done. One kill under way is the
        // least that makes the rounds a test of a kill, not of a finished command.
        assertTrue(midOperation >= 1, "no kill landed while convert ran, seed " + seed);
        assertTrue(whole[0] >= 1, "the round left to finish has a whole target (and so may a round whose kill came"
                + " after the rename), seed " + seed);
    }

    @Test
    void mergeKilledKeepsTheChildReadingTheSameAndRunsAgain() throws Exception {
        int running = rounds("merge", FRACTIONS, (dir, fraction, where) -> {
            Path base = disk(dir, "base.vhd", 128L * MIB);
            Path child = dir.resolve("child.vhd");
            try (VhdDisk d = Vhd.create(child, CreateOptions.differencing(base))) {
                byte[] data = new byte[3 * MIB + 1234];
                for (int i = 0; i < 20; i++) {
                    random.nextBytes(data);
                    d.write((long) (random.nextDouble() * (128L * MIB - data.length)), data);
                }
            }
            String shown = sha256(child);
            boolean killed = kill(dir, fraction, "merge", "child.vhd");
            assertNotEquals(CheckReport.Status.CORRUPT, status(base), where);
            if (Files.exists(child)) {
                assertEquals(shown, sha256(child), "the child reads the same however far the merge got: " + where);
                assertEquals(0, run(dir, "merge", "child.vhd"), where);
            }
            assertTrue(Files.notExists(child), where);
            assertEquals(shown, sha256(base), "the parent shows what the child showed: " + where);
            assertNotEquals(CheckReport.Status.CORRUPT, status(base), where);
            return killed;
        });
        assertTrue(running >= 1, "no kill caught merge running, seed " + seed);
    }

    @Test
    void resizeKilledKeepsTheDataAndRunsAgain() throws Exception {
        int[] halted = new int[1];
        double[] fractions = {FRACTIONS[0], FRACTIONS[1], -1}; // the last: halted between header and footer
        rounds("resize", fractions, (dir, fraction, where) -> {
            Path image = disk(dir, "d.vhd", 64L * MIB);
            byte[] before = new byte[64 * MIB];
            try (VhdDisk d = Vhd.openReadOnly(image)) {
                d.read(0, before);
            }
            boolean killed;
            if (fraction < 0) {
                killed = haltResize(dir, 100L << 30, "header written");
                assertEquals(CheckReport.Status.CORRUPT, status(image), "its header written, not its footer: " + where);
            } else {
                killed = kill(dir, fraction, "resize", "--size", "100G", "d.vhd"); // the table moves: steps at both ends
            }
            if (status(image) == CheckReport.Status.CORRUPT) { // stopped between its header and footer writes
                assertEquals(0, run(dir, "resize", "--size", "100G", "d.vhd"), where);
                halted[0]++;
            }
            assertEquals(0, run(dir, "resize", "--size", "100G", "d.vhd"), where);
            try (VhdDisk d = Vhd.open(image, OpenOptions.READ_ONLY)) {
                assertEquals(100L << 30, d.size(), where);
                byte[] after = new byte[64 * MIB];
                d.read(0, after);
                assertTrue(Arrays.equals(before, after), where);
            }
            assertNotEquals(CheckReport.Status.CORRUPT, status(image), where);
            return killed;
        });
        assertTrue(halted[0] >= 1, "the resize stopped between header and footer was run again, seed " + seed);
    }

    /** Runs vhd-core's resize on d.vhd in a JVM of its own that halts right after {@code step}. */
    private boolean haltResize(Path dir, long newSize, String step) throws Exception {
        Process p = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                ResizeHalt.class.getName(), dir.resolve("d.vhd").toString(), Long.toString(newSize), step)
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(ResizeHalt.HALTED, p.exitValue(), out);
        assertEquals("halting after " + step + "\n", out);
        return true;
    }
}
