package org.vhdkit.cli.disk;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.cli.CliRun;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.DiskImage;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.testing.ExternalTools;

/** {@code vhd bench}: its options, its refusals, its report, and that what it writes is there. */
class BenchCommandTest {
    private static final int MIB = 1 << 20;

    @TempDir
    Path tmp;

    private static CliRun vhd(String... args) {
        return CliRun.vhd(FileSystems.getDefault(), args);
    }

    private Path dynamic(String name, long size) throws IOException {
        Path d = tmp.resolve(name);
        Vhd.create(d, CreateOptions.dynamic(size)).close();
        return d;
    }

    private static byte[] contents(Path file) throws IOException {
        try (VirtualDisk disk = DiskImage.openReadOnly(file)) {
            byte[] bytes = new byte[(int) disk.size()];
            disk.read(0, bytes);
            return bytes;
        }
    }

    @Test
    void theJsonReportCountsEveryRequestAndNamesTheWorkload() throws IOException {
        Path disk = dynamic("d.vhd", 8 * MIB);
        JsonNode report = vhd("bench", "-c", "300", "-d", "4", "-s", "8K", "-S", "12K", "-o", "1M", "--output", "json",
                disk.toString()).assertSuccess().json();
        assertEquals(disk.toString(), report.get("file").asText());
        assertEquals("dynamic", report.get("type").asText());
        assertEquals(8 * MIB, report.get("diskSize").asLong());
        assertEquals("read", report.get("operation").asText());
        assertEquals(300, report.get("requests").asLong());
        assertEquals(300 * 8192, report.get("bytes").asLong());
        assertEquals(8192, report.get("requestSize").asLong());
        assertEquals(4, report.get("depth").asInt());
        assertEquals(12288, report.get("step").asLong());
        assertEquals(MIB, report.get("offset").asLong());
        assertEquals("writeback", report.get("cache").asText());
        for (String field : List.of("seconds", "requestsPerSecond", "mibPerSecond")) {
            assertTrue(report.get(field).isNumber() && report.get(field).asDouble() >= 0, field);
        }
        for (String field : List.of("pattern", "random", "seed", "flushInterval", "drain", "flushes", "backing")) {
            assertTrue(report.has(field), field);
        }
    }

    @Test
    void humanOutputIsQemuImgBenchsLinesAndTheRates() throws IOException {
        Path raw = tmp.resolve("raw.img");
        Files.write(raw, new byte[MIB]);
        String out = vhd("bench", "-c", "10", "-d", "2", raw.toString()).assertSuccess().out();
        String[] lines = out.split("\n");
        assertEquals("Sending 10 read requests, 4096 bytes each, 2 in parallel (starting at offset 0, step size 4096)",
                lines[0]);
        assertTrue(lines[1].matches("Run completed in \\d+\\.\\d{3} seconds\\."), lines[1]);
        assertTrue(lines[2].matches("\\d+ requests/s, \\d+\\.\\d MiB/s"), lines[2]);
    }

    @Test
    void writesOfAPatternReadBackThroughTheLibraryAtEveryDepth() throws IOException {
        Path fixed = tmp.resolve("fixed.vhd");
        Vhd.create(fixed, CreateOptions.fixed(4 * MIB)).close();
        vhd("bench", "-w", "--pattern", "0xab", "-c", "300", "-d", "8", "-o", "8K", "-q", fixed.toString()).assertSuccess();
        byte[] expected = new byte[4 * MIB];
        Arrays.fill(expected, 8192, 8192 + 300 * 4096, (byte) 0xab);
        assertArrayEquals(expected, contents(fixed));

        // Random writes at depth 1 into a dynamic disk: the bytes land where the workload says.
        Path dynamic = dynamic("d.vhd", 4 * MIB);
        vhd("bench", "-w", "--pattern", "7", "--random", "--seed", "3", "-c", "40", "-s", "64K", "-d", "1",
                "--flush-interval", "16", dynamic.toString()).assertSuccess();
        BenchWorkload work = new BenchWorkload(4 * MIB, 40, 65536, 65536, 0, true, 16, true, true, 3);
        byte[] random = new byte[4 * MIB];
        for (long i = 0; i < 40; i++) {
            int at = (int) work.offsetOf(i);
            Arrays.fill(random, at, at + 65536, (byte) 7);
        }
        assertArrayEquals(random, contents(dynamic));
    }

    @Test
    void flushesFollowTheIntervalAndTheCacheMode() throws IOException {
        Path disk = tmp.resolve("fixed.vhd");
        Vhd.create(disk, CreateOptions.fixed(4 * MIB)).close();
        assertEquals(3, flushes(disk, "--flush-interval", "4", "-d", "1"));
        assertEquals(3, flushes(disk, "--flush-interval", "4", "-d", "3"));
        assertEquals(3, flushes(disk, "--flush-interval", "4", "--no-drain", "-d", "3"));
        assertEquals(10, flushes(disk, "-t", "writethrough", "-d", "2"));
        assertEquals(0, flushes(disk, "-t", "unsafe", "--flush-interval", "4"));
    }

    private long flushes(Path disk, String... options) {
        List<String> args = new ArrayList<>(List.of("bench", "-w", "-c", "10", "--output", "json"));
        args.addAll(List.of(options));
        args.add(disk.toString());
        return vhd(args.toArray(String[]::new)).assertSuccess().json().get("flushes").asLong();
    }

    @Test
    void optionsThatDoNotGoTogetherOrAreOutOfRangeAreUsageErrors() throws IOException {
        String disk = dynamic("d.vhd", MIB).toString();
        assertTrue(vhd("bench", "--flush-interval", "4", disk).assertFailure(ExitCodes.USAGE).contains("only with --write"));
        assertTrue(vhd("bench", "-w", "--no-drain", disk).assertFailure(ExitCodes.USAGE).contains("--flush-interval"));
        assertTrue(vhd("bench", "-c", "0", disk).assertFailure(ExitCodes.USAGE).contains("--count 0"));
        assertTrue(vhd("bench", "-d", "0", disk).assertFailure(ExitCodes.USAGE).contains("--depth 0"));
        assertTrue(vhd("bench", "-w", "--pattern", "256", disk).assertFailure(ExitCodes.USAGE).contains("not a byte"));
        assertTrue(vhd("bench", "--seed", "4", disk).assertFailure(ExitCodes.USAGE).contains("only with --random"));
        String none = vhd("bench", "-w", "-t", "none", disk).assertFailure(ExitCodes.USAGE);
        assertTrue(none.contains("O_DIRECT") && none.contains("writeback"), none);
        assertTrue(vhd("bench", "-s", "banana", disk).assertFailure(ExitCodes.USAGE).contains("not a size"));
    }

    @Test
    void requestsThatDoNotFitTheDiskAreRefusedNamingTheFile() throws IOException {
        String disk = dynamic("d.vhd", MIB).toString();
        String big = vhd("bench", "-s", "2M", disk).assertFailure(ExitCodes.REFUSED);
        assertTrue(big.contains(disk) && big.contains("larger than the disk"), big);
        String far = vhd("bench", "-o", "1020K", "-s", "8K", disk).assertFailure(ExitCodes.REFUSED);
        assertTrue(far.contains(disk) && far.contains("--offset"), far);
        String missing = vhd("bench", tmp.resolve("none.vhd").toString()).assertFailure(ExitCodes.IO);
        assertTrue(missing.contains("none.vhd"), missing);
    }

    /** The same writes by qemu-io into a raw image compare equal (qemu-img compare) to ours in a dynamic VHD. */
    @Test
    void writesMatchQemuIoWritingTheSamePatternAtTheSameOffsets() throws IOException {
        ExternalTools.assumeAvailable("qemu-io", "qemu-img");
        Path ours = dynamic("ours.vhd", 8 * MIB);
        vhd("bench", "-w", "--pattern", "0x5a", "-c", "50", "-s", "64K", "-S", "192K", "-o", "12K", "-d", "1", "-q",
                ours.toString()).assertSuccess();
        Path theirs = tmp.resolve("theirs.raw");
        Files.write(theirs, new byte[8 * MIB]);
        List<String> argv = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
        BenchWorkload work = new BenchWorkload(8 * MIB, 50, 65536, 196608, 12288, true, 0, true, false, 1);
        for (long i = 0; i < 50; i++) {
            argv.addAll(List.of("-c", "write -q -P 0x5a " + work.offsetOf(i) + " 64k"));
        }
        argv.add(theirs.toString());
        ExternalTools.Result write = ExternalTools.run(Duration.ofSeconds(60), argv.toArray(String[]::new));
        assertEquals(0, write.exitCode(), write.stderr());
        ExternalTools.Result compare = ExternalTools.run(Duration.ofSeconds(60), "qemu-img", "compare", "-f", "vpc",
                "-F", "raw", ours.toString(), theirs.toString());
        assertEquals(0, compare.exitCode(), compare.stdout() + compare.stderr());
    }
}
