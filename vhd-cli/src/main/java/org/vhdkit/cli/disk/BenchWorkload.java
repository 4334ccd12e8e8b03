package org.vhdkit.cli.disk;

import java.math.BigInteger;

/**
 * What {@code vhd bench} sends: {@code count} requests of {@code size} bytes, where
 * {@code qemu-img bench} would send them, and when to flush.
 *
 * <p>Sequential offsets are qemu-img bench's: the first request is at {@code offset}, each next one
 * {@code step} further, wrapping so that a request never crosses the end of the disk (request
 * {@code i > 0} is at {@code (offset + i * step) mod (diskSize - size)}, and always at 0 when the
 * disk is no larger than one request; qemu since 10.1; older qemu wraps at {@code diskSize} and
 * fails a request that would cross the end). Random offsets ({@code random}) are multiples of
 * {@code step} from {@code offset} up to the last whole request, chosen by a hash of
 * {@code seed} and the request's number, so the same seed gives the same offsets whatever the depth.
 *
 * @param diskSize      the disk's size in bytes
 * @param count         the number of requests, at least 1
 * @param size          bytes per request, 1 to {@code diskSize}
 * @param step          bytes between sequential requests (qemu-img bench's {@code -S}; its default
 *                      is {@code size}), at least 1
 * @param offset        where the first request starts
 * @param write         writes (of {@code pattern}) rather than reads
 * @param flushInterval a flush every so many requests, counted so that the last request is
 *                      followed by one (as qemu-img bench counts); 0 for none
 * @param drain         whether a flush waits for the requests in flight, and holds back the next
 *                      ones until it is done (qemu-img bench's default; {@code --no-drain} sends it
 *                      beside them)
 * @param random        random offsets rather than sequential ones
 * @param seed          the seed of the random offsets
 */
record BenchWorkload(long diskSize, int count, long size, long step, long offset, boolean write,
                     int flushInterval, boolean drain, boolean random, long seed) {

    /** The byte offset of request {@code i} (0-based). */
    long offsetOf(long i) {
        if (random) {
            long slots = (diskSize - size - offset) / step + 1;
            return offset + Long.remainderUnsigned(mix(seed + (i + 1) * 0x9E3779B97F4A7C15L), slots) * step;
        }
        if (i == 0) {
            return offset;
        }
        long wrap = diskSize - size;
        if (wrap <= 0) {
            return 0;
        }
        return Math.floorMod(offset % wrap + productModulo(i % wrap, step % wrap, wrap), wrap);
    }

    /**
     * The number of requests before the first flush of a drained run: the rest of the requests
     * then come in whole intervals, so the last request is followed by a flush.
     */
    long firstBatch() {
        if (flushInterval == 0) {
            return count;
        }
        long rest = count % flushInterval;
        return rest == 0 ? flushInterval : rest;
    }

    /** Whether a flush follows request {@code i} (0-based) when flushes are not drained. */
    boolean flushFollows(long i) {
        return flushInterval > 0 && (count - (i + 1)) % flushInterval == 0;
    }

    /** The bytes the run moves. */
    long bytes() {
        return count * size;
    }

    private static long productModulo(long a, long b, long modulus) {
        long high = Math.multiplyHigh(a, b);
        long low = a * b;
        if (high == 0 && low >= 0) {
            return low % modulus;
        }
        return BigInteger.valueOf(a).multiply(BigInteger.valueOf(b)).mod(BigInteger.valueOf(modulus)).longValueExact();
    }

    /** SplitMix64's finaliser: a good 64-bit mix of {@code z}. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
