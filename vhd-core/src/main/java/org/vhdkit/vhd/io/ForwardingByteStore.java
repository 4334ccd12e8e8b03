package org.vhdkit.vhd.io;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Objects;

/**
 * A store that forwards every call to another: the base of stores that observe or alter I/O on its
 * way to the file, such as a recording of every write and force (for power-loss simulation) or a
 * store that fails a chosen call (fault injection). Subclasses override what they watch and call
 * {@code super} to pass the call on.
 *
 * <p>The single-byte and array conveniences are routed through {@link #read(long, MemorySegment,
 * long, long)} and {@link #write(long, MemorySegment, long, long)}, so a subclass that overrides
 * those two sees every byte read and written.
 *
 * <p>Thread-safety: as the store it wraps, provided the subclass's own state is safe for the calls
 * it overrides.
 */
public non-sealed abstract class ForwardingByteStore implements ByteStore {

    private final ByteStore delegate;

    /** Wraps {@code delegate}; closing this store closes it. */
    protected ForwardingByteStore(ByteStore delegate) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
    }

    /** The store the calls go to. */
    protected final ByteStore delegate() {
        return delegate;
    }

    @Override
    public Path path() {
        return delegate.path();
    }

    @Override
    public boolean isReadOnly() {
        return delegate.isReadOnly();
    }

    @Override
    public long size() {
        return delegate.size();
    }

    @Override
    public final void read(long offset, MemorySegment dst) throws IOException {
        read(offset, dst, 0, dst.byteSize());
    }

    @Override
    public void read(long offset, MemorySegment dst, long dstOffset, long length) throws IOException {
        delegate.read(offset, dst, dstOffset, length);
    }

    @Override
    public final byte readByte(long offset) throws IOException {
        byte[] one = new byte[1];
        read(offset, MemorySegment.ofArray(one), 0, 1);
        return one[0];
    }

    @Override
    public final void write(long offset, MemorySegment src) throws IOException {
        write(offset, src, 0, src.byteSize());
    }

    @Override
    public void write(long offset, MemorySegment src, long srcOffset, long length) throws IOException {
        delegate.write(offset, src, srcOffset, length);
    }

    @Override
    public final void writeByte(long offset, byte value) throws IOException {
        if (offset < 0 || offset >= size()) {
            // Keep the wrapped store's refusal of a byte past the end.
            delegate.writeByte(offset, value);
            return;
        }
        write(offset, MemorySegment.ofArray(new byte[] {value}), 0, 1);
    }

    @Override
    public void setSize(long newSize) throws IOException {
        delegate.setSize(newSize);
    }

    @Override
    public void force() throws IOException {
        delegate.force();
    }

    /**
     * Passes the request on: it changes no byte and makes nothing durable, so a store that records
     * or alters writes and forces sees nothing to act on, and the file's own store does the asking.
     */
    @Override
    public void startWriteback() throws IOException {
        delegate.startWriteback();
    }

    @Override
    public void close() throws IOException {
        delegate.close();
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + delegate + "]";
    }
}
