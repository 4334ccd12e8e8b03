package org.vhdkit.vhd.transform;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
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
 * <p>Thread-safety: stateless; each call uses its own buffers ({@link #scanAhead} also its own reader
 * thread). The disk must not change while it is walked; {@link #scanAhead} reads it from another
 * thread, which a {@link VirtualDisk} allows.
 */
final class DataScan {
    /** The unit in which zeros are found and skipped: a page, and a file system block. */
    static final int PIECE = 4096;
    /** How much is read at once. */
    static final int CHUNK = 2 << 20;
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
        checkPiece(piece);
        long size = disk.size();
        progress.progress(0, size);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(CHUNK, PIECE);
            chunks(disk, (chunk, length, data) -> {
                if (data) {
                    disk.read(chunk, buffer, 0, length);
                    handOver(chunk, buffer, length, piece, sink);
                }
                progress.progress(chunk + length, size);
                return true;
            });
        }
    }

    /**
     * As {@link #scan}, with the reading and the search for zeros on a thread of its own that keeps
     * up to {@value #AHEAD} chunks ready ahead of {@code sink}, which runs on the calling thread: a
     * conversion reads the source while it writes the target, as qemu-img keeps several requests in
     * flight. The reader stops when the sink throws, and has stopped when this returns.
     *
     * @throws IOException what reading the disk or the sink threw
     */
    static void scanAhead(VirtualDisk disk, int piece, ProgressListener progress, Sink sink) throws IOException {
        checkPiece(piece);
        long size = disk.size();
        progress.progress(0, size);
        try (Arena arena = Arena.ofShared()) {
            BlockingQueue<MemorySegment> free = new ArrayBlockingQueue<>(AHEAD);
            for (int i = 0; i < AHEAD; i++) {
                free.add(arena.allocate(CHUNK, PIECE));
            }
            BlockingQueue<Chunk> ready = new ArrayBlockingQueue<>(AHEAD + 1);
            AtomicBoolean stop = new AtomicBoolean();
            Thread reader = Thread.ofPlatform().daemon().name("vhd-scan-reader").start(() -> {
                try {
                    chunks(disk, (chunk, length, data) -> {
                        MemorySegment buffer = null;
                        long[] runs = NO_RUNS;
                        if (data) {
                            while (buffer == null) {
                                if (stop.get()) {
                                    return false;
                                }
                                buffer = free.poll(100, TimeUnit.MILLISECONDS);
                            }
                            disk.read(chunk, buffer, 0, length);
                            runs = runs(buffer, length, piece);
                        }
                        return put(ready, new Chunk(chunk, length, buffer, runs, null), stop);
                    });
                    put(ready, Chunk.END, stop);
                } catch (IOException | RuntimeException | Error e) {
                    putFailure(ready, e);
                } catch (InterruptedException e) {
                    putFailure(ready, new InterruptedIOException("interrupted while reading " + disk.name()));
                }
            });
            try {
                for (Chunk next = take(ready); next != Chunk.END; next = take(ready)) {
                    if (next.failure() != null) {
                        throw rethrown(next.failure());
                    }
                    for (int i = 0; i < next.runs().length; i += 2) {
                        sink.data(next.offset() + next.runs()[i], next.buffer().asSlice(next.runs()[i], next.runs()[i + 1]));
                    }
                    if (next.buffer() != null) {
                        free.add(next.buffer());
                    }
                    progress.progress(next.offset() + next.length(), size);
                }
            } finally {
                stop.set(true); // the reader sees it within 100 ms wherever it waits
                joinUninterruptibly(reader);
            }
        }
    }

    /** A chunk read ahead: its runs of non-zero pieces as (start, length) pairs within {@code buffer}. */
    private record Chunk(long offset, long length, MemorySegment buffer, long[] runs, Throwable failure) {
        static final Chunk END = new Chunk(-1, 0, null, NO_RUNS, null);
    }

    private static final long[] NO_RUNS = new long[0];
    /** How many chunks the reader of {@link #scanAhead} keeps ready. */
    static final int AHEAD = 4;

    private static Chunk take(BlockingQueue<Chunk> ready) throws InterruptedIOException {
        try {
            return ready.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted");
        }
    }

    /** Puts {@code chunk} in the queue, unless the writer stopped meanwhile; whether it did. */
    private static boolean put(BlockingQueue<Chunk> ready, Chunk chunk, AtomicBoolean stop) throws InterruptedException {
        while (!stop.get()) {
            if (ready.offer(chunk, 100, TimeUnit.MILLISECONDS)) {
                return true;
            }
        }
        return false;
    }

    /** Hands the reader's failure over, waiting for room (the writer empties the queue as it stops). */
    private static void putFailure(BlockingQueue<Chunk> ready, Throwable e) {
        Chunk failed = new Chunk(-1, 0, null, NO_RUNS, e);
        while (!ready.offer(failed)) {
            ready.poll();
        }
    }

    private static IOException rethrown(Throwable e) {
        if (e instanceof IOException io) {
            return io;
        }
        if (e instanceof RuntimeException runtime) {
            throw runtime;
        }
        throw (Error) e;
    }

    private static void joinUninterruptibly(Thread thread) {
        boolean interrupted = false;
        while (true) {
            try {
                thread.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Receives each chunk of the disk in order: whether the allocation map says it may hold data. */
    @FunctionalInterface
    private interface ChunkVisitor {
        /** Returns whether to go on. */
        boolean visit(long chunk, long length, boolean data) throws IOException, InterruptedException;
    }

    /** Walks the disk in chunks of {@value #CHUNK}, asking the allocation map a window at a time. */
    private static void chunks(VirtualDisk disk, ChunkVisitor visitor) throws IOException {
        long size = disk.size();
        try {
            for (long window = 0; window < size; window += WINDOW) {
                long windowEnd = Math.min(size, window + WINDOW);
                List<Extent> extents = disk.extents(window, windowEnd - window);
                int first = 0;
                for (long chunk = window; chunk < windowEnd; chunk += CHUNK) {
                    long length = Math.min(CHUNK, windowEnd - chunk);
                    while (first < extents.size() && extents.get(first).end() <= chunk) {
                        first++;
                    }
                    if (!visitor.visit(chunk, length, holdsData(extents, first, chunk + length))) {
                        return;
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted");
        }
    }

    private static void checkPiece(int piece) {
        if (piece < VirtualDisk.SECTOR_SIZE || piece > PIECE || Integer.bitCount(piece) != 1) {
            throw new IllegalArgumentException("piece size " + piece);
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
        long[] runs = runs(buffer, length, piece);
        for (int i = 0; i < runs.length; i += 2) {
            sink.data(offset + runs[i], buffer.asSlice(runs[i], runs[i + 1]));
        }
    }

    /** The runs of non-zero pieces in {@code buffer[0, length)}, as (start, length) pairs. */
    private static long[] runs(MemorySegment buffer, long length, int piece) {
        long[] runs = new long[8];
        int count = 0;
        long runStart = -1;
        for (long at = 0; at < length; at += piece) {
            long n = Math.min(piece, length - at);
            boolean zero = MemorySegment.mismatch(buffer, at, at + n, ZEROS, 0, n) == -1;
            if (!zero && runStart < 0) {
                runStart = at;
            } else if (zero && runStart >= 0) {
                runs = add(runs, count, runStart, at - runStart);
                count += 2;
                runStart = -1;
            }
        }
        if (runStart >= 0) {
            runs = add(runs, count, runStart, length - runStart);
            count += 2;
        }
        return Arrays.copyOf(runs, count);
    }

    private static long[] add(long[] runs, int count, long start, long length) {
        long[] to = count == runs.length ? Arrays.copyOf(runs, 2 * count) : runs;
        to[count] = start;
        to[count + 1] = length;
        return to;
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
