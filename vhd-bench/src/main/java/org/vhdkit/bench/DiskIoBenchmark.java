package org.vhdkit.bench;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
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
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;

/**
 * The read and write paths through the library on a page-cached 64 MiB disk: fixed, dynamic (every
 * block allocated) and differencing (every other block in the child, the rest from the parent),
 * requests of 4 KiB and 1 MiB at sequential offsets that wrap at the end. Writes go into allocated
 * blocks (after the first pass) and are not flushed.
 */
@State(Scope.Thread)
@Fork(jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class DiskIoBenchmark {
    private static final long DISK = 64L << 20;

    @Param({"fixed", "dynamic", "differencing"})
    public String type;

    @Param({"4096", "1048576"})
    public int size;

    private Path dir;
    private VhdDisk disk;
    private Arena arena;
    private MemorySegment buffer;
    private long offset;

    @Setup
    public void setUp() throws IOException {
        dir = Files.createTempDirectory("vhdkit-jmh-");
        arena = Arena.ofShared();
        MemorySegment fill = arena.allocate(2 << 20, 4096);
        for (long i = 0; i < fill.byteSize(); i += 8) {
            fill.set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, i, i * 0x9E3779B97F4A7C15L);
        }
        Path file = dir.resolve("disk.vhd");
        switch (type) {
            case "fixed" -> fillEvery(Vhd.create(file, CreateOptions.fixed(DISK)), fill, 1);
            case "dynamic" -> fillEvery(Vhd.create(file, CreateOptions.dynamic(DISK)), fill, 1);
            case "differencing" -> {
                Path base = dir.resolve("base.vhd");
                fillEvery(Vhd.create(base, CreateOptions.dynamic(DISK)), fill, 1);
                fillEvery(Vhd.create(file, CreateOptions.differencing(base)), fill, 2);
            }
            default -> throw new IllegalArgumentException(type);
        }
        disk = Vhd.open(file, OpenOptions.READ_WRITE);
        buffer = arena.allocate(size, 4096);
        buffer.copyFrom(fill.asSlice(0, size));
    }

    /** Writes every {@code every}-th 2 MiB block of the disk, then closes it. */
    private static void fillEvery(VhdDisk disk, MemorySegment block, int every) throws IOException {
        try (disk) {
            for (long at = 0; at < DISK; at += every * block.byteSize()) {
                disk.write(at, block);
            }
        }
    }

    @TearDown
    public void tearDown() throws IOException {
        disk.close();
        arena.close();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    private long nextOffset() {
        long at = offset;
        offset = at + size >= DISK ? 0 : at + size;
        return at;
    }

    @Benchmark
    public MemorySegment read() throws IOException {
        disk.read(nextOffset(), buffer, 0, size);
        return buffer;
    }

    @Benchmark
    public MemorySegment write() throws IOException {
        disk.write(nextOffset(), buffer, 0, size);
        return buffer;
    }
}
