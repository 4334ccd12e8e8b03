package org.vhdkit.vhd.io;

import java.io.Closeable;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.channels.WritableByteChannel;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/**
 * The bytes of one host file (or block device), read and written at byte offsets.
 *
 * <p>Two implementations stand behind this interface: a memory-mapped one for files on the default
 * file system, whose reads are copies out of a read-only mapping with no system call (except large
 * ones into native memory, which use {@code pread}) and whose writes are {@code pwrite}s (never
 * stores into the mapping, which on a full file system could end in SIGBUS, and which cost a write
 * fault per clean page), and a positional {@link java.nio.channels.FileChannel} one for every other
 * file system (jimfs cannot map). {@link #open} chooses; {@link Backing} overrides, and so does the
 * system property {@value #BACKING_PROPERTY} ({@code mapped} or {@code channel}). A
 * {@link ForwardingByteStore} wraps either to observe or alter the calls; {@link StoreInterception}
 * installs one around every store a piece of code opens (tests record writes and inject faults so).
 *
 * <p>A store opened for writing holds an exclusive lock on its file, and a read-only store a shared
 * one, for as long as it is open: a second writer, in this process or another, is refused with an
 * {@link IOException} that names the holder. Read-only stores of one file in this process share a
 * single channel and lock.
 *
 * <p>An I/O error is an {@link IOException} whose message names the file, the call, its length and
 * offset, then what the system said ({@code Input/output error}, {@code No space left on device}):
 * the JDK's own message for an errno names none of them.
 *
 * <p>Thread-safety: every method may be called from any number of threads at once, except
 * {@link #close()}, which must not overlap any other call, and {@link #setSize} when it shrinks the
 * file, which must not overlap I/O to the range it removes. Concurrent writes to overlapping ranges
 * leave either's bytes in each byte, as with any file.
 */
public sealed interface ByteStore extends Closeable permits MappedByteStore, ChannelByteStore, ForwardingByteStore {

    /** The system property that overrides the automatic choice of backing: {@code mapped} or {@code channel}. */
    String BACKING_PROPERTY = "vhdkit.io";

    /** How a store is opened. */
    enum Mode {
        /** An existing file, read only, under a shared lock. */
        READ_ONLY,
        /** An existing file, read and written, under an exclusive lock. */
        READ_WRITE,
        /** A new file that must not exist yet, read and written, under an exclusive lock. */
        CREATE_NEW
    }

    /** Which implementation serves the bytes. */
    enum Backing {
        /** Memory-mapped on the default file system, positional channel I/O elsewhere. */
        AUTO,
        /** Memory-mapped; refused for files on file systems that cannot map. */
        MAPPED,
        /** Positional {@code FileChannel} reads and writes. */
        CHANNEL
    }

    /**
     * Links the calls into the C library that the first {@link #open} of this process will make for
     * its image lock ({@code open}, {@code fcntl} and {@code close}; see {@code OfdLock}), by making
     * each once with arguments it refuses at once ({@code ENOENT}, {@code EBADF}). The JVM generates
     * the code of each such call the first time it is made, which takes a short command about 30 ms
     * of its start (BENCHMARKS.md, Start-up): a command can have it done on another thread while it
     * parses its arguments. Never needed: an open that comes first links what it needs itself
     * (waiting for another thread's linking of the same call, if under way). Does nothing where the
     * C library cannot be called.
     *
     * <p>Thread-safety: may be called from any thread, any number of times, at once.
     */
    static void prepareFirstOpen() {
        OfdLock.prepare();
    }

    /** Opens {@code path} with the backing {@link Backing#AUTO} chooses (or the system property names). */
    static ByteStore open(Path path, Mode mode) throws IOException {
        return open(path, mode, Backing.AUTO);
    }

    /** Opens {@code path} with the given backing. */
    static ByteStore open(Path path, Mode mode, Backing backing) throws IOException {
        Backing chosen = backing == Backing.AUTO ? automaticBacking(path) : backing;
        OpenFile file = OpenFile.acquire(path, mode);
        try {
            ByteStore store = chosen == Backing.MAPPED ? new MappedByteStore(file, path) : new ChannelByteStore(file, path);
            return StoreInterception.intercept(store);
        } catch (IOException | RuntimeException e) {
            file.release();
            throw e;
        }
    }

    /**
     * What {@code path} is when it is neither a regular file nor a directory, in words ({@code "a FIFO
     * (named pipe)"}, {@code "a block device"}, ...), found without opening it; empty otherwise, and
     * on file systems that do not tell. Opening refuses every such file but a block device: a FIFO
     * would block the opening until a writer came, a socket or a character device is no disk.
     *
     * <p>Thread-safe.
     */
    static Optional<String> specialKind(Path path) throws IOException {
        return FileKind.special(path);
    }

    private static Backing automaticBacking(Path path) {
        String forced = System.getProperty(BACKING_PROPERTY, "").trim().toLowerCase(Locale.ROOT);
        return switch (forced) {
            case "mapped" -> Backing.MAPPED;
            case "channel" -> Backing.CHANNEL;
            default -> path.getFileSystem() == FileSystems.getDefault() ? Backing.MAPPED : Backing.CHANNEL;
        };
    }

    /** The file as it was named when opened. */
    Path path();

    /** Whether writes are refused. */
    boolean isReadOnly();

    /** The current size of the file in bytes. */
    long size();

    /**
     * Fills {@code dst} with the bytes at {@code offset}.
     *
     * @throws java.io.EOFException when the range runs past the end of the file
     */
    void read(long offset, MemorySegment dst) throws IOException;

    /** Copies {@code length} bytes at {@code offset} into {@code dst} at {@code dstOffset}. */
    void read(long offset, MemorySegment dst, long dstOffset, long length) throws IOException;

    /** Reads one byte. */
    byte readByte(long offset) throws IOException;

    /** Writes all of {@code src} at {@code offset}, growing the file when the range ends past its end. */
    void write(long offset, MemorySegment src) throws IOException;

    /** Writes {@code length} bytes of {@code src} from {@code srcOffset} at {@code offset}. */
    void write(long offset, MemorySegment src, long srcOffset, long length) throws IOException;

    /** Writes one byte inside the file. */
    void writeByte(long offset, byte value) throws IOException;

    /** Reads {@code length} bytes at {@code offset} into a new array (for metadata, not the data path). */
    default byte[] readBytes(long offset, int length) throws IOException {
        byte[] bytes = new byte[length];
        read(offset, MemorySegment.ofArray(bytes));
        return bytes;
    }

    /** Writes all of {@code bytes} at {@code offset} (for metadata, not the data path). */
    default void writeBytes(long offset, byte[] bytes) throws IOException {
        write(offset, MemorySegment.ofArray(bytes));
    }

    /**
     * Whether {@link #transferTo} sends bytes straight from the file: false for a store that
     * observes or alters reads ({@link ForwardingByteStore}), whose reads must go through it.
     */
    default boolean transfers() {
        return false;
    }

    /**
     * Sends up to {@code length} bytes of the file from {@code offset} to {@code target} without
     * copying them through this process ({@code sendfile}), as many as the target takes without
     * waiting when it does not block; how many it sent, 0 when it cannot ({@link #transfers}
     * false, or the calling thread's interrupt status is set: an interrupt would close the file's
     * channel for every user). The bytes are those in the file when the kernel sends them.
     *
     * @throws IOException naming the file when the file or the target fails
     */
    default long transferTo(long offset, long length, WritableByteChannel target) throws IOException {
        return 0;
    }

    /**
     * Grows the file to {@code newSize} (the new bytes read as zero and take no space where the file
     * system supports sparse files) or truncates it.
     */
    void setSize(long newSize) throws IOException;

    /** Makes every write that returned so far durable, and the file's size with it. */
    void force() throws IOException;

    /**
     * Asks the host to start writing the file's dirty pages to the disk now, without waiting for
     * them ({@code sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE)} on the store's own descriptor),
     * so that a later {@link #force} finds less left to write: the disk writes what was written
     * while the caller writes more. It promises nothing about durability; only {@link #force} does.
     *
     * <p>A store without a descriptor of its own (this default, the channel store, a mapped store
     * where the C library cannot be called) or opened read-only does nothing. Where the file system
     * does not support the call ({@code ENOSYS}, {@code EINVAL}, {@code ESPIPE}, {@code EOPNOTSUPP})
     * the store stops asking; any other failure ({@code EIO}, {@code ENOSPC}) is left to
     * {@link #force}, which reports what went wrong in the write-back. So nothing fails here but a
     * closed store, which refuses as every call does.
     *
     * @throws java.nio.channels.ClosedChannelException when the store is closed
     */
    default void startWriteback() throws IOException {
        // No descriptor of its own to ask with: the force writes everything, as it would anyway.
    }

    /** Unmaps, releases the lock and closes the file. A closed store refuses every call. */
    @Override
    void close() throws IOException;
}
