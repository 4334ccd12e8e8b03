package org.vhdkit.cli.disk;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Phaser;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.disk.VirtualDisk;

/**
 * Runs a {@link BenchWorkload} on a disk the way a server uses the library: a fixed pool of
 * {@code depth} platform threads, each with its own buffer and one request at a time, taking the
 * next request number from a shared counter. A drained flush is a barrier: every thread finishes
 * its request, one flushes, then all go on.
 *
 * <p>Thread-safety: {@link #run} may be called from any thread; it starts and joins its own.
 */
final class BenchRun {
    /** What a run did. */
    record Result(long requests, long bytes, long flushes, long nanos) {
        double seconds() {
            return nanos / 1e9;
        }
    }

    /** How writes reach the disk (qemu-img bench's {@code -t}, where it applies to vhdkit). */
    enum Cache {
        /** Writes land in the host page cache and are durable at a flush: qemu's default. */
        WRITEBACK,
        /** Every write is followed by a flush before it counts as done. */
        WRITETHROUGH,
        /** Flushes are skipped (the image is still flushed when it is closed). */
        UNSAFE
    }

    private final VirtualDisk disk;
    private final BenchWorkload work;
    private final int depth;
    private final Cache cache;
    private final int pattern;

    private final AtomicLong next = new AtomicLong();
    private final AtomicLong done = new AtomicLong();
    private final AtomicLong flushes = new AtomicLong();
    private final AtomicReference<IOException> failure = new AtomicReference<>();
    private volatile long batchEnd;

    BenchRun(VirtualDisk disk, BenchWorkload work, int depth, Cache cache, int pattern) {
        this.disk = disk;
        this.work = work;
        this.depth = depth;
        this.cache = cache;
        this.pattern = pattern;
    }

    /**
     * Sends every request and returns once all are done; {@code progress} hears of the bytes done
     * about every 200 ms.
     *
     * @throws IOException the first request or flush that failed, naming its offset
     */
    Result run(ProgressListener progress) throws IOException {
        boolean drainedFlushes = work.write() && work.drain() && work.flushInterval() > 0 && cache != Cache.UNSAFE;
        long batch = drainedFlushes ? work.flushInterval() : work.count();
        batchEnd = drainedFlushes ? work.firstBatch() : work.count();
        Phaser barrier = new Phaser(depth) {
            @Override
            protected boolean onAdvance(int phase, int parties) {
                if (parties > 0 && failure.get() == null) {
                    flush(-1);
                    batchEnd = Math.min(batchEnd + batch, work.count());
                }
                return parties == 0;
            }
        };
        CountDownLatch start = new CountDownLatch(1);
        CountDownLatch finished = new CountDownLatch(depth);
        List<Thread> threads = new ArrayList<>(depth);
        try (Arena arena = Arena.ofShared()) {
            for (int t = 0; t < depth; t++) {
                MemorySegment buffer = arena.allocate(work.size(), 4096);
                if (work.write()) {
                    buffer.fill((byte) pattern);
                }
                threads.add(Thread.ofPlatform().name("vhd-bench-" + t).start(() -> {
                    try {
                        start.await();
                        work(buffer, barrier);
                    } catch (InterruptedException e) {
                        failure.compareAndSet(null, new InterruptedIOException("interrupted"));
                    } finally {
                        barrier.arriveAndDeregister();
                        finished.countDown();
                    }
                }));
            }
            long begin = System.nanoTime();
            start.countDown();
            try {
                while (!finished.await(200, TimeUnit.MILLISECONDS)) {
                    progress.progress(done.get() * work.size(), work.bytes());
                }
            } catch (InterruptedException e) {
                threads.forEach(Thread::interrupt);
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted");
            }
            // As in qemu-img bench, the time ends with the last request: the flush after it is not timed.
            long nanos = System.nanoTime() - begin;
            if (drainedFlushes && failure.get() == null) {
                flush(-1);
            }
            progress.progress(done.get() * work.size(), work.bytes());
            IOException failed = failure.get();
            if (failed != null) {
                throw failed;
            }
            return new Result(done.get(), done.get() * work.size(), flushes.get(), nanos);
        }
    }

    /** One thread's loop: requests until the batch is done, then the barrier, until all are sent. */
    private void work(MemorySegment buffer, Phaser barrier) {
        while (failure.get() == null) {
            long end = batchEnd;
            long i;
            while (failure.get() == null && (i = claim(end)) >= 0) {
                request(i, buffer);
            }
            if (end >= work.count() || failure.get() != null) {
                return;
            }
            barrier.arriveAndAwaitAdvance();
        }
    }

    /** The next request number below {@code end}, or -1 when the batch is all taken. */
    private long claim(long end) {
        long i;
        do {
            i = next.get();
            if (i >= end) {
                return -1;
            }
        } while (!next.compareAndSet(i, i + 1));
        return i;
    }

    private void request(long i, MemorySegment buffer) {
        long at = work.offsetOf(i);
        try {
            if (work.write()) {
                disk.write(at, buffer, 0, work.size());
                if (cache == Cache.WRITETHROUGH) {
                    disk.flush();
                    flushes.incrementAndGet();
                }
            } else {
                disk.read(at, buffer, 0, work.size());
            }
        } catch (IOException e) {
            failure.compareAndSet(null, new IOException("request " + (i + 1) + " (" + (work.write() ? "write" : "read")
                    + " of " + work.size() + " bytes at offset " + at + "): " + (e.getMessage() != null ? e.getMessage() : e), e));
            return;
        } catch (RuntimeException e) {
            failure.compareAndSet(null, new IOException("request " + (i + 1) + " at offset " + at + " failed: " + e, e));
            return;
        }
        done.incrementAndGet();
        if (work.write() && !work.drain() && cache != Cache.UNSAFE && work.flushFollows(i)) {
            flush(i);
        }
    }

    private void flush(long after) {
        try {
            disk.flush();
            flushes.incrementAndGet();
        } catch (IOException e) {
            failure.compareAndSet(null, new IOException("flush" + (after >= 0 ? " after request " + (after + 1) : "")
                    + ": " + e.getMessage(), e));
        }
    }
}
