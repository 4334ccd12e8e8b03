package org.vhdkit.vhd.disk;

import java.io.Closeable;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.channels.WritableByteChannel;
import java.util.List;

/**
 * A disk as everything above the file format sees it: a run of bytes of fixed size, read and
 * written at byte offsets.
 *
 * <p>Implementations: fixed, dynamic and differencing VHD files ({@link org.vhdkit.vhd.Vhd}), raw host files and
 * block devices ({@link RawDisk}), and memory ({@link MemoryDisk}).
 *
 * <h2>Durability</h2>
 * A write is visible to every later read, from any thread, once it returns. It is durable,
 * surviving a crash of this process or of the host, once a later {@link #flush()} returns; a crash
 * before then may lose it, but never leaves the image in a state that reads other bytes than it
 * held before the write or after it, or that cannot be opened. (This is a disk with a write-back
 * cache, and what a guest's FLUSH or SYNCHRONIZE CACHE asks of one.)
 *
 * <h2>Thread-safety</h2>
 * Reads, writes, {@link #flush()}, {@link #startWriteback()}, {@link #discard} and {@link #extents}
 * may be called from any number of threads at once. Concurrent writes to overlapping ranges leave either's bytes in each
 * sector; a read concurrent with a write to the same range sees, per sector, the old or the new
 * bytes. {@link #close()} must not overlap any other call.
 */
public interface VirtualDisk extends Closeable {

    /** The logical sector size of every disk here. */
    int SECTOR_SIZE = 512;

    /** What the disk is, for messages: its file, or a description. */
    String name();

    /** The size of the disk in bytes; a multiple of {@link #SECTOR_SIZE}. */
    long size();

    /** Whether writes are refused. */
    boolean isReadOnly();

    /**
     * Copies {@code length} bytes of the disk from {@code offset} into {@code dst} at
     * {@code dstOffset}. Any offset and length inside the disk will do; sector alignment is not
     * required, only faster.
     *
     * @throws java.io.EOFException when the range does not lie inside the disk
     */
    void read(long offset, MemorySegment dst, long dstOffset, long length) throws IOException;

    /**
     * Writes {@code length} bytes from {@code src} at {@code srcOffset} to the disk at
     * {@code offset}. See the class comment for when the write is durable.
     *
     * @throws java.io.EOFException when the range does not lie inside the disk
     * @throws java.nio.channels.NonWritableChannelException never; a read-only disk throws
     *     {@link IOException}
     */
    void write(long offset, MemorySegment src, long srcOffset, long length) throws IOException;

    /** Fills all of {@code dst} from the disk at {@code offset}. */
    default void read(long offset, MemorySegment dst) throws IOException {
        read(offset, dst, 0, dst.byteSize());
    }

    /** Writes all of {@code src} to the disk at {@code offset}. */
    default void write(long offset, MemorySegment src) throws IOException {
        write(offset, src, 0, src.byteSize());
    }

    /** Fills all of {@code dst} from the disk at {@code offset}. */
    default void read(long offset, byte[] dst) throws IOException {
        read(offset, MemorySegment.ofArray(dst));
    }

    /** Writes all of {@code src} to the disk at {@code offset}. */
    default void write(long offset, byte[] src) throws IOException {
        write(offset, MemorySegment.ofArray(src));
    }

    /**
     * How many bytes from {@code offset} (at most {@code length}) lie in the disk's file as they
     * are, one after the other, so that {@link #transferTo} can send them without copying them
     * through this process; 0 when the first do not (a hole, a parent's bytes, a sector bitmap
     * between them, a disk in memory, a store that observes its reads). Only a hint: the disk may
     * change before the transfer, which then sends less.
     *
     * @throws java.io.EOFException when the range does not lie inside the disk
     */
    default long sendable(long offset, long length) throws IOException {
        return 0;
    }

    /**
     * Sends up to {@code length} bytes of the disk from {@code offset} to {@code target} straight
     * from the disk's file ({@code sendfile}: no copy through this process), as far as
     * {@link #sendable} allows and a target that does not block takes them without waiting; how
     * many it sent from the start of the range, 0 when it cannot. The caller reads the rest as
     * usual. Call it from a platform thread: a virtual one would block its carrier. The bytes are
     * those of the file when the kernel sends them; a write racing with the transfer may show in
     * it, as it may in a racing read.
     *
     * @throws IOException when the disk's file or the target fails (the message names the file)
     */
    default long transferTo(long offset, long length, WritableByteChannel target) throws IOException {
        return 0;
    }

    /** Makes every write that returned before this call durable. */
    void flush() throws IOException;

    /**
     * Asks the host to start writing what was written so far to its disk, without waiting, so that
     * a later {@link #flush} finds less left to do: for a writer of a large new image, which asks
     * every so many bytes ({@link org.vhdkit.vhd.io.ByteStore#startWriteback}). It promises nothing about durability;
     * only {@link #flush} does. A disk that is not a host file's bytes (memory), is read-only, or
     * whose file cannot be asked does nothing; this default does nothing.
     *
     * @throws IOException when the disk is closed
     */
    default void startWriteback() throws IOException {
        // Nothing of the host's to ask: a flush does what there is to do.
    }

    /**
     * Tells the disk that the bytes in the range are no longer needed; afterwards they may read as
     * zero, as their earlier contents, or (in a differencing disk) as the parent's. A disk that
     * cannot release space does nothing.
     */
    default void discard(long offset, long length) throws IOException {
        // Nothing to release by default.
    }

    /**
     * Which parts of the range hold data and where: the range split into extents, in order, each
     * naming the layer its bytes come from ({@link Extent#layer()}).
     */
    List<Extent> extents(long offset, long length) throws IOException;

    /** Flushes a writable disk and releases its file. */
    @Override
    void close() throws IOException;
}
