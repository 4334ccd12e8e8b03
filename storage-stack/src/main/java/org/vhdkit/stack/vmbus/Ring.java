package org.vhdkit.stack.vmbus;

import java.lang.foreign.MemorySegment;
import org.vhdkit.stack.memory.GuestMemory;
import org.vhdkit.stack.memory.GuestMemoryException;

/**
 * One VMBus ring in guest memory: a 4 KiB control page, then data pages, each anywhere in guest
 * memory. Knows the layout and nothing of who reads or writes: {@link RingReader} and
 * {@link RingWriter} keep the indices and decide what to trust.
 *
 * <p>Control page words (u32): [0] write index, [1] read index, [2] interrupt mask, [3] pending send
 * size, [16] feature bits. Indices are byte offsets into the data area.
 *
 * <p>Every byte access goes through {@link GuestMemory}, whose bounds check stands behind the page
 * list the {@link Gpadl} validated; data accesses take a ring offset below {@link #size} and a length
 * up to {@link #size}, and wrap at the end of the data area.
 *
 * <p>Thread-safety: immutable; the bytes it reaches are shared with the other side of the channel,
 * and the indices are read with acquire and published with release semantics.
 */
final class Ring {
    static final int WRITE_INDEX = 0;
    static final int READ_INDEX = 4;
    static final int INTERRUPT_MASK = 8;
    static final int PENDING_SEND_SIZE = 12;
    static final int FEATURE_BITS = 64;
    /** Feature bit 0: the writer of this ring sets a pending send size and wants to be signalled. */
    static final int FEATURE_PENDING_SEND_SIZE = 1;

    private final GuestMemory memory;
    private final long control;
    private final long[] dataGpa;
    /** For each data page, how many bytes from its start on are contiguous in guest memory. */
    private final int[] runBytes;
    private final int size;

    Ring(GuestMemory memory, long control, long[] dataGpa) {
        if (dataGpa.length == 0 || dataGpa.length > Gpadl.MAX_PAGES) {
            throw new IllegalArgumentException("a ring needs 1 to " + Gpadl.MAX_PAGES + " data pages, not " + dataGpa.length);
        }
        this.memory = memory;
        this.control = control;
        this.dataGpa = dataGpa.clone();
        this.size = dataGpa.length * GuestMemory.PAGE_SIZE;
        this.runBytes = new int[dataGpa.length];
        for (int p = dataGpa.length - 1; p >= 0; p--) {
            boolean joins = p + 1 < dataGpa.length && dataGpa[p + 1] == dataGpa[p] + GuestMemory.PAGE_SIZE;
            runBytes[p] = GuestMemory.PAGE_SIZE + (joins ? runBytes[p + 1] : 0);
        }
    }

    /** The size of the data area in bytes. */
    int size() {
        return size;
    }

    long controlGpa() {
        return control;
    }

    GuestMemory memory() {
        return memory;
    }

    /** Whether {@code index} is a valid ring index: 8-aligned and inside the data area. */
    boolean valid(int index) {
        return index >= 0 && index < size && (index & 7) == 0;
    }

    /** {@code index + by} wrapped into the data area; {@code 0 <= by <= size}. */
    int advance(int index, int by) {
        int next = index + by;
        return next >= size ? next - size : next;
    }

    /** Bytes between read index {@code r} and write index {@code w}: what the reader may read. */
    int available(int w, int r) {
        return w >= r ? w - r : size - r + w;
    }

    /** Bytes a writer at {@code w} may fill while the reader is at {@code r} (one slot stays free). */
    int free(int w, int r) {
        return r > w ? r - w - 8 : size - (w - r) - 8;
    }

    int writeIndex() throws GuestMemoryException {
        return memory.getIntAcquire(control + WRITE_INDEX);
    }

    void publishWriteIndex(int index) throws GuestMemoryException {
        memory.setIntRelease(control + WRITE_INDEX, index);
    }

    int readIndex() throws GuestMemoryException {
        return memory.getIntAcquire(control + READ_INDEX);
    }

    void publishReadIndex(int index) throws GuestMemoryException {
        memory.setIntRelease(control + READ_INDEX, index);
    }

    int interruptMask() throws GuestMemoryException {
        return memory.getIntAcquire(control + INTERRUPT_MASK);
    }

    void setInterruptMask(int mask) throws GuestMemoryException {
        memory.setIntRelease(control + INTERRUPT_MASK, mask);
    }

    int pendingSendSize() throws GuestMemoryException {
        return memory.getIntAcquire(control + PENDING_SEND_SIZE);
    }

    void setPendingSendSize(int bytes) throws GuestMemoryException {
        memory.setIntRelease(control + PENDING_SEND_SIZE, bytes);
    }

    int featureBits() throws GuestMemoryException {
        return memory.getIntAcquire(control + FEATURE_BITS);
    }

    void setFeatureBits(int bits) throws GuestMemoryException {
        memory.setIntRelease(control + FEATURE_BITS, bits);
    }

    /** The 8 bytes at 8-aligned ring offset {@code at} (never split across pages or the ring's end). */
    long getLong(int at) throws GuestMemoryException {
        return memory.getLong(dataGpa[at >>> GuestMemory.PAGE_SHIFT] + (at & (GuestMemory.PAGE_SIZE - 1)));
    }

    void putLong(int at, long value) throws GuestMemoryException {
        memory.setLong(dataGpa[at >>> GuestMemory.PAGE_SHIFT] + (at & (GuestMemory.PAGE_SIZE - 1)), value);
    }

    /** Copies {@code length} ring bytes from offset {@code at} on, wrapping, into {@code dst}. */
    void read(int at, MemorySegment dst, long dstOffset, int length) throws GuestMemoryException {
        while (length > 0) {
            int page = at >>> GuestMemory.PAGE_SHIFT;
            int within = at & (GuestMemory.PAGE_SIZE - 1);
            int chunk = Math.min(length, runBytes[page] - within);
            memory.read(dataGpa[page] + within, dst, dstOffset, chunk);
            at += chunk;
            if (at == size) {
                at = 0;
            }
            dstOffset += chunk;
            length -= chunk;
        }
    }

    /** Copies {@code length} bytes of {@code src} into the ring from offset {@code at} on, wrapping. */
    void write(int at, MemorySegment src, long srcOffset, int length) throws GuestMemoryException {
        while (length > 0) {
            int page = at >>> GuestMemory.PAGE_SHIFT;
            int within = at & (GuestMemory.PAGE_SIZE - 1);
            int chunk = Math.min(length, runBytes[page] - within);
            memory.write(dataGpa[page] + within, src, srcOffset, chunk);
            at += chunk;
            if (at == size) {
                at = 0;
            }
            srcOffset += chunk;
            length -= chunk;
        }
    }
}
