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

/**
 * The commands that rewrite a file, each run as the real {@code vhd} (target/vhd.jar) and killed
 * with SIGKILL at random moments, to hold them to what their help promises: crash-safe by a new file
 * renamed into place (compact, convert) or by the order of their steps (merge, resize). After each
 * kill the disk reads as it did (or as the finished command leaves it), no image is corrupt, and
 * running the same command again completes it. The delays are seeded and printed; where in the
 * command a kill lands is still the machine's timing.
 */
@Timeout(300)
class KilledCommandsIT {
    private static final int MIB = 1 << 20;
    private static final int ROUNDS = 3;

    @TempDir
    Path tmp;

    private final long seed = new Random().nextLong();
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
     * Times {@code vhd args} on a copy of the files in {@code dir}, then starts it on {@code dir} and
     * kills it at a random moment of its second half or so, when JVM start-up is behind it. Returns
     * whether it was still running.
     */
    private boolean kill(Path dir, String... args) throws Exception {
        Path probe = Files.createDirectories(dir.resolveSibling(dir.getFileName() + "-probe"));
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                Files.copy(f, probe.resolve(f.getFileName()));
            }
        }
        long start = System.nanoTime();
        assertEquals(0, run(probe, args), "the uninterrupted run");
        long millis = (System.nanoTime() - start) / 1_000_000;
        try (var files = Files.list(probe)) {
            for (Path f : files.toList()) {
                Files.delete(f);
            }
        }
        Files.delete(probe);
        Process p = vhd(dir, args).start();
        boolean ended = p.waitFor((long) (millis * (0.3 + 0.65 * random.nextDouble())), TimeUnit.MILLISECONDS);
        p.destroyForcibly();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        return !ended;
    }

    /** One round of a test, in its own folder: returns whether the kill caught the command running. */
    @FunctionalInterface
    private interface Round {
        boolean run(Path dir, String where) throws Exception;
    }

    private void rounds(String command, Round round) throws Exception {
        int killed = 0;
        for (int i = 0; i < ROUNDS; i++) {
            killed += round.run(Files.createDirectories(tmp.resolve(command + i)), "round " + i + ", seed " + seed)
                    ? 1 : 0;
        }
        System.out.printf("KilledCommandsIT %s: %d of %d runs killed before they ended (seed %d)%n", command, killed,
                ROUNDS, seed);
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
        rounds("compact", (dir, where) -> {
            Path image = disk(dir, "d.vhd", 192L * MIB);
            String before = sha256(image);
            boolean killed = kill(dir, "compact", "d.vhd");
            assertEquals(before, sha256(image), where);
            assertNotEquals(CheckReport.Status.CORRUPT, status(image), where);
            assertEquals(0, run(dir, "compact", "d.vhd"), where);
            assertEquals(before, sha256(image), where);
            assertEquals(CheckReport.Status.CLEAN, status(image), where);
            assertTrue(partials(dir) <= 1, "at most the killed run's staging file is left: " + where);
            return killed;
        });
    }

    @Test
    void convertKilledLeavesNoTargetOrAWholeOne() throws Exception {
        rounds("convert", (dir, where) -> {
            Path source = disk(dir, "d.vhd", 192L * MIB);
            String before = sha256(source);
            boolean killed = kill(dir, "convert", "--type", "fixed", "d.vhd", "f.vhd");
            assertEquals(before, sha256(source), where);
            Path target = dir.resolve("f.vhd");
            if (Files.exists(target)) { // renamed into place only once whole
                assertEquals(before, sha256(target), where);
                Files.delete(target);
            }
            assertEquals(0, run(dir, "convert", "--type", "fixed", "d.vhd", "f.vhd"), where);
            assertEquals(before, sha256(target), where);
            assertEquals(CheckReport.Status.CLEAN, status(target), where);
            return killed;
        });
    }

    @Test
    void mergeKilledKeepsTheChildReadingTheSameAndRunsAgain() throws Exception {
        rounds("merge", (dir, where) -> {
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
            boolean killed = kill(dir, "merge", "child.vhd");
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
    }

    @Test
    void resizeKilledKeepsTheDataAndRunsAgain() throws Exception {
        rounds("resize", (dir, where) -> {
            Path image = disk(dir, "d.vhd", 64L * MIB);
            byte[] before = new byte[64 * MIB];
            try (VhdDisk d = Vhd.openReadOnly(image)) {
                d.read(0, before);
            }
            boolean killed = kill(dir, "resize", "--size", "100G", "d.vhd"); // the table moves: steps at both ends
            if (status(image) == CheckReport.Status.CORRUPT) { // stopped between its header and footer writes
                assertEquals(0, run(dir, "resize", "--size", "100G", "d.vhd"), where);
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
    }
}
