package org.vhdkit.vhd;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import org.vhdkit.vhd.io.ByteStore;

/**
 * A raw host file or block device used as a disk as it is, byte for byte: the pass-through disk.
 * Its size is the file's (for a block device, the device's), which must be a whole number of
 * sectors.
 *
 * <p>The file is locked like any store: exclusively when writable, so a device that another VM
 * or process holds open for writing is refused.
 *
 * <p>Thread-safety: as {@link VirtualDisk}.
 */
public final class RawDisk implements VirtualDisk {
    private final ByteStore store;
    private final long size;
    private volatile boolean closed;

    private RawDisk(ByteStore store, long size) {
        this.store = store;
        this.size = size;
    }

    /** Opens a raw file or block device, read-only or read-write. */
    public static RawDisk open(Path path, boolean readOnly) throws IOException {
        ByteStore store = ByteStore.open(path, readOnly ? ByteStore.Mode.READ_ONLY : ByteStore.Mode.READ_WRITE);
        long size = store.size();
        if (size % SECTOR_SIZE != 0 || size == 0) {
            store.close();
            throw new IOException(path + ": a raw disk must be a non-empty whole number of 512-byte sectors; it is "
                    + size + " bytes");
        }
        return new RawDisk(store, size);
    }

    /** The file or device. */
    public Path path() {
        return store.path();
    }

    @Override
    public String name() {
        return store.path().toString();
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public boolean isReadOnly() {
        return store.isReadOnly();
    }

    @Override
    public void read(long offset, MemorySegment dst, long dstOffset, long length) throws IOException {
        Extents.checkRange(this, offset, length);
        store.read(offset, dst, dstOffset, length);
    }

    @Override
    public void write(long offset, MemorySegment src, long srcOffset, long length) throws IOException {
        if (store.isReadOnly()) {
            throw new IOException(name() + ": opened read-only; refusing to write");
        }
        Extents.checkRange(this, offset, length);
        store.write(offset, src, srcOffset, length);
    }

    @Override
    public void flush() throws IOException {
        store.force();
    }

    @Override
    public List<Extent> extents(long offset, long length) throws IOException {
        Extents.checkRange(this, offset, length);
        Extents extents = new Extents();
        extents.add(offset, length, 0);
        return extents.build();
    }

    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            store.force();
        } finally {
            store.close();
        }
    }
}
