package org.vhdkit.stack.testvm;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.vhdkit.vhd.disk.Extent;
import org.vhdkit.vhd.disk.MemoryDisk;
import org.vhdkit.vhd.disk.VirtualDisk;

/**
 * A memory disk that misbehaves on demand, as a failing or stalled host disk: {@code failRead(n)}
 * makes the n-th read from now on throw an IOException (once; the calls before and after it work),
 * likewise writes and flushes; {@link #holdReads} makes every read wait until {@link #releaseReads}.
 *
 * <p>{@link #startWriteback} is deliberately not passed on nor faulted: the disk is memory, with
 * nothing for a host to write back, and the request promises nothing a test could watch fail (a
 * failing write-back shows at the flush, {@link #failFlush}).
 *
 * <p>Thread-safety: the failure counters belong to one thread (a VM worker's, a test's); holding
 * and releasing reads may cross threads.
 */
public final class FaultyDisk implements VirtualDisk {
    private final MemoryDisk memory;
    private int readsToFailure;
    private int writesToFailure;
    private int flushesToFailure;
    private volatile CountDownLatch held;
    /** Counted down by the first read that waits in {@link #holdReads} mode. */
    public final CountDownLatch readWaiting = new CountDownLatch(1);
    /** Reads that reached the disk, held or not. */
    public final AtomicInteger reads = new AtomicInteger();

    public FaultyDisk(long size) {
        this.memory = MemoryDisk.create("faulty", size);
    }

    /** The memory behind the disk, to look at or fill without any fault. */
    public MemoryDisk memory() {
        return memory;
    }

    /** From now on every read waits until {@link #releaseReads}. */
    public FaultyDisk holdReads() {
        held = new CountDownLatch(1);
        return this;
    }

    /** Lets held reads (and later ones) go on. */
    public void releaseReads() {
        CountDownLatch h = held;
        held = null;
        if (h != null) {
            h.countDown();
        }
    }

    /** The {@code n}-th read from now (1 = the next) fails. */
    public FaultyDisk failRead(int n) {
        readsToFailure = n;
        return this;
    }

    /** The {@code n}-th write from now (1 = the next) fails. */
    public FaultyDisk failWrite(int n) {
        writesToFailure = n;
        return this;
    }

    /** The {@code n}-th flush from now (1 = the next) fails. */
    public FaultyDisk failFlush(int n) {
        flushesToFailure = n;
        return this;
    }

    @Override
    public String name() {
        return "faulty";
    }

    @Override
    public long size() {
        return memory.size();
    }

    @Override
    public boolean isReadOnly() {
        return false;
    }

    @Override
    public void read(long offset, MemorySegment dst, long dstOffset, long length) throws IOException {
        reads.incrementAndGet();
        CountDownLatch h = held;
        if (h != null) {
            readWaiting.countDown();
            try {
                h.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while the read was held", e);
            }
        }
        if (readsToFailure > 0 && --readsToFailure == 0) {
            throw new IOException("host read failed at " + offset);
        }
        memory.read(offset, dst, dstOffset, length);
    }

    @Override
    public void write(long offset, MemorySegment src, long srcOffset, long length) throws IOException {
        if (writesToFailure > 0 && --writesToFailure == 0) {
            throw new IOException("host write failed at " + offset);
        }
        memory.write(offset, src, srcOffset, length);
    }

    @Override
    public void flush() throws IOException {
        if (flushesToFailure > 0 && --flushesToFailure == 0) {
            throw new IOException("host flush failed");
        }
        memory.flush();
    }

    @Override
    public List<Extent> extents(long offset, long length) throws IOException {
        return memory.extents(offset, length);
    }

    @Override
    public void close() throws IOException {
        memory.close();
    }
}
