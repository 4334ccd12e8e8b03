package org.vhdkit.vhd.transform;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.disk.Extent;
import org.vhdkit.vhd.disk.VirtualDisk;

/**
 * Walks a disk from start to end and hands over the bytes that are not zero, in order.
 *
 * <p>The disk's allocation map is asked first, a window at a time: a chunk that only
 * {@link Extent#ZERO} ranges cover is not read at all. A chunk that holds data is read and cut into
 * {@value #PIECE}-byte pieces (the last one of the disk may be shorter); pieces that are all zero are
 * dropped and each run of the others is handed over. So what is handed over is exactly the pieces
 * with a non-zero byte, which is what conversion writes and what measurement counts.
 *
 * <p>Thread-safety: stateless; each call uses its own buffer. The disk must not change while it is
 * walked.
 */
final class DataScan {
    /** The unit in which zeros are found and skipped: a page, and a file system block. */
    static final int PIECE = 4096;
    /** How much is read at once. */
    static final int CHUNK = 1 << 20;
    /** How much of the allocation map is asked for at once (a multiple of {@link #CHUNK}). */
    static final long WINDOW = 64L << 20;

    private static final MemorySegment ZEROS = MemorySegment.ofArray(new byte[PIECE]);

    private DataScan() {
    }

    /** Receives the runs of non-zero pieces. */
    @FunctionalInterface
    interface Sink {
        /**
         * @param offset where the run starts on the disk, a multiple of the piece size
         * @param bytes  the run; valid only during the call
         */
        void data(long offset, MemorySegment bytes) throws IOException;
    }

    /** The piece size for a target of {@code type} with {@code blockSize} (0 unless dynamic). */
    static int pieceFor(ImageType type, int blockSize) {
        return type == ImageType.DYNAMIC ? Math.min(PIECE, blockSize) : PIECE;
    }

    /**
     * Walks all of {@code disk} in pieces of {@code piece} bytes (a power of two from 512 to
     * {@value #PIECE}), telling {@code progress} how many of its bytes are done.
     */
    static void scan(VirtualDisk disk, int piece, ProgressListener progress, Sink sink) throws IOException {
        if (piece < VirtualDisk.SECTOR_SIZE || piece > PIECE || Integer.bitCount(piece) != 1) {
            throw new IllegalArgumentException("piece size " + piece);
        }
        long size = disk.size();
        progress.progress(0, size);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(CHUNK, PIECE);
            for (long window = 0; window < size; window += WINDOW) {
                long windowEnd = Math.min(size, window + WINDOW);
                List<Extent> extents = disk.extents(window, windowEnd - window);
                int first = 0;
                for (long chunk = window; chunk < windowEnd; chunk += CHUNK) {
                    long length = Math.min(CHUNK, windowEnd - chunk);
                    while (first < extents.size() && extents.get(first).end() <= chunk) {
                        first++;
                    }
                    if (holdsData(extents, first, chunk + length)) {
                        disk.read(chunk, buffer, 0, length);
                        handOver(chunk, buffer, length, piece, sink);
                    }
                    progress.progress(chunk + length, size);
                }
            }
        }
    }

    /** Whether an extent from {@code first} on that starts before {@code end} holds data. */
    private static boolean holdsData(List<Extent> extents, int first, long end) {
        for (int i = first; i < extents.size() && extents.get(i).offset() < end; i++) {
            if (extents.get(i).isData()) {
                return true;
            }
        }
        return false;
    }

    /** Hands over the runs of non-zero pieces in {@code buffer[0, length)}, which holds the disk from {@code offset}. */
    private static void handOver(long offset, MemorySegment buffer, long length, int piece, Sink sink)
            throws IOException {
        long runStart = -1;
        for (long at = 0; at < length; at += piece) {
            long n = Math.min(piece, length - at);
            boolean zero = MemorySegment.mismatch(buffer, at, at + n, ZEROS, 0, n) == -1;
            if (!zero && runStart < 0) {
                runStart = at;
            } else if (zero && runStart >= 0) {
                sink.data(offset + runStart, buffer.asSlice(runStart, at - runStart));
                runStart = -1;
            }
        }
        if (runStart >= 0) {
            sink.data(offset + runStart, buffer.asSlice(runStart, length - runStart));
        }
    }

    /** Whether {@code bytes[from, from + length)} are all zero. */
    static boolean isZero(MemorySegment bytes, long from, long length) {
        for (long at = from; at < from + length; at += PIECE) {
            long n = Math.min(PIECE, from + length - at);
            if (MemorySegment.mismatch(bytes, at, at + n, ZEROS, 0, n) != -1) {
                return false;
            }
        }
        return true;
    }
}
