package org.vhdkit.export.fuse;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.vhdkit.vhd.disk.Extent;
import org.vhdkit.vhd.disk.VirtualDisk;

/**
 * A disk that passes every call to {@code inner}, for tests to override what they break or count.
 * {@link #startWriteback} is passed on too, so that the wrapped disk behaves as it would unwrapped.
 */
public abstract class ForwardingDisk implements VirtualDisk {
    protected final VirtualDisk inner;

    protected ForwardingDisk(VirtualDisk inner) {
        this.inner = inner;
    }

    @Override
    public String name() {
        return inner.name();
    }

    @Override
    public long size() {
        return inner.size();
    }

    @Override
    public boolean isReadOnly() {
        return inner.isReadOnly();
    }

    @Override
    public void read(long offset, MemorySegment dst, long dstOffset, long length) throws IOException {
        inner.read(offset, dst, dstOffset, length);
    }

    @Override
    public void write(long offset, MemorySegment src, long srcOffset, long length) throws IOException {
        inner.write(offset, src, srcOffset, length);
    }

    @Override
    public void flush() throws IOException {
        inner.flush();
    }

    @Override
    public void startWriteback() throws IOException {
        inner.startWriteback();
    }

    @Override
    public List<Extent> extents(long offset, long length) throws IOException {
        return inner.extents(offset, length);
    }

    @Override
    public void close() throws IOException {
        inner.close();
    }
}
