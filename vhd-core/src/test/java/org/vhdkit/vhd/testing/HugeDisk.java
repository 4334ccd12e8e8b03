package org.vhdkit.vhd.testing;

import java.io.EOFException;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.vhdkit.vhd.disk.Extent;
import org.vhdkit.vhd.disk.VirtualDisk;

/**
 * A disk of any size that holds nothing (reads zeros, drops writes): for tests of what a device
 * answers about a disk too large to back with a file (capacity words, READ CAPACITY).
 */
public record HugeDisk(long size) implements VirtualDisk {
    @Override
    public String name() {
        return "huge";
    }

    @Override
    public boolean isReadOnly() {
        return false;
    }

    @Override
    public void read(long offset, MemorySegment dst, long dstOffset, long length) throws EOFException {
        if (offset < 0 || length < 0 || offset > size - length) {
            throw new EOFException("outside");
        }
        dst.asSlice(dstOffset, length).fill((byte) 0);
    }

    @Override
    public void write(long offset, MemorySegment src, long srcOffset, long length) throws EOFException {
        if (offset < 0 || length < 0 || offset > size - length) {
            throw new EOFException("outside");
        }
    }

    @Override
    public void flush() {
    }

    @Override
    public List<Extent> extents(long offset, long length) {
        return List.of(new Extent(offset, length, Extent.ZERO));
    }

    @Override
    public void close() {
    }
}
