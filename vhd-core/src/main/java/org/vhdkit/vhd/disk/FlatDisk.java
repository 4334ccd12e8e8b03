package org.vhdkit.vhd.disk;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.channels.WritableByteChannel;
import java.util.List;
import org.vhdkit.vhd.io.ByteStore;

/**
 * A disk whose bytes lie in a store as they are, from offset 0: the data path of a fixed VHD and of
 * a raw pass-through disk. Every read and write is one copy to or from the file.
 *
 * <p>Subclassed by {@link RawDisk} and by the fixed VHD of {@code org.vhdkit.vhd.image}; it cannot be
 * sealed to those two, as a sealed class outside a named module permits only its own package.
 *
 * <p>Thread-safety: as {@link VirtualDisk}; there is no state beyond the store's.
 */
public abstract class FlatDisk implements VirtualDisk {
    /** The disk's bytes, from offset 0; owned by this disk, which closes it. */
    protected final ByteStore store;
    private volatile boolean closed;

    /** A disk over {@code store}, which it then owns. */
    protected FlatDisk(ByteStore store) {
        this.store = store;
    }

    @Override
    public String name() {
        return store.path().toString();
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
    public long sendable(long offset, long length) throws IOException {
        Extents.checkRange(this, offset, length);
        return store.transfers() ? length : 0;
    }

    @Override
    public long transferTo(long offset, long length, WritableByteChannel target) throws IOException {
        Extents.checkRange(this, offset, length);
        return store.transferTo(offset, length, target);
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

    /** The store's: writeback of the file on its own descriptor. */
    @Override
    public void startWriteback() throws IOException {
        store.startWriteback();
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
