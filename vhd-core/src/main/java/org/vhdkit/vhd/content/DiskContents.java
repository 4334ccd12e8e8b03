package org.vhdkit.vhd.content;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.disk.Extent;
import org.vhdkit.vhd.disk.VirtualDisk;

/**
 * Digests, comparisons and maps of what disks hold: the entry point of this package.
 *
 * <pre>{@code
 * try (VirtualDisk a = Vhd.openReadOnly(Path.of("child.vhd"));
 *      VirtualDisk b = RawDisk.open(Path.of("disk.img"), true)) {
 *     DiskDigest d = DiskContents.digest(a, DigestAlgorithm.SHA256, ProgressListener.NONE);
 *     Comparison c = DiskContents.compare(a, b, CompareOptions.DEFAULT, ProgressListener.NONE);
 *     DiskMap m = DiskContents.map(a);
 * }
 * }</pre>
 *
 * <p>Contents are the disk's virtual bytes, {@code 0} to {@link VirtualDisk#size()}, however they are
 * stored; so every result here is the same for a raw file, a fixed VHD, a dynamic VHD and a
 * differencing chain that hold the same bytes. Ranges that {@link VirtualDisk#extents} reports as
 * {@link Extent#ZERO} are taken as zeros without being read; the rest is read
 * 4 MiB at a time into reused buffers (a digest reads the next window on a thread of its own while
 * it hashes this one).
 *
 * <p>Thread-safety: every method may be called from any thread, on disks that other threads use at
 * the same time; the result then reflects, per window, the bytes before or after a concurrent write.
 */
public final class DiskContents {
    private DiskContents() {
    }

    /**
     * The digest of all of {@code disk}'s contents: for SHA-256 the same as {@code sha256sum} of its
     * bytes written out as a raw file, for BLAKE3 the same as {@code b3sum}.
     *
     * @param progress told of the bytes digested so far, out of {@link VirtualDisk#size()}
     * @throws IOException when the disk cannot be read
     */
    public static DiskDigest digest(VirtualDisk disk, DigestAlgorithm algorithm, ProgressListener progress)
            throws IOException {
        Objects.requireNonNull(algorithm, "algorithm");
        Objects.requireNonNull(progress, "progress");
        DigestAlgorithm.Hasher hasher = algorithm.newHasher();
        long size = disk.size();
        // Two windows: the next one is read on another thread while this one is hashed, so the
        // reading (a copy out of the page cache, about a fifth of SHA-256's time) and the hashing
        // overlap on two cores.
        ContentReader[] readers = {new ContentReader(disk), new ContentReader(disk)};
        ExecutorService ahead = Executors.newSingleThreadExecutor(
                Thread.ofPlatform().daemon().name("vhd-digest-read").factory());
        Future<Boolean> next = null;
        try {
            if (size > 0) {
                next = readAhead(ahead, readers[0], 0, size);
            }
            for (long at = 0, window = 0; at < size; window++) {
                int n = (int) Math.min(ContentReader.WINDOW, size - at);
                ContentReader reader = readers[(int) (window & 1)];
                boolean data = awaitRead(next);
                next = at + n < size ? readAhead(ahead, readers[(int) ((window + 1) & 1)], at + n, size) : null;
                hasher.update(data ? reader.segment() : ContentReader.zeroSegment(), 0, n);
                at += n;
                progress.progress(at, size);
            }
        } finally {
            // Not shutdownNow: an interrupt would close a FileChannel the disk may read through.
            ahead.shutdown();
            if (next != null) {
                // The disk must not be read after this method returns: the caller may close it.
                try {
                    next.get();
                } catch (ExecutionException | CancellationException | InterruptedException ignored) {
                    // already failing
                }
            }
        }
        return new DiskDigest(algorithm, HexFormat.of().formatHex(hasher.finish()), size);
    }

    /** Starts reading the window at {@code at} into {@code reader} on {@code ahead}. */
    private static Future<Boolean> readAhead(ExecutorService ahead, ContentReader reader, long at, long size) {
        int n = (int) Math.min(ContentReader.WINDOW, size - at);
        return ahead.submit(() -> reader.read(at, n));
    }

    /** What {@link ContentReader#read} returned, or its exception, rethrown on this thread. */
    private static boolean awaitRead(Future<Boolean> read) throws IOException {
        try {
            return read.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while reading the disk");
        } catch (ExecutionException e) {
            switch (e.getCause()) {
                case IOException io -> throw io;
                case RuntimeException r -> throw r;
                case Error err -> throw err;
                default -> throw new IOException(e.getCause());
            }
        }
    }

    /**
     * Compares two disks by content: their bytes, not how they store them.
     *
     * <p>Where the sizes differ, the part both have is compared, and then the larger disk's excess:
     * against zeros, or (with {@link CompareOptions#strict()}) as different throughout. Ranges that
     * both disks report as {@link Extent#ZERO} are skipped; a range only one of them holds is
     * compared with zeros without reading the other.
     *
     * @param progress told of the bytes compared so far, out of the larger size; the comparison may
     *                 stop before the end (at the first difference, unless counting)
     * @throws IOException when a disk cannot be read
     */
    public static Comparison compare(VirtualDisk a, VirtualDisk b, CompareOptions options, ProgressListener progress)
            throws IOException {
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(progress, "progress");
        long common = Math.min(a.size(), b.size());
        long total = Math.max(a.size(), b.size());
        ContentReader readerA = new ContentReader(a);
        ContentReader readerB = new ContentReader(b);
        Differences found = new Differences(options.countDifferences());
        for (long at = 0; at < common && found.goOn(); ) {
            int n = (int) Math.min(ContentReader.WINDOW, common - at);
            boolean dataA = readerA.read(at, n);
            boolean dataB = readerB.read(at, n);
            if (dataA || dataB) {
                found.compare(at, dataA ? readerA.segment() : ContentReader.zeroSegment(),
                        dataB ? readerB.segment() : ContentReader.zeroSegment(), n);
            }
            at += n;
            progress.progress(at, total);
        }
        if (total > common && found.goOn()) {
            if (options.strict()) {
                // The smaller disk has no bytes here: every one of the larger disk's differs.
                found.add(common, (total - common) / VirtualDisk.SECTOR_SIZE);
                progress.progress(total, total);
            } else {
                ContentReader larger = a.size() > b.size() ? readerA : readerB;
                for (long at = common; at < total && found.goOn(); ) {
                    int n = (int) Math.min(ContentReader.WINDOW, total - at);
                    if (larger.read(at, n)) {
                        found.compare(at, larger.segment(), ContentReader.zeroSegment(), n);
                    }
                    at += n;
                    progress.progress(at, total);
                }
            }
        }
        return new Comparison(a.size(), b.size(), options.strict(), found.first(),
                options.countDifferences() ? OptionalLong.of(found.sectors) : OptionalLong.empty());
    }

    /** The map of all of {@code disk}; see {@link #map(VirtualDisk, long, long)}. */
    public static DiskMap map(VirtualDisk disk) throws IOException {
        return map(disk, 0, disk.size());
    }

    /**
     * Which parts of the {@code length} bytes at {@code offset} hold data, in which layer, and where
     * in that layer's file: the disk's {@link VirtualDisk#extents}, each split where its bytes stop
     * being contiguous in the layer's file (at block ends, in a dynamic or differencing VHD).
     *
     * @throws java.io.EOFException when the range does not lie inside the disk
     * @throws IOException when the disk's structures cannot be read
     */
    public static DiskMap map(VirtualDisk disk, long offset, long length) throws IOException {
        LayerChain chain = LayerChain.of(disk);
        List<DiskMap.Range> ranges = new ArrayList<>();
        if (length > 0) {
            for (Extent e : disk.extents(offset, length)) {
                if (!e.isData()) {
                    ranges.add(new DiskMap.Range(e.offset(), e.length(), Extent.ZERO, null, OptionalLong.empty()));
                    continue;
                }
                String file = chain.file(e.layer());
                for (long at = e.offset(); at < e.end(); ) {
                    long end = Math.min(e.end(), chain.runEnd(e.layer(), at));
                    append(ranges, new DiskMap.Range(at, end - at, e.layer(), file, chain.fileOffset(e.layer(), at)));
                    at = end;
                }
            }
        }
        return new DiskMap(disk.size(), chain.layers(), ranges);
    }

    /** Adds {@code range}, or grows the last range when {@code range} continues it in the same file. */
    private static void append(List<DiskMap.Range> ranges, DiskMap.Range range) {
        if (!ranges.isEmpty()) {
            DiskMap.Range last = ranges.getLast();
            boolean continues = last.layer() == range.layer() && last.end() == range.offset()
                    && last.fileOffset().isPresent() && range.fileOffset().isPresent()
                    && last.fileOffset().getAsLong() + last.length() == range.fileOffset().getAsLong();
            if (continues) {
                ranges.set(ranges.size() - 1, new DiskMap.Range(last.offset(), last.length() + range.length(),
                        last.layer(), last.file(), last.fileOffset()));
                return;
            }
        }
        ranges.add(range);
    }

    /** The differences found so far. Not thread-safe: one per comparison. */
    private static final class Differences {
        private final boolean counting;
        private long first = -1;
        private long sectors;

        Differences(boolean counting) {
            this.counting = counting;
        }

        /** Whether to keep comparing: until the first difference, or to the end when counting. */
        boolean goOn() {
            return counting || first < 0;
        }

        OptionalLong first() {
            return first < 0 ? OptionalLong.empty() : OptionalLong.of(first);
        }

        /** Records {@code count} differing sectors, the first of them starting at {@code offset}. */
        void add(long offset, long count) {
            if (first < 0) {
                first = offset;
            }
            sectors += count;
        }

        /**
         * Compares the windows {@code x} and {@code y}, which hold the {@code n} bytes at disk offset
         * {@code at} (a multiple of the sector size), and records what differs.
         */
        void compare(long at, MemorySegment x, MemorySegment y, int n) {
            long pos = 0;
            while (pos < n) {
                long mismatch = MemorySegment.mismatch(x, pos, n, y, pos, n);
                if (mismatch < 0) {
                    return;
                }
                long differs = pos + mismatch;
                if (first < 0) {
                    first = at + differs;
                }
                if (!counting) {
                    return;
                }
                sectors++;
                pos = (differs / VirtualDisk.SECTOR_SIZE + 1) * VirtualDisk.SECTOR_SIZE;
            }
        }
    }
}
