package org.vhdkit.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.vhdkit.cli.conventions.ExitCodes;

/**
 * The training runs of the JVM's ahead-of-time caches (JEP 483/514): the {@code ./vhd} launcher runs
 * this class after each build with {@code -XX:AOTCacheOutput}, and every later command starts with
 * the classes it loaded already parsed and linked, and (long-running commands only; see the
 * launcher) with its methods' profiles.
 *
 * <p>There are two caches, because a JVM loads every class of its cache when it starts, whether the
 * command needs it or not (14-30 us a class on the machine of BENCHMARKS.md): the quick
 * commands' ({@link Kind#QUICK}) and the long-running commands' ({@link Kind#FULL}); the launcher
 * picks one by the command's name.
 * <ul>
 *   <li>{@link Kind#QUICK} runs the commands a user starts most and that answer at once (help,
 *       version, create, info in both formats, check, map, measure, an error) on small images in a
 *       temporary directory, their output discarded.</li>
 *   <li>{@link Kind#FULL} runs those too, then digest (BLAKE3 over 16 MiB, enough to profile its
 *       loops), compare, {@code vhd bench} writing and reading 4 KiB at depth 1 and a conversion
 *       each way (the write path and bench's loop, so that {@code vhd bench -w}'s first requests are
 *       not run interpreted), then serves one image over NBD to an in-process client
 *       ({@link NbdTraining}), so that {@code vhd serve}'s first client does not pay for the JIT's
 *       warm-up.</li>
 * </ul>
 * Nothing here is needed for correctness: with no cache, or a stale one, commands only start more
 * slowly; a failed NBD session is reported on stderr and the rest of the training kept.
 */
public final class AotTraining {
    /**
     * Requests of each {@code vhd bench} run, 4 KiB each, over a 16 MiB disk: the first pass
     * allocates its blocks, the rest writes into allocated ones, enough for the loop and the write
     * path to be profiled and compiled (the JIT's second tier starts after about 10,000 calls).
     */
    private static final String BENCH_REQUESTS = "20000";
    /** The size of the raw image the training converts. */
    private static final int RAW_SIZE = 8 << 20;

    private AotTraining() {
    }

    /** Which commands a training run runs, and so which cache it makes. */
    enum Kind {
        /** The quick commands: what {@code ./vhd} runs them with. */
        QUICK,
        /** Every command the training knows, the quick ones first: for the long-running commands. */
        FULL
    }

    /**
     * Runs the training commands of the kind named by the argument ({@code quick} or {@code full}, the
     * default); exit code 0, 2 for an unknown kind, or 1 when the temporary directory cannot be used.
     */
    public static void main(String[] args) throws IOException, InterruptedException {
        PrintWriter sink = new PrintWriter(Writer.nullWriter());
        PrintWriter err = new PrintWriter(System.err, true);
        Kind kind;
        try {
            kind = args.length == 0 ? Kind.FULL : Kind.valueOf(args[0].toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            err.println("vhd training: unknown kind '" + args[0] + "' (quick or full)");
            System.exit(ExitCodes.USAGE);
            return;
        }
        VhdCommand.startProcess(true).join(); // as a command's process starts: what it loads goes into the cache too
        train(Files.createTempDirectory("vhd-aot-training"), kind, sink, err);
        // The NBD server's threads are gone once it closed; exiting here also ends a session
        // its deadline cut short, so the launcher never waits on the training.
        System.exit(0);
    }

    /**
     * Runs the training commands with files in {@code dir}, an empty directory, then deletes
     * {@code dir} with everything in it.
     *
     * @return each command's exit code, in order, then (for {@link Kind#FULL}) the NBD session's:
     *     {@link ExitCodes#OK}, or {@link ExitCodes#IO} with the reason on {@code err}
     * @throws IOException when {@code dir} cannot be walked or deleted afterwards
     */
    static int[] train(Path dir, Kind kind, PrintWriter out, PrintWriter err) throws IOException {
        try {
            String d = dir.resolve("d.vhd").toString();
            String f = dir.resolve("f.vhd").toString();
            String h = dir.resolve("h.vhd").toString();
            String w = dir.resolve("w.vhd").toString();
            String raw = kind == Kind.FULL ? writeRawImage(dir.resolve("r.img")).toString() : null;
            List<String[]> quick = List.of(
                    new String[] {"--help"},
                    new String[] {"--version"},
                    new String[] {"info", "--help"},
                    new String[] {"check", "--help"},
                    new String[] {},
                    new String[] {"create", "--size", "64M", d},
                    new String[] {"create", "--type", "fixed", "--size", "1M", f},
                    new String[] {"info", d},
                    new String[] {"info", "--output", "json", d},
                    new String[] {"info", "--chain", f},
                    new String[] {"check", d},
                    new String[] {"check", "--output", "json", f},
                    new String[] {"map", d},
                    new String[] {"measure", "--type", "dynamic", f},
                    new String[] {"info", dir.resolve("missing.vhd").toString()},
                    new String[] {"info", "--no-such-option", d});
            List<String[]> commands = kind == Kind.QUICK ? quick : Stream.concat(quick.stream(), Stream.of(
                    new String[] {"digest", "--algorithm", "sha256", f},
                    new String[] {"digest", "--algorithm", "blake3", f},
                    // BLAKE3's row loops (Blake3.compressRows) run a few thousand times, so that the
                    // cache holds their profiles and a real digest has C2 compile them sooner.
                    new String[] {"create", "--type", "fixed", "--size", "16M", h},
                    new String[] {"digest", "-q", "--algorithm", "blake3", h},
                    new String[] {"compare", d, f},
                    new String[] {"create", "--size", "16M", w},
                    new String[] {"bench", "-q", "-w", "-d", "1", "-c", BENCH_REQUESTS, w},
                    new String[] {"bench", "-q", "-d", "1", "-c", BENCH_REQUESTS, w},
                    new String[] {"convert", "-q", "--type", "dynamic", raw, dir.resolve("c.vhd").toString()},
                    new String[] {"convert", "-q", dir.resolve("c.vhd").toString(), dir.resolve("c.raw").toString()},
                    new String[] {"serve", "--help"})).toList();
            int[] codes = new int[commands.size() + (kind == Kind.FULL ? 1 : 0)];
            for (int i = 0; i < commands.size(); i++) {
                codes[i] = VhdCommand.run(out, err, commands.get(i));
            }
            if (kind == Kind.FULL) {
                codes[commands.size()] = serve(dir, dir.resolve("d.vhd"), err);
            }
            return codes;
        } finally {
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    /**
     * Writes the raw image the training converts: {@link #RAW_SIZE} bytes of data, with a zero piece
     * and a zero block in it, so that conversion's reading, search for zeros and block allocation
     * run as they do on a real image.
     */
    private static Path writeRawImage(Path path) throws IOException {
        byte[] bytes = new byte[RAW_SIZE];
        new Random(15).nextBytes(bytes);
        Arrays.fill(bytes, 4096, 8192, (byte) 0);
        Arrays.fill(bytes, 2 << 20, 4 << 20, (byte) 0);
        return Files.write(path, bytes);
    }

    /** The NBD session on {@code image}; its exit code, the failure named on {@code err}. */
    private static int serve(Path dir, Path image, PrintWriter err) {
        try {
            NbdTraining.run(dir, image);
            return ExitCodes.OK;
        } catch (IOException | RuntimeException e) {
            err.println("vhd training: the NBD session failed (vhd serve starts unprofiled): " + e);
            err.flush();
            return ExitCodes.IO;
        }
    }
}
