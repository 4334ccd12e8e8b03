package org.vhdkit.cli.disk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

/** Where {@code vhd bench} sends its requests and when it flushes: qemu-img bench's rules. */
class BenchWorkloadTest {
    private static final long K4 = 4096;

    private static BenchWorkload sequential(long diskSize, int count, long size, long step, long offset) {
        return new BenchWorkload(diskSize, count, size, step, offset, false, 0, true, false, 1);
    }

    private static List<Long> offsets(BenchWorkload work) {
        return LongStream.range(0, work.count()).map(work::offsetOf).boxed().toList();
    }

    @Test
    void sequentialOffsetsAdvanceByStepAndWrapSoThatNoRequestCrossesTheEnd() {
        // 10 blocks of 4 KiB: qemu wraps modulo 40960 - 4096 = 36864.
        assertEquals(List.of(0L, 12288L, 24576L, 0L, 12288L),
                offsets(sequential(10 * K4, 5, K4, 3 * K4, 0)));
        assertEquals(List.of(4096L, 8192L, 12288L), offsets(sequential(10 * K4, 3, K4, K4, K4)));
        // The first request is where --offset says; later ones are wrapped from there.
        assertEquals(List.of(33000L, 4040L), offsets(sequential(10 * K4, 2, K4, 7904, 33000)));
    }

    @Test
    void aDiskNoLargerThanOneRequestIsReadAtZeroEveryTime() {
        assertEquals(List.of(0L, 0L, 0L), offsets(sequential(K4, 3, K4, K4, 0)));
    }

    @Test
    void hugeStepsWrapWithoutOverflow() {
        long disk = 2040L << 30;
        BenchWorkload work = sequential(disk, 3, K4, Long.MAX_VALUE / 2, 0);
        long wrap = disk - K4;
        long expected = java.math.BigInteger.valueOf(Long.MAX_VALUE / 2).multiply(java.math.BigInteger.TWO)
                .mod(java.math.BigInteger.valueOf(wrap)).longValueExact();
        assertEquals(expected, work.offsetOf(2));
    }

    @Test
    void randomOffsetsAreWholeStepsInsideTheDiskTheSameForTheSameSeed() {
        BenchWorkload work = new BenchWorkload(64 * K4, 2000, K4, K4, 2 * K4, false, 0, true, true, 7);
        Set<Long> seen = new HashSet<>();
        for (long i = 0; i < work.count(); i++) {
            long at = work.offsetOf(i);
            assertEquals(0, at % K4);
            assertTrue(at >= 2 * K4 && at <= 63 * K4, () -> "offset " + at);
            seen.add(at);
        }
        assertEquals(62, seen.size(), "every slot from --offset to the last whole request is reached");
        assertEquals(offsets(work), offsets(new BenchWorkload(64 * K4, 2000, K4, K4, 2 * K4, false, 0, true, true, 7)));
        assertNotEquals(offsets(work), offsets(new BenchWorkload(64 * K4, 2000, K4, K4, 2 * K4, false, 0, true, true, 8)));
    }

    @Test
    void flushesAreCountedFromTheEndSoTheLastRequestIsFollowedByOne() {
        BenchWorkload work = new BenchWorkload(64 * K4, 10, K4, K4, 0, true, 4, false, false, 1);
        assertEquals(List.of(1L, 5L, 9L), LongStream.range(0, 10).filter(work::flushFollows).boxed().toList());
        assertEquals(2, work.firstBatch());
        assertEquals(4, new BenchWorkload(64 * K4, 8, K4, K4, 0, true, 4, true, false, 1).firstBatch());
    }
}
