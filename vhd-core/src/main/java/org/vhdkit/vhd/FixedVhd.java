package org.vhdkit.vhd;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.vhdkit.vhd.format.BlockAllocationTable;
import org.vhdkit.vhd.format.DynamicHeader;
import org.vhdkit.vhd.format.Footer;
import org.vhdkit.vhd.io.ByteStore;

/**
 * A fixed VHD: the disk's bytes as they are, followed by the footer. Every read and write is one
 * copy to or from the file.
 *
 * <p>Thread-safety: as {@link VirtualDisk}; there is no state beyond the store's.
 */
final class FixedVhd implements VhdDisk {
    private final ByteStore store;
    private final Footer footer;
    private final List<String> warnings;
    private volatile boolean closed;

    FixedVhd(ByteStore store, Footer footer, List<String> warnings) {
        this.store = store;
        this.footer = footer;
        this.warnings = List.copyOf(warnings);
    }

    @Override
    public String name() {
        return store.path().toString();
    }

    @Override
    public Path path() {
        return store.path();
    }

    @Override
    public long size() {
        return footer.currentSize();
    }

    @Override
    public boolean isReadOnly() {
        return store.isReadOnly();
    }

    @Override
    public Footer footer() {
        return footer;
    }

    @Override
    public Optional<DynamicHeader> dynamicHeader() {
        return Optional.empty();
    }

    @Override
    public Optional<BlockAllocationTable> blockAllocationTable() {
        return Optional.empty();
    }

    @Override
    public Optional<VhdDisk> parent() {
        return Optional.empty();
    }

    @Override
    public long fileSize() {
        return store.size();
    }

    @Override
    public List<String> warnings() {
        return warnings;
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

    @Override
    public String toString() {
        return "FixedVhd[" + name() + "]";
    }
}
