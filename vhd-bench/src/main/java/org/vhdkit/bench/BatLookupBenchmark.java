package org.vhdkit.bench;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.vhdkit.vhd.format.BlockAllocationTable;

/**
 * The BAT lookup of every read and write of a dynamic or differencing disk: the entry of a block of
 * a 2040 GiB disk (1,044,480 entries of 2 MiB blocks, half allocated), at scattered blocks.
 */
@State(Scope.Thread)
@Fork(jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class BatLookupBenchmark {
    private static final int ENTRIES = 1_044_480;
    private static final int MASK = 1023;

    private BlockAllocationTable bat;
    private final int[] blocks = new int[MASK + 1];
    private int next;

    @Setup
    public void setUp() {
        bat = new BlockAllocationTable(ENTRIES);
        SplittableRandom random = new SplittableRandom(1);
        for (int b = 0; b < ENTRIES; b += 2) {
            bat.set(b, 3 + (long) b * 4097);
        }
        for (int i = 0; i < blocks.length; i++) {
            blocks[i] = random.nextInt(ENTRIES);
        }
    }

    @Benchmark
    public long sectorOfABlock() {
        return bat.sector(blocks[next++ & MASK]);
    }
}
