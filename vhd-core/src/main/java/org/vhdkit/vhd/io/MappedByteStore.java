package org.vhdkit.vhd.io;

import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * A {@link ByteStore} that serves reads by copying from the file mapped into memory (no system call
 * per read, except reads of 64 KiB or more into native memory, which use {@code pread}: see {@link
 * #PREAD_MIN}) and every write with {@code pwrite} on a descriptor of its own.
 *
 * <h2>Why writes never go through the mapping</h2>
 * The mapping is read-only, even when the store is writable, so nothing can store into it. A store
 * into a shared mapping over a hole of the file (a sparse fixed VHD, or a new block's space) makes
 * the kernel allocate the block at the fault; on a full file system that fails with SIGBUS, which
 * HotSpot turns into an {@link InternalError} that it may deliver asynchronously, past any catch,
 * killing whichever thread is running (seen in a full test run). A {@code pwrite} into the same hole
 * fails with ENOSPC, an {@link IOException} naming the file and the offset. It is also the cheaper
 * way: a store into a page this process has not yet written through its mapping takes a write fault
 * (the kernel's dirty tracking), measured at 21-33 us per 4 KiB page on the machine BENCHMARKS.md was
 * measured on against 8-11 us for a {@code pwrite} of the same 4 KiB, and the data path writes most
 * pages once between two write-backs. Writes from the Java heap, which the C library cannot be given,
 * are copied into a pooled native buffer first ({@link #BOUNCE}). Readers through the mapping see
 * what {@code pwrite} wrote at once: both reach the same page cache. As Lucene does: written
 * through the file, read through the mapping.
 *
 * <p>Without the C library ({@link Libc#system()} empty), writes go through the {@link
 * FileChannel}, positional too; the channel has a drawback the descriptor has not: an interrupt of
 * the writing thread closes it for every user of the store.
 *
 * <h2>Mapping</h2>
 * The file is mapped in chunks of {@value #CHUNK_SHIFT}-bit size (1 GiB), each in its own shared
 * {@link Arena}, mapped when first read; so there is no 2 GiB limit and opening a 2 TiB file maps
 * only what is read. A chunk's mapping never reaches past the end of the file (touching such pages
 * would fault). When the file grows, the newest bytes past the last chunk's mapping are read with
 * {@code pread} until they amount to {@link #remapLag} (a sixteenth of the mapping, at least 1 MiB);
 * then that chunk is mapped again to the new end. Appending 2 MiB blocks therefore costs a re-map per
 * block only while the file is small, and about a hundred per 1 GiB chunk.
 *
 * <p>Re-mapping publishes a new {@link Mapping} and then closes the old chunk's arena. A thread
 * still copying through the old segment gets an {@link IllegalStateException} from the closed
 * arena and retries with the new mapping; both map the same page cache, so a retried copy is
 * harmless. This is what lets the file grow without a lock on the read path.
 *
 * <p>Thread-safety: as {@link ByteStore} says; {@link #mapLock} guards mapping changes, the file's
 * size and the list of arenas not yet closed.
 */
final class MappedByteStore implements ByteStore {
    static final int CHUNK_SHIFT = 30;
    static final long CHUNK_SIZE = 1L << CHUNK_SHIFT;
    private static final long CHUNK_MASK = CHUNK_SIZE - 1;
    /** The least growth past the last chunk's mapping that has it mapped again. */
    static final long MIN_REMAP_LAG = 1L << 20;

    /**
     * How far the file may grow past a mapping of {@code mapped} bytes before it is mapped again:
     * a sixteenth of the mapping, at least {@link #MIN_REMAP_LAG}. So a file that grows from nothing
     * to a full chunk is re-mapped about a hundred times, and the part of it served by system calls
     * is never more than a sixteenth of what is mapped.
     */
    static long remapLag(long mapped) {
        return Math.max(MIN_REMAP_LAG, mapped >>> 4);
    }

    private final OpenFile file;
    /** The name this store was opened by (another store of the same file may use another). */
    private final Path path;
    private final FileChannel channel;
    /** Guards changes of {@link #mapping} and {@link #size}, and {@link #unclosed}. */
    private final Object mapLock = new Object();
    private volatile Mapping mapping = new Mapping(new MemorySegment[0], new Arena[0]);
    private volatile long size;
    /** Arenas replaced while a thread was using them; closed when they can be. Guarded by mapLock. */
    private final List<Arena> unclosed = new ArrayList<>();
    private volatile boolean closed;
    /**
     * Run before each access through a mapped segment: a package-private hook where a test re-maps
     * the file, so that the access meets the closed arena and {@link #retryAfterRemap} runs (a race
     * too narrow to hit by chance). Nothing outside tests.
     */
    volatile Runnable beforeAccess = () -> {
    };
    /** Accesses retried after a re-map closed their segment; for tests. */
    private final LongAdder remapRetries = new LongAdder();

    /** The chunks mapped so far, by chunk index; null where a chunk is not mapped. Never mutated. */
    private record Mapping(MemorySegment[] segments, Arena[] arenas) {
        MemorySegment segment(int chunk) {
            return chunk < segments.length ? segments[chunk] : null;
        }
    }

    /**
     * Reads of at least this many bytes into native memory come from the file with {@code pread}:
     * a first pass over a mapping faults its page tables in (a fault per 64 KiB with the kernel's
     * fault-around, dear on a paravirtualised machine), where a system call per read of this size
     * costs next to nothing.
     */
    static final long PREAD_MIN = 64 * 1024;
    /** The size of the native buffers a write from the heap (or a read into it with {@code pread}) is copied through. */
    static final long BOUNCE = 256 * 1024;
    /** How many of those buffers a store keeps for reuse; more at once are allocated and left to the collector. */
    private static final int BOUNCES_KEPT = 4;
    /** The C library the descriptor is used through; null where it cannot be called. */
    private final Libc libc;

    /**
     * A descriptor of the file of its own, for {@code pwrite} and {@code pread} through the C
     * library, or -1 (no C library: then writes, and reads of what is not mapped, go through the
     * channel). Not the JDK's channel: an interrupt of the writing thread closes a {@link
     * FileChannel} for every user of the store. Guarded by {@link #fdLock}: reads, writes and
     * {@link #startWriteback} through it hold its read lock, {@link #close} its write lock, so the
     * number is never used after it is closed (when it might already name another file).
     */
    private int fd = -1;
    /** Whether {@link #startWriteback} still asks: false once the file system said it cannot. */
    private volatile boolean writebackSupported = true;
    private final java.util.concurrent.locks.ReentrantReadWriteLock fdLock =
            new java.util.concurrent.locks.ReentrantReadWriteLock();
    /** Native buffers of {@link #BOUNCE} bytes for heap writes, each in an automatic arena of its own. */
    private final java.util.concurrent.ConcurrentLinkedQueue<MemorySegment> bounces =
            new java.util.concurrent.ConcurrentLinkedQueue<>();
    private final java.util.concurrent.atomic.AtomicInteger bouncesKept = new java.util.concurrent.atomic.AtomicInteger();

    MappedByteStore(OpenFile file, Path path) throws IOException {
        this(file, path, Libc.system().orElse(null));
    }

    /** A store that uses {@code libc} (null: none) for its descriptor; tests hand in one that records. */
    MappedByteStore(OpenFile file, Path path, Libc libc) throws IOException {
        this.file = file;
        this.path = path;
        this.channel = file.channel();
        this.size = channel.size(); // a block device's too: the JDK asks Linux (BLKGETSIZE64)
        this.libc = libc;
        if (libc != null) {
            // Opened by the same path just after the channel: the same file (a rename in between, by
            // someone else, is the one way to get another). Failing is fine: the channel serves then.
            Libc.Result r = libc.open(path.toAbsolutePath().toString(),
                    (file.writable() ? Libc.O_RDWR : Libc.O_RDONLY) | Libc.O_CLOEXEC, 0);
            fd = r.failed() ? -1 : r.intValue();
            if (fd >= 0 && file.writable()) {
                // A write of nothing, which changes nothing: it links the pwrite downcall now (a few
                // ms on its first call in a process), so that the first write a caller makes does
                // not pay for it (vhd bench times from the first request, as a guest's first write).
                libc.pwrite(fd, 0, 0, 0);
            }
        }
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

    /**
     * The mapped segment of chunk {@code chunk} when it covers chunk-relative offsets up to
     * {@code end}; null when those bytes are to be read with a system call instead.
     */
    private MemorySegment segment(int chunk, long end) throws IOException {
        MemorySegment segment = mapping.segment(chunk);
        if (segment != null) {
            if (segment.byteSize() >= end) {
                return segment;
            }
            long available = Math.min(CHUNK_SIZE, size - ((long) chunk << CHUNK_SHIFT));
            if (available - segment.byteSize() < remapLag(segment.byteSize()) && available < CHUNK_SIZE) {
                return null;
            }
        }
        return map(chunk, end);
    }

    private MemorySegment map(int chunk, long end) throws IOException {
        synchronized (mapLock) {
            ensureOpen();
            Mapping current = mapping;
            MemorySegment segment = current.segment(chunk);
            if (segment != null && segment.byteSize() >= end) {
                return segment;
            }
            long start = (long) chunk << CHUNK_SHIFT;
            long length = Math.min(CHUNK_SIZE, size - start);
            if (length < end) {
                return null; // past the end of the file (a growing write is under way)
            }
            Arena arena = Arena.ofShared();
            MemorySegment mapped;
            try {
                mapped = channel.map(FileChannel.MapMode.READ_ONLY, start, length, arena); // never written: see above
            } catch (IOException e) {
                arena.close();
                throw ChannelByteStore.failed(path, "mapping", start, length, e);
            } catch (RuntimeException e) {
                arena.close();
                throw e;
            }
            int count = Math.max(current.segments.length, chunk + 1);
            MemorySegment[] segments = Arrays.copyOf(current.segments, count);
            Arena[] arenas = Arrays.copyOf(current.arenas, count);
            Arena replaced = arenas[chunk];
            segments[chunk] = mapped;
            arenas[chunk] = arena;
            mapping = new Mapping(segments, arenas);
            if (replaced != null) {
                unclosed.add(replaced);
            }
            closeUnclosed();
            return mapped;
        }
    }

    /** Closes replaced arenas; one a thread is still copying through stays for the next try. Holds mapLock. */
    private void closeUnclosed() {
        unclosed.removeIf(arena -> {
            try {
                arena.close();
                return true;
            } catch (IllegalStateException inUse) {
                return false;
            }
        });
    }

    private void checkRange(long offset, long length) throws IOException {
        ensureOpen();
        if (offset < 0 || length < 0 || offset > size - length) {
            throw new EOFException(path + ": access of " + length + " bytes at offset " + offset
                    + " runs past the end of the file (" + size + " bytes)");
        }
    }

    @Override
    public void read(long offset, MemorySegment dst) throws IOException {
        read(offset, dst, 0, dst.byteSize());
    }

    @Override
    public void read(long offset, MemorySegment dst, long dstOffset, long length) throws IOException {
        checkRange(offset, length);
        while (length > 0) {
            int chunk = (int) (offset >>> CHUNK_SHIFT);
            long at = offset & CHUNK_MASK;
            long n = Math.min(length, CHUNK_SIZE - at);
            MemorySegment segment = segment(chunk, at + n);
            if (segment == null) {
                readUnmapped(offset, dst, dstOffset, n);
            } else if (n < PREAD_MIN || !dst.isNative() || dst.isReadOnly()
                    || !positional(false, offset, dst, dstOffset, n)) {
                beforeAccess.run();
                boolean interrupted = Thread.currentThread().isInterrupted();
                try {
                    MemorySegment.copy(segment, at, dst, dstOffset, n);
                } catch (IllegalStateException e) {
                    retryAfterRemap(segment, e, interrupted);
                    continue;
                } catch (InternalError fault) {
                    readUnmapped(offset, dst, dstOffset, n);
                }
            }
            offset += n;
            dstOffset += n;
            length -= n;
        }
    }

    /*
     * A read through the mapping that faults (the kernel's SIGBUS, which the JVM turns into an
     * InternalError: the file was cut shorter than the mapping by another program) is done again
     * with a system call, which reports why as an IOException naming the file, the call and the
     * offset. This catches only a fault the JVM reports at the access itself; HotSpot may deliver the
     * InternalError later, past the catch. Writes cannot fault: they never go through the mapping.
     */

    /** Reads with {@code pread} (or the channel, without the C library) what the mapping does not serve. */
    private void readUnmapped(long offset, MemorySegment dst, long dstOffset, long length) throws IOException {
        if (!dst.isReadOnly() && transfer(false, offset, dst, dstOffset, length)) {
            return;
        }
        try {
            ChannelByteStore.readFully(channel, path, offset, dst.asSlice(dstOffset, length).asByteBuffer());
        } catch (IOException e) {
            throw ChannelByteStore.failed(path, "read", offset, length, e);
        }
    }

    /**
     * A copy failed on a closed arena: when it was ours, re-mapped under us, the caller retries.
     * {@code interrupted} is whether the thread's interrupt status was set before the copy.
     *
     * <p>Closing a shared arena while another thread copies through it makes the VM stop that copy
     * with an asynchronous exception, and (JDK 25) the delivery sets the thread's interrupt status
     * as a side effect. Left set, it would make the thread's next channel I/O close the file's
     * channel for every user of the store (ClosedByInterruptException, then ClosedChannelException
     * for all): so a status the close set is cleared here. An interrupt really sent during the copy
     * itself is lost with it; that window is a copy long.
     */
    private void retryAfterRemap(MemorySegment segment, IllegalStateException e, boolean interrupted)
            throws IOException {
        if (segment.scope().isAlive()) {
            throw e; // not our arena: the caller's segment is closed
        }
        if (!interrupted) {
            Thread.interrupted();
        }
        ensureOpen();
        remapRetries.increment();
    }

    /** How many accesses were retried after a re-map; for tests. */
    long remapRetries() {
        return remapRetries.sum();
    }

    @Override
    public byte readByte(long offset) throws IOException {
        checkRange(offset, 1);
        while (true) {
            int chunk = (int) (offset >>> CHUNK_SHIFT);
            long at = offset & CHUNK_MASK;
            MemorySegment segment = segment(chunk, at + 1);
            if (segment == null) {
                byte[] one = new byte[1];
                readUnmapped(offset, MemorySegment.ofArray(one), 0, 1);
                return one[0];
            }
            beforeAccess.run();
            boolean interrupted = Thread.currentThread().isInterrupted();
            try {
                return segment.get(ValueLayout.JAVA_BYTE, at);
            } catch (IllegalStateException e) {
                retryAfterRemap(segment, e, interrupted);
            } catch (InternalError fault) {
                byte[] one = new byte[1];
                readUnmapped(offset, MemorySegment.ofArray(one), 0, 1);
                return one[0];
            }
        }
    }

    @Override
    public void write(long offset, MemorySegment src) throws IOException {
        write(offset, src, 0, src.byteSize());
    }

    @Override
    public void write(long offset, MemorySegment src, long srcOffset, long length) throws IOException {
        ensureWritable();
        if (offset < 0 || length < 0) {
            throw new IllegalArgumentException("offset " + offset + ", length " + length);
        }
        java.util.Objects.checkFromIndexSize(srcOffset, length, src.byteSize());
        if (offset > size - length) {
            growingWrite(offset, src, srcOffset, length);
            return;
        }
        writeAt(offset, src, srcOffset, length);
    }

    /** A write that ends past the end of the file: it extends the file, and the size follows, under mapLock. */
    private void growingWrite(long offset, MemorySegment src, long srcOffset, long length) throws IOException {
        synchronized (mapLock) {
            ensureOpen();
            writeAt(offset, src, srcOffset, length);
            size = Math.max(size, offset + length);
        }
    }

    /**
     * Writes {@code length} bytes of {@code src} at {@code offset} with {@code pwrite}: native memory
     * directly, heap memory through a native buffer; through the channel where there is no
     * descriptor. Never through the mapping (see the class comment).
     */
    private void writeAt(long offset, MemorySegment src, long srcOffset, long length) throws IOException {
        if (transfer(true, offset, src, srcOffset, length)) {
            return;
        }
        try {
            ChannelByteStore.writeFully(channel, offset, src.asSlice(srcOffset, length).asByteBuffer());
        } catch (IOException e) {
            throw ChannelByteStore.failed(path, "write", offset, length, e);
        }
    }

    /**
     * {@code pwrite} ({@code write}) or {@code pread} of {@code length} bytes between {@code memory}
     * at {@code memoryOffset} and the file at {@code offset}: native memory directly, heap memory
     * through a pooled native buffer, {@link #BOUNCE} bytes at a time. False when there is no
     * descriptor (the caller then uses the channel).
     */
    private boolean transfer(boolean write, long offset, MemorySegment memory, long memoryOffset, long length)
            throws IOException {
        if (memory.isNative()) {
            return positional(write, offset, memory, memoryOffset, length);
        }
        if (fd < 0) {
            return false; // read without the lock: -1 from the start (no C library), or closed (refused below)
        }
        MemorySegment bounce = borrowBounce();
        try {
            for (long done = 0; done < length; ) {
                long n = Math.min(BOUNCE, length - done);
                if (write) {
                    MemorySegment.copy(memory, memoryOffset + done, bounce, 0, n);
                }
                if (!positional(write, offset + done, bounce, 0, n)) {
                    ensureOpen();
                    throw new java.nio.channels.ClosedChannelException();
                }
                if (!write) {
                    MemorySegment.copy(bounce, 0, memory, memoryOffset + done, n);
                }
                done += n;
            }
            return true;
        } finally {
            returnBounce(bounce);
        }
    }

    private MemorySegment borrowBounce() {
        MemorySegment bounce = bounces.poll();
        if (bounce != null) {
            bouncesKept.decrementAndGet();
            return bounce;
        }
        return Arena.ofAuto().allocate(BOUNCE, 4096); // freed by the collector once dropped
    }

    private void returnBounce(MemorySegment bounce) {
        if (bouncesKept.incrementAndGet() <= BOUNCES_KEPT) {
            bounces.offer(bounce);
        } else {
            bouncesKept.decrementAndGet();
        }
    }

    /**
     * {@code pwrite} or {@code pread} of {@code n} bytes between native {@code memory} and the file
     * at {@code offset} on this store's own descriptor, allocating nothing; {@code memory} must stay
     * mapped meanwhile, as for any copy from it (where it does not, the kernel answers EFAULT); false
     * when there is no descriptor. Both reach the same page cache as the mapping, so readers through
     * it see the bytes at once, and {@link #force} ({@code fsync}) makes them durable.
     */
    private boolean positional(boolean write, long offset, MemorySegment memory, long memoryOffset, long n)
            throws IOException {
        fdLock.readLock().lock();
        try {
            if (fd < 0) {
                return false;
            }
            java.util.Objects.checkFromIndexSize(memoryOffset, n, memory.byteSize());
            long address = memory.address() + memoryOffset;
            String call = write ? "write" : "read";
            long done = 0;
            while (done < n) {
                long r = write ? libc.pwrite(fd, address + done, n - done, offset + done)
                        : libc.pread(fd, address + done, n - done, offset + done);
                if (r == -Libc.EINTR) {
                    continue;
                }
                if (r < 0) {
                    throw ChannelByteStore.failed(path, call, offset + done, n - done, new IOException(reason((int) -r)));
                }
                if (r == 0) {
                    throw write ? ChannelByteStore.failed(path, call, offset + done, n - done,
                            new IOException("pwrite wrote nothing"))
                            : new EOFException(path + ": read of " + (n - done) + " bytes at offset " + (offset + done)
                                    + " runs past the end of the file (someone else shortened it)");
                }
                done += r;
            }
            return true;
        } finally {
            fdLock.readLock().unlock();
            java.lang.ref.Reference.reachabilityFence(memory); // its memory stays while the call uses it
        }
    }

    /** What the system's message for {@code errno} says, as the JDK's channel would report it. */
    private static String reason(int errno) {
        return switch (errno) {
            case Libc.ENOSPC -> "No space left on device";
            case Libc.EDQUOT -> "Disk quota exceeded";
            case Libc.EIO -> "Input/output error";
            default -> "pwrite failed with errno " + errno;
        };
    }

    @Override
    public void writeByte(long offset, byte value) throws IOException {
        ensureWritable();
        checkRange(offset, 1);
        writeAt(offset, MemorySegment.ofArray(new byte[] {value}), 0, 1);
    }

    @Override
    public void setSize(long newSize) throws IOException {
        ensureWritable();
        synchronized (mapLock) {
            ensureOpen();
            try {
                if (newSize < size) {
                    unmapFrom(newSize);
                    channel.truncate(newSize);
                } else if (newSize > size) {
                    ChannelByteStore.writeFully(channel, newSize - 1, ByteBuffer.wrap(new byte[1]));
                }
            } catch (IOException e) {
                throw ChannelByteStore.failedResize(path, newSize, e);
            }
            size = newSize;
        }
    }

    /** Drops every chunk mapping that reaches past {@code end}, before the file is cut there. Holds mapLock. */
    private void unmapFrom(long end) {
        Mapping current = mapping;
        MemorySegment[] segments = current.segments.clone();
        Arena[] arenas = current.arenas.clone();
        for (int chunk = 0; chunk < segments.length; chunk++) {
            MemorySegment segment = segments[chunk];
            if (segment != null && ((long) chunk << CHUNK_SHIFT) + segment.byteSize() > end) {
                unclosed.add(arenas[chunk]);
                segments[chunk] = null;
                arenas[chunk] = null;
            }
        }
        mapping = new Mapping(segments, arenas);
        closeUnclosed();
    }

    /** {@code fsync}: every write went through the file (none through the read-only mapping), so that is all. */
    @Override
    public void force() throws IOException {
        ensureOpen();
        if (isReadOnly()) {
            return;
        }
        try {
            channel.force(true);
        } catch (IOException e) {
            throw ChannelByteStore.failed(path, "force", 0, size, e);
        }
    }

    /**
     * {@code sync_file_range(SYNC_FILE_RANGE_WRITE)} over the whole file on this store's own
     * descriptor, under its read lock as every {@code pwrite}; see {@link ByteStore#startWriteback}
     * for what it promises (nothing) and when it does nothing.
     */
    @Override
    public void startWriteback() throws IOException {
        ensureOpen();
        if (isReadOnly() || !writebackSupported) {
            return;
        }
        fdLock.readLock().lock();
        try {
            if (fd < 0) {
                ensureOpen(); // closed meanwhile: refuse; else there is no descriptor (no C library)
                return;
            }
            int r = libc.syncFileRange(fd, 0, 0, Libc.SYNC_FILE_RANGE_WRITE);
            if (r == -Libc.ENOSYS || r == -Libc.EINVAL || r == -Libc.ESPIPE || r == -Libc.EOPNOTSUPP) {
                writebackSupported = false; // this file system cannot: the force writes everything
            }
        } finally {
            fdLock.readLock().unlock();
        }
    }

    @Override
    public void close() throws IOException {
        synchronized (mapLock) {
            if (closed) {
                return;
            }
            closed = true;
            for (Arena arena : mapping.arenas) {
                if (arena != null) {
                    unclosed.add(arena);
                }
            }
            mapping = new Mapping(new MemorySegment[0], new Arena[0]);
            closeUnclosed();
            unclosed.clear(); // any still in use are unmapped when collected
        }
        fdLock.writeLock().lock();
        try {
            if (fd >= 0) {
                libc.close(fd);
                fd = -1;
            }
        } finally {
            fdLock.writeLock().unlock();
        }
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
        checkRange(offset, length);
        return ChannelByteStore.transfer(channel, path, offset, length, target);
    }

    @Override
    public String toString() {
        return "MappedByteStore[" + path + (isReadOnly() ? ", read-only" : "") + "]";
    }
}
