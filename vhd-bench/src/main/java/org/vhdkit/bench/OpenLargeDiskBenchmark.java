package org.vhdkit.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;

/**
 * Issue 15's start-up target for a large disk: open a 2040 GiB dynamic VHD (1,044,480 table entries
 * of 2 MiB blocks, 4 MiB of table) read-only, read one 2 MiB block, close it, in a warm JVM. The
 * target is under 50 ms and under 16 MiB of heap: run with {@code -prof gc} and read
 * {@code gc.alloc.rate.norm} (bytes allocated per open, read and close) beside the time.
 */
@State(Scope.Benchmark)
@Fork(jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class OpenLargeDiskBenchmark {
    private static final long SIZE = Vhd.MAX_SIZE;
    private static final long BLOCK_AT = 1000L << 30;

    private Path dir;
    private Path file;
    private final byte[] block = new byte[2 << 20];

    @Setup
    public void setUp() throws IOException {
        dir = Files.createTempDirectory("vhdkit-jmh-");
        file = dir.resolve("large.vhd");
        try (VhdDisk disk = Vhd.create(file, CreateOptions.dynamic(SIZE))) {
            byte[] data = new byte[2 << 20];
            java.util.Arrays.fill(data, (byte) 0x5A);
            disk.write(BLOCK_AT, data);
        }
    }

    @TearDown
    public void tearDown() throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    @Benchmark
    public byte openAndReadOneBlock() throws IOException {
        try (VhdDisk disk = Vhd.openReadOnly(file)) {
            disk.read(BLOCK_AT, block);
        }
        return block[block.length - 1];
    }
}
