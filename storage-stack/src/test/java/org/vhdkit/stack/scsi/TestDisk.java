package org.vhdkit.stack.scsi;

import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.vhdkit.vhd.disk.Extent;
import org.vhdkit.vhd.disk.MemoryDisk;
import org.vhdkit.vhd.disk.VirtualDisk;

/**
 * A disk for tests: memory behind it, every call checked against its size (a call outside is
 * recorded, then refused as a real disk refuses it), flushes and discards counted, failures on
 * demand, and a size that can change (up to the memory's) as a resized disk's would.
 */
final class TestDisk implements VirtualDisk {
    private final MemoryDisk memory;
    private final boolean readOnly;
    private volatile long size;

    volatile boolean failReads;
    volatile boolean failWrites;
    volatile boolean failFlush;
    volatile boolean failDiscard;

    final AtomicInteger flushes = new AtomicInteger();
    final AtomicInteger writes = new AtomicInteger();
    final ConcurrentLinkedQueue<long[]> discards = new ConcurrentLinkedQueue<>();
    final ConcurrentLinkedQueue<String> outside = new ConcurrentLinkedQueue<>();

    TestDisk(long size) {
        this(size, false);
    }

    TestDisk(long size, boolean readOnly) {
        this.memory = MemoryDisk.create("test", size);
        this.size = size;
        this.readOnly = readOnly;
    }

    /** Pretends the disk was resized to {@code newSize} (at most its memory). */
    void resize(long newSize) {
        if (newSize > memory.size()) {
            throw new IllegalArgumentException("memory holds " + memory.size());
        }
        size = newSize;
    }

    MemoryDisk memory() {
        return memory;
    }

    private void check(String what, long offset, long length) throws EOFException {
        if (offset < 0 || length < 0 || offset > size - length) {
            outside.add(what + " of " + length + " at " + offset + " on a disk of " + size);
            throw new EOFException(what + " outside the disk");
        }
    }

    @Override
    public String name() {
        return "test disk";
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public boolean isReadOnly() {
        return readOnly;
    }

    @Override
    public void read(long offset, MemorySegment dst, long dstOffset, long length) throws IOException {
        check("read", offset, length);
        if (failReads) {
            throw new IOException("injected read failure");
        }
        memory.read(offset, dst, dstOffset, length);
    }

    @Override
    public void write(long offset, MemorySegment src, long srcOffset, long length) throws IOException {
        check("write", offset, length);
        if (readOnly) {
            throw new IOException("read-only");
        }
        if (failWrites) {
            throw new IOException("injected write failure");
        }
        writes.incrementAndGet();
        memory.write(offset, src, srcOffset, length);
    }

    @Override
    public void flush() throws IOException {
        if (failFlush) {
            throw new IOException("injected flush failure");
        }
        flushes.incrementAndGet();
    }

    @Override
    public void discard(long offset, long length) throws IOException {
        check("discard", offset, length);
        if (failDiscard) {
            throw new IOException("injected discard failure");
        }
        discards.add(new long[] {offset, length});
    }

    @Override
    public List<Extent> extents(long offset, long length) throws IOException {
        return memory.extents(offset, length);
    }

    @Override
    public void close() {
        memory.close();
    }
}
