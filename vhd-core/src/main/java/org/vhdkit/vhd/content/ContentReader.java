package org.vhdkit.vhd.content;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;
import org.vhdkit.vhd.disk.Extent;
import org.vhdkit.vhd.disk.VirtualDisk;

/**
 * Reads a disk's contents a window at a time into one reused buffer, reading only what
 * {@link VirtualDisk#extents} says some layer holds: ranges that nothing holds are zeros without a
 * read, and a window that is all such ranges is not touched at all.
 *
 * <p>Neighbouring data extents (of any layers) are read with one call, so that the disk can serve
 * a differencing chain's mix of layers as it likes.
 *
 * <p>Not thread-safe: one per operation and thread.
 */
final class ContentReader {
    /**
     * How much is read at once: big enough that per-call costs vanish against the copy and the hash
     * (and a multiple of the usual 2 MiB block), small enough to stay in the CPU's outer cache.
     */
    static final int WINDOW = 4 << 20;

    private final VirtualDisk disk;
    private final byte[] buffer = new byte[WINDOW];
    private final MemorySegment segment = MemorySegment.ofArray(buffer);

    ContentReader(VirtualDisk disk) {
        this.disk = disk;
    }

    /**
     * Brings the {@code length} bytes at {@code offset} (at most {@link #WINDOW}) into
     * {@link #buffer()}, from its start.
     *
     * @return true when some of the bytes are held by a layer and the buffer now holds all of
     *     them; false when nothing holds any of them: they are all zero, and the buffer was left as
     *     it was
     */
    boolean read(long offset, int length) throws IOException {
        if (length > WINDOW) {
            throw new IllegalArgumentException("a window of " + length + " bytes is larger than " + WINDOW);
        }
        List<Extent> extents = disk.extents(offset, length);
        if (extents.stream().noneMatch(Extent::isData)) {
            return false;
        }
        int i = 0;
        while (i < extents.size()) {
            Extent first = extents.get(i);
            long end = first.end();
            int next = i + 1;
            while (next < extents.size() && extents.get(next).isData() == first.isData()) {
                end = extents.get(next).end();
                next++;
            }
            int at = (int) (first.offset() - offset);
            int runLength = (int) (end - first.offset());
            if (first.isData()) {
                disk.read(first.offset(), segment, at, runLength);
            } else {
                Arrays.fill(buffer, at, at + runLength, (byte) 0);
            }
            i = next;
        }
        return true;
    }

    /** The window last read by {@link #read} when it returned true. */
    byte[] buffer() {
        return buffer;
    }

    /** {@link #buffer()} as a memory segment. */
    MemorySegment segment() {
        return segment;
    }

    /** Zeros, {@link #WINDOW} of them: never written. Shared by every operation of the JVM. */
    static byte[] zeros() {
        return Zeros.BYTES;
    }

    /** {@link #zeros()} as a memory segment, read-only. */
    static MemorySegment zeroSegment() {
        return Zeros.SEGMENT;
    }

    /** Made on first use. */
    private static final class Zeros {
        static final byte[] BYTES = new byte[WINDOW];
        static final MemorySegment SEGMENT = MemorySegment.ofArray(BYTES).asReadOnly();
    }
}
