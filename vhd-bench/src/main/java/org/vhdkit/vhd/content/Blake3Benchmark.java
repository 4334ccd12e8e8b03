package org.vhdkit.vhd.content;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * {@code vhd digest}'s hashing without the disk: {@link Blake3} over 1 MiB and 64 MiB of random bytes
 * in one update (on all cores, as {@link DiskContents#digest} runs it, but without the 4 MiB
 * windows), and the JDK's SHA-256 on the same bytes for comparison. Run with {@code -jvmArgsAppend
 * -XX:ActiveProcessorCount=1} for one core's speed.
 */
@State(Scope.Thread)
@Fork(1)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class Blake3Benchmark {
    @Param({"1048576", "67108864"})
    public int size;

    private byte[] input;

    @Setup
    public void setUp() {
        input = new byte[size];
        SplittableRandom random = new SplittableRandom(1);
        for (int i = 0; i < size; i += 8) {
            long v = random.nextLong();
            for (int k = 0; k < 8; k++) {
                input[i + k] = (byte) (v >>> (8 * k));
            }
        }
    }

    @Benchmark
    public byte[] blake3() {
        Blake3 hasher = new Blake3();
        hasher.update(input, 0, input.length);
        return hasher.finish();
    }

    @Benchmark
    public byte[] sha256() throws NoSuchAlgorithmException {
        MessageDigest sha256 = MessageDigest.getInstance("SHA-256");
        sha256.update(input, 0, input.length);
        return sha256.digest();
    }
}
