package org.vhdkit.stack.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import org.vhdkit.vhd.io.Libc;

/**
 * The guest physical memory of one child partition: a page-granular run of bytes, addressed by
 * guest physical address (GPA) from 0, owned by the partition and by nothing else.
 *
 * <p>Every access checks its range against the memory's size first and refuses with a
 * {@link GuestMemoryException}; no method reads or writes outside the guest's memory, whatever the
 * address. The parent treats every address a guest hands it as untrusted and goes through here.
 *
 * <p>Multi-byte values are little-endian, as VMBus and the x86 guests it serves store them.
 * {@link #getIntAcquire}/{@link #setIntRelease} order accesses to ring indices shared with a guest
 * running on another thread.
 *
 * <p>Thread-safety: any number of threads may access the memory at once (the guest's virtual
 * processors, the parent's device handlers); as with real memory, concurrent writes to the same
 * bytes leave either. {@link #close()} must not overlap any access.
 *
 * <p>Host memory: on Linux the memory is a memfd mapped shared (see {@link MemfdMapping}), so a page
 * costs host memory only once it is touched, and an idle guest of 512 MiB holds a few MiB. Where
 * that cannot be had, all of it is allocated and zeroed at once.
 */
public final class GuestMemory implements AutoCloseable {
    /** The page size of guest physical memory. */
    public static final int PAGE_SIZE = 4096;
    /** log2 of {@link #PAGE_SIZE}. */
    public static final int PAGE_SHIFT = 12;

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle ALIGNED_INT = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();

    private final String owner;
    /** Frees the memory; null in a {@link #guestView()}, which cannot. */
    private final Arena arena;
    private final MemorySegment bytes;
    /** The memfd holding the bytes, or -1 where they are not in one. */
    private final int fd;
    /** The C library that made the memfd and answers {@link #untouched}; null where {@code fd} is -1. */
    private final Libc libc;

    private GuestMemory(String owner, Arena arena, MemorySegment bytes, int fd, Libc libc) {
        this.owner = owner;
        this.arena = arena;
        this.bytes = bytes;
        this.fd = fd;
        this.libc = libc;
    }

    /**
     * Zeroed memory of {@code size} bytes (a whole number of pages) for the partition named
     * {@code owner}. On Linux the pages are given, zeroed, by the kernel on first touch; elsewhere
     * (see {@link MemfdMapping}) all of them are allocated and zeroed now. Throws OutOfMemoryError
     * when the host cannot give that much. Thread-safe.
     */
    public static GuestMemory allocate(String owner, long size) {
        return allocate(owner, size, MemfdMapping.systemLibc());
    }

    /** As {@link #allocate(String, long)}, through {@code libc} (null: eagerly, as where there is none). */
    static GuestMemory allocate(String owner, long size, Libc libc) {
        if (size <= 0 || size % PAGE_SIZE != 0) {
            throw new IllegalArgumentException("guest memory must be a positive whole number of 4 KiB pages, not "
                    + size + " bytes");
        }
        Arena arena = Arena.ofShared();
        try {
            MemfdMapping.Mapping mapped = MemfdMapping.map(libc, owner, size, arena);
            return mapped != null
                    ? new GuestMemory(owner, arena, mapped.segment(), mapped.fd(), libc)
                    : new GuestMemory(owner, arena, arena.allocate(size, PAGE_SIZE), -1, null);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /**
     * The same memory as its guest is given it: every access works alike, but {@link #close()} does
     * nothing, so a guest program cannot free its memory under the parent's device threads. Only
     * the partition that allocated the memory frees it.
     */
    public GuestMemory guestView() {
        return new GuestMemory(owner, null, bytes, fd, libc);
    }

    /**
     * The descriptor of the memfd that holds the memory, for handing it to another process (a
     * vhost-user backend maps guest memory from it), or -1 where the memory is not in a memfd. Open
     * until {@link #close()}; the caller must not close it.
     */
    int fd() {
        return fd;
    }

    /** The partition the memory belongs to, for messages. */
    public String owner() {
        return owner;
    }

    /** The size in bytes. */
    public long size() {
        return bytes.byteSize();
    }

    /** The number of pages. */
    public long pages() {
        return bytes.byteSize() >>> PAGE_SHIFT;
    }

    /** Throws unless {@code [gpa, gpa + length)} lies inside the memory. */
    public void check(long gpa, long length) throws GuestMemoryException {
        if (gpa < 0 || length < 0 || gpa > bytes.byteSize() - length) {
            throw new GuestMemoryException(owner, gpa, length, bytes.byteSize());
        }
    }

    /**
     * Whether no byte of {@code [gpa, gpa + length)} was touched (read or written) since the memory
     * was allocated, so that all of it reads as zeros and the host holds no page for it. Reading the
     * range to find out would make the host give those pages; this does not. False where some byte
     * may have been touched, and wherever the memory is not in a memfd (it cannot tell). Thread-safe;
     * an access on another thread may touch the range at once after.
     */
    public boolean untouched(long gpa, long length) throws GuestMemoryException {
        check(gpa, length);
        return fd >= 0 && bytes.scope().isAlive() && MemfdMapping.hole(libc, fd, gpa, length);
    }

    /** Throws unless page number {@code pfn} is a page of this memory; returns its address. */
    public long pageAddress(long pfn) throws GuestMemoryException {
        if (pfn < 0 || pfn >= pages()) {
            throw new GuestMemoryException(owner, pfn << PAGE_SHIFT, PAGE_SIZE, bytes.byteSize());
        }
        return pfn << PAGE_SHIFT;
    }

    /**
     * The memory at {@code [gpa, gpa + length)} as a segment, for copying straight between it and
     * a disk. The segment stays valid until the memory is closed; hold it only for the one request.
     */
    public MemorySegment slice(long gpa, long length) throws GuestMemoryException {
        check(gpa, length);
        return bytes.asSlice(gpa, length);
    }

    /** Copies {@code length} bytes at {@code gpa} into {@code dst} at {@code dstOffset}. */
    public void read(long gpa, MemorySegment dst, long dstOffset, long length) throws GuestMemoryException {
        check(gpa, length);
        MemorySegment.copy(bytes, gpa, dst, dstOffset, length);
    }

    /** Copies {@code length} bytes of {@code src} from {@code srcOffset} to {@code gpa}. */
    public void write(long gpa, MemorySegment src, long srcOffset, long length) throws GuestMemoryException {
        check(gpa, length);
        MemorySegment.copy(src, srcOffset, bytes, gpa, length);
    }

    /** Reads {@code dst.length} bytes at {@code gpa}. */
    public void read(long gpa, byte[] dst) throws GuestMemoryException {
        read(gpa, MemorySegment.ofArray(dst), 0, dst.length);
    }

    /** Writes all of {@code src} at {@code gpa}. */
    public void write(long gpa, byte[] src) throws GuestMemoryException {
        write(gpa, MemorySegment.ofArray(src), 0, src.length);
    }

    public byte getByte(long gpa) throws GuestMemoryException {
        check(gpa, 1);
        return bytes.get(ValueLayout.JAVA_BYTE, gpa);
    }

    public void setByte(long gpa, byte value) throws GuestMemoryException {
        check(gpa, 1);
        bytes.set(ValueLayout.JAVA_BYTE, gpa, value);
    }

    public short getShort(long gpa) throws GuestMemoryException {
        check(gpa, 2);
        return bytes.get(SHORT, gpa);
    }

    public void setShort(long gpa, short value) throws GuestMemoryException {
        check(gpa, 2);
        bytes.set(SHORT, gpa, value);
    }

    public int getInt(long gpa) throws GuestMemoryException {
        check(gpa, 4);
        return bytes.get(INT, gpa);
    }

    public void setInt(long gpa, int value) throws GuestMemoryException {
        check(gpa, 4);
        bytes.set(INT, gpa, value);
    }

    public long getLong(long gpa) throws GuestMemoryException {
        check(gpa, 8);
        return bytes.get(LONG, gpa);
    }

    public void setLong(long gpa, long value) throws GuestMemoryException {
        check(gpa, 8);
        bytes.set(LONG, gpa, value);
    }

    /**
     * Reads the 4-byte-aligned int at {@code gpa} with acquire semantics: what the other side wrote
     * before publishing the value with {@link #setIntRelease} is seen after it.
     */
    public int getIntAcquire(long gpa) throws GuestMemoryException {
        checkAligned(gpa);
        return (int) ALIGNED_INT.getAcquire(bytes, gpa);
    }

    /** Writes the 4-byte-aligned int at {@code gpa} with release semantics. */
    public void setIntRelease(long gpa, int value) throws GuestMemoryException {
        checkAligned(gpa);
        ALIGNED_INT.setRelease(bytes, gpa, value);
    }

    private void checkAligned(long gpa) throws GuestMemoryException {
        check(gpa, 4);
        if ((gpa & 3) != 0) {
            throw new IllegalArgumentException("ring index at unaligned guest address 0x" + Long.toHexString(gpa));
        }
    }

    /**
     * Releases the memory (unmaps it and closes its memfd, or frees it); every segment
     * {@link #slice} gave becomes unusable. Does nothing on a {@link #guestView()}.
     */
    @Override
    public void close() {
        if (arena != null && arena.scope().isAlive()) {
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "GuestMemory[" + owner + ", " + size() + " bytes]";
    }
}
