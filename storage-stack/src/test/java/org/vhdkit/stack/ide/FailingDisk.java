package org.vhdkit.stack.ide;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.vhdkit.vhd.disk.Extent;
import org.vhdkit.vhd.disk.MemoryDisk;
import org.vhdkit.vhd.disk.VirtualDisk;

/**
 * A memory disk whose host reads, writes or flushes fail on demand: {@code failRead(n)} makes the
 * n-th read from now on throw an IOException (once); the calls before and after it work.
 */
final class FailingDisk implements VirtualDisk {
    private final MemoryDisk memory;
    private int readsToFailure;
    private int writesToFailure;
    private int flushesToFailure;

    FailingDisk(long size) {
        this.memory = MemoryDisk.create("failing", size);
    }

    MemoryDisk memory() {
        return memory;
    }

    /** The {@code n}-th read from now (1 = the next) fails. */
    FailingDisk failRead(int n) {
        readsToFailure = n;
        return this;
    }

    /** The {@code n}-th write from now (1 = the next) fails. */
    FailingDisk failWrite(int n) {
        writesToFailure = n;
        return this;
    }

    /** The {@code n}-th flush from now (1 = the next) fails. */
    FailingDisk failFlush(int n) {
        flushesToFailure = n;
        return this;
    }

    @Override
    public String name() {
        return "failing";
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
