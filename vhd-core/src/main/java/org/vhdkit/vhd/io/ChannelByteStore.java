package org.vhdkit.vhd.io;

import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;

/**
 * A {@link ByteStore} served by positional {@link FileChannel} reads and writes: the backing for
 * file systems that cannot map (jimfs, some network file systems) and the fallback everywhere.
 *
 * <p>Thread-safety: as {@link ByteStore} says. Positional I/O on one channel is safe from many
 * threads; the size is read from the channel, and growth is ordered by {@link #growLock}.
 */
final class ChannelByteStore implements ByteStore {
    private final OpenFile file;
    /** The name this store was opened by (another store of the same file may use another). */
    private final Path path;
    private final FileChannel channel;
    /** Orders changes of {@link #size}. */
    private final Object growLock = new Object();
    /** The file's size; only this store changes it (the lock keeps other writers out). */
    private volatile long size;
    private volatile boolean closed;

    ChannelByteStore(OpenFile file, Path path) throws IOException {
        this.file = file;
        this.path = path;
        this.channel = file.channel();
        this.size = channel.size(); // a block device's too: the JDK asks Linux (BLKGETSIZE64)
    }

    @Override
    public Path path() {
        return path;
    }

    @Override
    public boolean isReadOnly() {
        return !file.writable();
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public void read(long offset, MemorySegment dst) throws IOException {
        read(offset, dst, 0, dst.byteSize());
    }

    @Override
    public void read(long offset, MemorySegment dst, long dstOffset, long length) throws IOException {
        ensureOpen();
        try {
            readFully(channel, path, offset, dst.asSlice(dstOffset, length).asByteBuffer());
        } catch (IOException e) {
            throw failed(path, "read", offset, length, e);
        }
    }

    /**
     * An I/O error of {@code call} ({@code length} bytes at {@code offset}) as this package reports it:
     * naming the file, the call and the offset, followed by what the system said (the JDK's message
     * for an errno names none of them). End of file, a closed channel and errors that already name
     * the file pass unchanged.
     */
    static IOException failed(Path path, String call, long offset, long length, IOException e) {
        if (e instanceof EOFException || e instanceof ClosedChannelException
                || e.getMessage() != null && e.getMessage().startsWith(path.toString())) {
            return e;
        }
        return new IOException(path + ": " + call + " of " + length + " bytes at offset " + offset + ": "
                + e.getMessage(), e);
    }

    /** As {@link #failed}, for a resize: {@code PATH: resize to N bytes: WHY}. */
    static IOException failedResize(Path path, long newSize, IOException e) {
        if (e instanceof ClosedChannelException || e.getMessage() != null && e.getMessage().startsWith(path.toString())) {
            return e;
        }
        return new IOException(path + ": resize to " + newSize + " bytes: " + e.getMessage(), e);
    }

    static void readFully(FileChannel channel, Path path, long offset, ByteBuffer buffer) throws IOException {
        long position = offset;
        while (buffer.hasRemaining()) {
            int n = channel.read(buffer, position);
            if (n < 0) {
                throw new EOFException(path + ": read of " + buffer.remaining() + " bytes at offset " + position
                        + " runs past the end of the file (" + channel.size() + " bytes)");
            }
            position += n;
        }
    }

    static void writeFully(FileChannel channel, long offset, ByteBuffer buffer) throws IOException {
        long position = offset;
        while (buffer.hasRemaining()) {
            position += channel.write(buffer, position);
        }
    }

    @Override
    public byte readByte(long offset) throws IOException {
        ByteBuffer one = ByteBuffer.allocate(1);
        read(offset, MemorySegment.ofBuffer(one));
        return one.get(0);
    }

    @Override
    public void write(long offset, MemorySegment src) throws IOException {
        write(offset, src, 0, src.byteSize());
    }

    @Override
    public void write(long offset, MemorySegment src, long srcOffset, long length) throws IOException {
        ensureWritable();
        try {
            writeFully(channel, offset, src.asSlice(srcOffset, length).asByteBuffer());
        } catch (IOException e) {
            throw failed(path, "write", offset, length, e);
        }
        grewTo(offset + length);
    }

    private void grewTo(long end) {
        if (end > size) {
            synchronized (growLock) {
                size = Math.max(size, end);
            }
        }
    }

    @Override
    public void writeByte(long offset, byte value) throws IOException {
        ensureWritable();
        try {
            writeFully(channel, offset, ByteBuffer.wrap(new byte[] {value}));
        } catch (IOException e) {
            throw failed(path, "write", offset, 1, e);
        }
        grewTo(offset + 1);
    }

    @Override
    public void setSize(long newSize) throws IOException {
        ensureWritable();
        synchronized (growLock) {
            try {
                long current = channel.size();
                if (newSize < current) {
                    channel.truncate(newSize);
                } else if (newSize > current) {
                    // Writing the last byte extends the file; everything between reads as zero.
                    writeFully(channel, newSize - 1, ByteBuffer.wrap(new byte[1]));
                }
            } catch (IOException e) {
                throw failedResize(path, newSize, e);
            }
            size = newSize;
        }
    }

    @Override
    public void force() throws IOException {
        ensureOpen();
        if (!isReadOnly()) {
            try {
                channel.force(true);
            } catch (IOException e) {
                throw failed(path, "force", 0, size, e);
            }
        }
    }

    /**
     * Nothing but the check that the store is open: the channel does not give its descriptor, and a
     * second one only for this would be closed beside the file's lock (see {@link OpenFile}).
     */
    @Override
    public void startWriteback() throws IOException {
        ensureOpen();
    }

    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        file.release();
    }

    private void ensureOpen() throws IOException {
        if (closed) {
            throw new ClosedChannelException();
        }
    }

    private void ensureWritable() throws IOException {
        ensureOpen();
        if (isReadOnly()) {
            throw new IOException(path + ": opened read-only; refusing to write");
        }
    }

    @Override
    public boolean transfers() {
        return true;
    }

    @Override
    public long transferTo(long offset, long length, WritableByteChannel target) throws IOException {
        ensureOpen();
        if (offset < 0 || length < 0 || offset > size - length) {
            throw new java.io.EOFException(path + ": transfer of " + length + " bytes at offset " + offset
                    + " runs past the end of the file (" + size + " bytes)");
        }
        return transfer(channel, path, offset, length, target);
    }

    /**
     * Both stores' {@link ByteStore#transferTo}, once the range is checked: nothing on a thread whose
     * interrupt status is set (the channel's transfer would close the channel for every user of the
     * file), and every failure named after the file, a target closed beneath it too.
     */
    static long transfer(FileChannel channel, Path path, long offset, long length, WritableByteChannel target)
            throws IOException {
        if (Thread.currentThread().isInterrupted()) {
            return 0;
        }
        try {
            return channel.transferTo(offset, length, target);
        } catch (ClosedChannelException e) {
            if (channel.isOpen()) {
                throw new IOException(path + ": transfer of " + length + " bytes at offset " + offset
                        + ": the target is closed", e);
            }
            throw e;
        } catch (IOException e) {
            throw failed(path, "transfer", offset, length, e);
        }
    }

    @Override
    public String toString() {
        return "ChannelByteStore[" + path + (isReadOnly() ? ", read-only" : "") + "]";
    }
}
