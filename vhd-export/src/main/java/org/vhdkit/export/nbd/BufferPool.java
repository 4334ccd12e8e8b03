package org.vhdkit.export.nbd;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Direct buffers for request and reply data, in power-of-two sizes from {@link #MIN} to
 * {@link #MAX}, kept for reuse up to a few per size so that an idle server holds little. Each
 * buffer has an arena of its own, closed when the pool does not keep the buffer: its memory is
 * freed at once rather than when the garbage collector gets to it (with little heap allocation,
 * that can be long after hundreds of MiB of dropped buffers have piled up).
 *
 * <p>{@link #lent} and {@link #kept} say how much memory the pool accounts for, so that a test can
 * show it stays bounded under load.
 *
 * <p>Thread-safety: {@link #take} and {@link #give} may be called from any thread; the queues are
 * concurrent and the counts atomic.
 */
final class BufferPool {
    static final int MIN = 4096;
    /** The largest buffer: reads and writes larger than this go in pieces of this size. */
    static final int MAX = 1 << 20;
    private static final int CLASSES = Integer.numberOfTrailingZeros(MAX) - Integer.numberOfTrailingZeros(MIN) + 1;
    /**
     * How many buffers of one size are kept: {@value #KEEP_SMALL} of each size up to 64 KiB, and
     * of the larger sizes as many as {@value #KEEP_LARGE_BYTES} bytes hold (256 of 256 KiB: four
     * {@code nbdcopy} connections with 64 reads each in flight, all handed to request threads when
     * the disk, or the CPU, is slow). Fewer made such reads allocate and free a buffer per request:
     * zeroing its memory, and closing its shared arena stops every thread of the process for a
     * moment. Once the pool has lent nothing for a while, {@link #trim} brings the large sizes back
     * to {@value #KEEP_LARGE_IDLE_BYTES} bytes each.
     */
    private static final int KEEP_SMALL = 128;
    private static final int KEEP_LARGE_BYTES = 64 << 20;
    private static final int KEEP_LARGE_IDLE_BYTES = 16 << 20;

    private final ConcurrentLinkedQueue<ByteBuffer>[] free;
    private final AtomicInteger[] kept;
    /** Bytes of the buffers taken and not given back. */
    private final AtomicLong lent = new AtomicLong();
    /** Bytes of the buffers kept for reuse. */
    private final AtomicLong keptBytes = new AtomicLong();
    /** Buffers taken so far: {@link #trim} trims only when no buffer was taken since its last call. */
    private final AtomicLong taken = new AtomicLong();
    /** {@link #taken} at the last {@link #trim}. */
    private long takenAtTrim = -1;
    /** The arena of every buffer allocated and not yet freed, by the buffer's address. */
    private final ConcurrentHashMap<Long, Arena> arenas = new ConcurrentHashMap<>();

    @SuppressWarnings("unchecked")
    BufferPool() {
        free = new ConcurrentLinkedQueue[CLASSES];
        kept = new AtomicInteger[CLASSES];
        for (int i = 0; i < CLASSES; i++) {
            free[i] = new ConcurrentLinkedQueue<>();
            kept[i] = new AtomicInteger();
        }
    }

    /** A buffer of at least {@code size} bytes (at most {@link #MAX}), its limit set to {@code size}. */
    ByteBuffer take(int size) {
        if (size < 0 || size > MAX) {
            throw new IllegalArgumentException("buffer size " + size);
        }
        int c = sizeClass(size);
        taken.incrementAndGet();
        ByteBuffer b = free[c].poll();
        if (b == null) {
            Arena arena = Arena.ofShared();
            MemorySegment memory = arena.allocate(MIN << c, MIN);
            arenas.put(memory.address(), arena);
            b = memory.asByteBuffer();
        } else {
            kept[c].decrementAndGet();
            keptBytes.addAndGet(-b.capacity());
        }
        lent.addAndGet(b.capacity());
        return b.clear().limit(size);
    }

    /** Returns a buffer from {@link #take}; the caller no longer uses it. */
    void give(ByteBuffer buffer) {
        int c = sizeClass(buffer.capacity());
        long address = MemorySegment.ofBuffer(buffer.duplicate().clear()).address(); // ofBuffer starts at the position
        Arena arena = arenas.get(address);
        if ((MIN << c) != buffer.capacity() || arena == null) {
            return; // not one of ours
        }
        lent.addAndGet(-buffer.capacity());
        int keep = keep(c);
        if (kept[c].incrementAndGet() <= keep) {
            keptBytes.addAndGet(buffer.capacity());
            free[c].offer(buffer);
        } else {
            kept[c].decrementAndGet();
            arenas.remove(address);
            arena.close();
        }
    }

    /**
     * Frees the kept buffers of the large sizes beyond {@value #KEEP_LARGE_IDLE_BYTES} bytes each,
     * when no buffer was taken since the last call: the server's watchdog calls it every few
     * seconds, so that a server idle after a burst of large reads holds little. Called from one
     * thread at a time.
     */
    void trim() {
        long now = taken.get();
        boolean idle = now == takenAtTrim;
        takenAtTrim = now;
        if (!idle) {
            return;
        }
        for (int c = 0; c < CLASSES; c++) {
            int keep = (MIN << c) <= 64 * 1024 ? KEEP_SMALL : KEEP_LARGE_IDLE_BYTES / (MIN << c);
            while (kept[c].get() > keep) {
                ByteBuffer b = free[c].poll();
                if (b == null) {
                    break;
                }
                kept[c].decrementAndGet();
                keptBytes.addAndGet(-b.capacity());
                Arena arena = arenas.remove(MemorySegment.ofBuffer(b.clear()).address());
                if (arena != null) {
                    arena.close();
                }
            }
        }
    }

    /** Bytes of the buffers in use (taken, not given back). */
    long lent() {
        return lent.get();
    }

    /** Bytes of the buffers kept for reuse. */
    long kept() {
        return keptBytes.get();
    }

    /** The most bytes the pool keeps for reuse. */
    static long maxKept() {
        long total = 0;
        for (int c = 0; c < CLASSES; c++) {
            total += (long) (MIN << c) * keep(c);
        }
        return total;
    }

    /** How many buffers of size class {@code c} are kept. */
    private static int keep(int c) {
        return (MIN << c) <= 64 * 1024 ? KEEP_SMALL : KEEP_LARGE_BYTES / (MIN << c);
    }

    private static int sizeClass(int size) {
        if (size <= MIN) {
            return 0;
        }
        return 32 - Integer.numberOfLeadingZeros(size - 1) - Integer.numberOfTrailingZeros(MIN);
    }
}
