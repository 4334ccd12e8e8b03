package org.vhdkit.vhd.content;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.vhdkit.vhd.disk.Extent;
import org.vhdkit.vhd.disk.VirtualDisk;

/**
 * Reads a disk's contents a window at a time into one reused native buffer, reading only what
 * {@link VirtualDisk#extents} says some layer holds: ranges that nothing holds are zeros without a
 * read, and a window that is all such ranges is not touched at all.
 *
 * <p>Neighbouring data extents (of any layers) are read with one call, so that the disk can serve
 * a differencing chain's mix of layers as it likes.
 *
 * <p>The buffer is native memory because a file's {@code ByteStore} then reads large runs with
 * {@code pread} straight into it: one copy out of the page cache, where copying a mapping of the
 * file into a heap array cost about five times the CPU (page faults on the mapping; 0.9-1.4 s
 * against 0.17 s per GiB measured, BENCHMARKS.md's Digest section). Its arena is automatic (freed
 * with the reader), so that other threads (BLAKE3's pool) may read it.
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
    private final MemorySegment segment = Arena.ofAuto().allocate(WINDOW, 4096);

    ContentReader(VirtualDisk disk) {
        this.disk = disk;
    }

    /**
     * Brings the {@code length} bytes at {@code offset} (at most {@link #WINDOW}) into
     * {@link #segment()}, from its start.
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
                segment.asSlice(at, runLength).fill((byte) 0);
            }
            i = next;
        }
        return true;
    }

    /** The window last read by {@link #read} when it returned true. */
    MemorySegment segment() {
        return segment;
    }

    /** Zeros, {@link #WINDOW} of them, read-only. Shared by every operation of the JVM. */
    static MemorySegment zeroSegment() {
        return Zeros.SEGMENT;
    }

    /** Made on first use. */
    private static final class Zeros {
        static final MemorySegment SEGMENT = MemorySegment.ofArray(new byte[WINDOW]).asReadOnly();
    }
}
