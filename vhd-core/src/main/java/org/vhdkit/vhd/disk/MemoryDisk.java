package org.vhdkit.vhd.disk;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * A disk held in memory, zero when created: for tests and scratch space. Its memory is released
 * by {@link #close()}.
 *
 * <p>Thread-safety: as {@link VirtualDisk}.
 */
public final class MemoryDisk implements VirtualDisk {
    private final String name;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment bytes;
    private final boolean readOnly;

    private MemoryDisk(String name, long size, boolean readOnly) {
        if (size <= 0 || size % SECTOR_SIZE != 0) {
            throw new IllegalArgumentException("size " + size + " is not a positive multiple of " + SECTOR_SIZE);
        }
        this.name = name;
        this.bytes = arena.allocate(size, 4096);
        this.readOnly = readOnly;
    }

    /** A writable disk of {@code size} bytes, all zero. */
    public static MemoryDisk create(String name, long size) {
        return new MemoryDisk(name, size, false);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long size() {
        return bytes.byteSize();
    }

    @Override
    public boolean isReadOnly() {
        return readOnly;
    }

    @Override
    public void read(long offset, MemorySegment dst, long dstOffset, long length) throws IOException {
        Extents.checkRange(this, offset, length);
        MemorySegment.copy(bytes, offset, dst, dstOffset, length);
    }

    @Override
    public void write(long offset, MemorySegment src, long srcOffset, long length) throws IOException {
        if (readOnly) {
            throw new IOException(name + ": read-only; refusing to write");
        }
        Extents.checkRange(this, offset, length);
        MemorySegment.copy(src, srcOffset, bytes, offset, length);
    }

    @Override
    public void flush() {
        // Memory is as durable as it gets.
    }

    @Override
    public List<Extent> extents(long offset, long length) throws IOException {
        Extents.checkRange(this, offset, length);
        Extents extents = new Extents();
        extents.add(offset, length, 0);
        return extents.build();
    }

    @Override
    public void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }
}
