package org.vhdkit.cli.disk;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.vhdkit.cli.conventions.CommandFailure;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.cli.conventions.FileArguments;
import org.vhdkit.cli.conventions.Json;
import org.vhdkit.cli.conventions.OutputOption;
import org.vhdkit.cli.conventions.ProgressBar;
import org.vhdkit.cli.conventions.Size;
import org.vhdkit.vhd.DiskImage;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.io.ByteStore;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code vhd bench}: qemu-img bench's workload through the library, so that the two can be run on
 * the same file one after the other ({@link BenchWorkload} says where the requests go, {@link
 * BenchRun} how they are sent).
 *
 * <p>Human output is qemu-img bench's two lines and one of rates; the JSON document ({@code --output
 * json}) is an object: file, type, diskSize, operation ("read" or "write"), requests, bytes,
 * seconds, requestsPerSecond, mibPerSecond, requestSize, depth, step, offset, pattern (null for
 * reads), random, seed (null unless random), flushInterval, drain, flushes, cache, backing.
 *
 * <p>Thread-safety: one instance per run; picocli sets the fields, then {@link #call} runs on the
 * caller's thread (and starts and joins the request threads itself).
 */
@Command(name = "bench",
        description = {
            "Measures reads or writes on a disk through the library with qemu-img bench's workload and options: COUNT"
                    + " requests of SIZE bytes, the first at OFFSET, each next one STEP further, wrapping so that none"
                    + " crosses the end of the disk; DEPTH requests at once.",
            "A depth above 1 runs DEPTH threads, each sending one request at a time and taking the next offset in"
                    + " turn, as a server using the library does. --random sends the requests to random multiples of"
                    + " STEP instead (the same ones for the same --seed, whatever the depth).",
            "FILE is a VHD (fixed, dynamic, or differencing, read through its parents) or a raw image. Reads open"
                    + " it read-only; --write writes bytes of PATTERN and changes the disk.",
            "The time runs from the first request to the last answer, as qemu-img bench times it; the progress goes"
                    + " to stderr when it is a terminal."},
        footerHeading = "%nExamples:%n",
        footer = {
            "  vhd bench -c 100000 -d 16 disk.vhd               # 4 KiB sequential reads, 16 at once",
            "  qemu-img bench -f vpc -c 100000 -d 16 disk.vhd   # the same with qemu",
            "  vhd bench -w --pattern 0xab -s 1M -c 512 -d 1 disk.vhd",
            "  vhd bench --random --seed 7 -c 50000 -d 1 --output json disk.vhd"})
public final class BenchCommand implements Callable<Integer> {
    /** Threads vhd bench starts at most. */
    static final int MAX_DEPTH = 1024;

    @Spec
    CommandSpec spec;

    @Mixin
    OutputOption.LongOnly output;

    @Option(names = {"-c", "--count"}, paramLabel = "COUNT", description = "Requests to send (default: ${DEFAULT-VALUE}).")
    int count = 75_000;

    @Option(names = {"-s", "--size"}, paramLabel = "SIZE", converter = Size.Converter.class,
            description = "Bytes per request, with K, M, G (default: 4K).")
    long size = 4096;

    @Option(names = {"-S", "--step"}, paramLabel = "STEP", converter = Size.Converter.class,
            description = "Bytes from one request's offset to the next (default: SIZE).")
    Long step;

    @Option(names = {"-d", "--depth"}, paramLabel = "DEPTH",
            description = "Requests in flight at once, each on its own thread (default: ${DEFAULT-VALUE}).")
    int depth = 64;

    @Option(names = {"-w", "--write"}, description = "Write (bytes of PATTERN) rather than read.")
    boolean write;

    @Option(names = {"-o", "--offset"}, paramLabel = "OFFSET", converter = Size.Converter.class,
            description = "Where the first request starts (default: 0).")
    long offset;

    @Option(names = "--flush-interval", paramLabel = "N",
            description = "With --write: a flush every N requests (counted so that the last request is followed by one).")
    int flushInterval;

    @Option(names = "--no-drain", description = "With --flush-interval: send each flush beside the requests in flight"
            + " instead of waiting for them and holding the next ones back.")
    boolean noDrain;

    @Option(names = "--pattern", paramLabel = "BYTE", converter = PatternConverter.class,
            description = "The byte --write writes, 0 to 255 or 0x00 to 0xff (default: 0).")
    int pattern;

    @Option(names = {"-t", "--cache"}, paramLabel = "MODE", converter = CacheConverter.class,
            description = "How writes reach the disk: writeback (the default, as in qemu: writes land in the host page"
                    + " cache and are durable at a flush), writethrough (a flush after every write) or unsafe (no"
                    + " flushes but the one when the disk is closed). vhdkit always goes through the host page cache,"
                    + " so qemu's none and directsync (O_DIRECT) do not apply and are refused.")
    BenchRun.Cache cache = BenchRun.Cache.WRITEBACK;

    @Option(names = "--random", description = "Random offsets (multiples of STEP from OFFSET) instead of sequential ones.")
    boolean random;

    @Option(names = "--seed", paramLabel = "N", description = "With --random: the seed of the offsets (default: 1).")
    Long seed;

    @Option(names = "--backing", paramLabel = "BACKING", converter = BackingConverter.class,
            description = "How the library reaches a VHD file: mapped (memory-mapped, the default), or channel"
                    + " (positional reads and writes).")
    ByteStore.Backing backing = ByteStore.Backing.AUTO;

    @Option(names = {"-q", "--quiet"}, description = "Show no progress bar (shown on stderr only when it is a terminal).")
    boolean quiet;

    @Parameters(paramLabel = "FILE", description = "The disk: a VHD or a raw image.")
    Path file;

    /** The JSON document. */
    record Report(String file, String type, long diskSize, String operation, long requests, long bytes,
                  double seconds, double requestsPerSecond, double mibPerSecond, long requestSize, int depth,
                  long step, long offset, Integer pattern, boolean random, Long seed, int flushInterval,
                  boolean drain, long flushes, String cache, String backing) {
    }

    @Override
    public Integer call() throws Exception {
        checkOptions();
        FileArguments.checkNotDirectory(file);
        try (VirtualDisk disk = open()) {
            BenchWorkload work = workload(disk);
            PrintWriter out = spec.commandLine().getOut();
            if (!output.json()) {
                out.println(describe(work));
                out.flush();
            }
            BenchRun.Result result;
            try (ProgressBar bar = ProgressBar.start("Benchmarking " + file.getFileName(), quiet || output.json())) {
                result = new BenchRun(disk, work, depth, cache, pattern).run(bar);
            } catch (IOException e) {
                throw FileArguments.naming(file, e);
            }
            double seconds = result.seconds();
            double perSecond = seconds > 0 ? result.requests() / seconds : 0;
            double mib = seconds > 0 ? result.bytes() / seconds / (1 << 20) : 0;
            if (output.json()) {
                Json.print(out, new Report(file.toString(), DiskArguments.type(disk), disk.size(),
                        write ? "write" : "read", result.requests(), result.bytes(), seconds, perSecond, mib, size,
                        depth, work.step(), offset, write ? pattern : null, random, random ? work.seed() : null,
                        flushInterval, !noDrain, result.flushes(), cache.name().toLowerCase(Locale.ROOT),
                        backing.name().toLowerCase(Locale.ROOT)));
            } else {
                out.printf(Locale.ROOT, "Run completed in %.3f seconds.%n", seconds);
                out.printf(Locale.ROOT, "%.0f requests/s, %.1f MiB/s%n", perSecond, mib);
            }
            out.flush();
        }
        return ExitCodes.OK;
    }

    private void checkOptions() {
        CommandLine line = spec.commandLine();
        if (count < 1) {
            throw new ParameterException(line, "--count " + count + ": give at least 1 request");
        }
        if (depth < 1 || depth > MAX_DEPTH) {
            throw new ParameterException(line, "--depth " + depth + ": give 1 to " + MAX_DEPTH + " requests in flight");
        }
        if (size < 1 || size > Integer.MAX_VALUE / 2) {
            throw new ParameterException(line, "--size " + size + ": give 1 byte to 1 GiB per request");
        }
        if (step != null && step < 1) {
            throw new ParameterException(line, "--step 0: give at least 1 byte (without --step, the step is SIZE)");
        }
        if (flushInterval < 0) {
            throw new ParameterException(line, "--flush-interval " + flushInterval + ": give 1 or more requests");
        }
        if (flushInterval > 0 && !write) {
            throw new ParameterException(line, "--flush-interval goes only with --write (reads are not flushed)");
        }
        if (noDrain && flushInterval == 0) {
            throw new ParameterException(line, "--no-drain goes only with --flush-interval");
        }
        if (seed != null && !random) {
            throw new ParameterException(line, "--seed goes only with --random");
        }
        if (pattern != 0 && !write) {
            throw new ParameterException(line, "--pattern goes only with --write (reads write nothing)");
        }
    }

    private VirtualDisk open() throws IOException {
        try {
            if (backing == ByteStore.Backing.AUTO) {
                return DiskImage.open(file, !write);
            }
            if (DiskImage.probe(file) == DiskImage.Format.RAW) {
                throw new ParameterException(spec.commandLine(), "--backing applies to VHD files; a raw image is always"
                        + " opened the default way");
            }
            return Vhd.open(file, (write ? OpenOptions.READ_WRITE : OpenOptions.READ_ONLY).withBacking(backing));
        } catch (IOException e) {
            throw FileArguments.naming(file, e);
        }
    }

    private BenchWorkload workload(VirtualDisk disk) throws CommandFailure {
        long diskSize = disk.size();
        if (size > diskSize) {
            throw CommandFailure.refused(file + ": --size " + Size.describe(size) + " is larger than the disk ("
                    + Size.describe(diskSize) + ")");
        }
        if (offset > diskSize - size) {
            throw CommandFailure.refused(file + ": --offset " + offset + " leaves no room for a request of " + size
                    + " bytes before the end of the disk (" + Size.describe(diskSize) + ")");
        }
        return new BenchWorkload(diskSize, count, size, step == null ? size : step, offset, write, flushInterval,
                !noDrain, random, seed == null ? 1 : seed);
    }

    private String describe(BenchWorkload work) {
        String what = "Sending " + count + " " + (write ? "write" : "read") + " requests, " + size + " bytes each, "
                + depth + " in parallel ";
        String where = random
                ? "(random offsets, multiples of " + work.step() + " from " + offset + ", seed " + work.seed() + ")"
                : "(starting at offset " + offset + ", step size " + work.step() + ")";
        String flushes = flushInterval > 0 ? System.lineSeparator() + "Sending flush every " + flushInterval + " requests" : "";
        return what + where + flushes;
    }

    /** Reads --pattern: decimal or 0x hex, one byte. */
    static final class PatternConverter implements CommandLine.ITypeConverter<Integer> {
        @Override
        public Integer convert(String value) {
            String text = value.strip().toLowerCase(Locale.ROOT);
            int parsed;
            try {
                parsed = text.startsWith("0x") ? Integer.parseInt(text.substring(2), 16) : Integer.parseInt(text);
            } catch (NumberFormatException e) {
                parsed = -1;
            }
            if (parsed < 0 || parsed > 255) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not a byte; give 0 to 255 or 0x00 to 0xff");
            }
            return parsed;
        }
    }

    /** Reads -t: qemu's cache mode names, refusing those that mean O_DIRECT. */
    static final class CacheConverter implements CommandLine.ITypeConverter<BenchRun.Cache> {
        @Override
        public BenchRun.Cache convert(String value) {
            return switch (value.strip().toLowerCase(Locale.ROOT)) {
                case "writeback" -> BenchRun.Cache.WRITEBACK;
                case "writethrough" -> BenchRun.Cache.WRITETHROUGH;
                case "unsafe" -> BenchRun.Cache.UNSAFE;
                case "none", "directsync" -> throw new CommandLine.TypeConversionException("cache mode '" + value
                        + "' bypasses the host page cache (O_DIRECT) in qemu; vhdkit always reads and writes through"
                        + " it, so use writeback (qemu-img bench's default), writethrough or unsafe");
                default -> throw new CommandLine.TypeConversionException("'" + value
                        + "' is not a cache mode; use writeback, writethrough or unsafe");
            };
        }
    }

    /** Reads --backing. */
    static final class BackingConverter implements CommandLine.ITypeConverter<ByteStore.Backing> {
        @Override
        public ByteStore.Backing convert(String value) {
            return switch (value.strip().toLowerCase(Locale.ROOT)) {
                case "mapped" -> ByteStore.Backing.MAPPED;
                case "channel" -> ByteStore.Backing.CHANNEL;
                case "auto" -> ByteStore.Backing.AUTO;
                default -> throw new CommandLine.TypeConversionException("'" + value
                        + "' is not a backing; use mapped or channel");
            };
        }
    }
}
