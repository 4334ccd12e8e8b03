package org.vhdkit.vhd.image;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.vhdkit.vhd.io.ByteStore;

/**
 * Sector-bitmap runs, as a differencing disk finds which sectors of a 2 MiB block (4096 sectors, a
 * 512-byte bitmap) it holds: the run from sector 0 in a full bitmap (to the end of the block), and
 * in a bitmap of alternating 8-sector runs (4 KiB clusters), all of the runs one after another.
 * The bitmap is read through a mapped file, as in a real image.
 */
@State(Scope.Thread)
@Fork(jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class SectorBitmapBenchmark {
    private static final int SECTORS = 4096;
    private static final long FULL = 0;
    private static final long ALTERNATING = 512;

    private Path file;
    private ByteStore store;

    @Setup
    public void setUp() throws IOException {
        file = Files.createTempFile("vhdkit-jmh-bitmap-", ".bin");
        byte[] bytes = new byte[4096];
        java.util.Arrays.fill(bytes, 0, 512, (byte) 0xFF);
        for (int i = 512; i < 1024; i++) {
            bytes[i] = (byte) ((i & 1) == 0 ? 0xFF : 0x00); // 8 sectors set, 8 clear, ...
        }
        Files.write(file, bytes);
        store = ByteStore.open(file, ByteStore.Mode.READ_ONLY, ByteStore.Backing.MAPPED);
    }

    @TearDown
    public void tearDown() throws IOException {
        store.close();
        Files.delete(file);
    }

    @Benchmark
    public int fullBlockRun() throws IOException {
        return SectorBitmap.runEnd(store, FULL, 0, SECTORS, true);
    }

    @Benchmark
    public int allRunsOfAlternatingClusters() throws IOException {
        int sector = 0;
        boolean set = true;
        int runs = 0;
        while (sector < SECTORS) {
            sector = SectorBitmap.runEnd(store, ALTERNATING, sector, SECTORS, set);
            set = !set;
            runs++;
        }
        return runs;
    }
}
