package org.vhdkit.vhd.edit;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.check.ImageCheck;
import org.vhdkit.vhd.disk.Extent;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.format.BlockAllocationTable;
import org.vhdkit.vhd.format.DiskGeometry;
import org.vhdkit.vhd.format.DiskType;
import org.vhdkit.vhd.format.DynamicHeader;
import org.vhdkit.vhd.format.Footer;
import org.vhdkit.vhd.format.VhdFormatException;
import org.vhdkit.vhd.io.ByteStore;

/**
 * Changes the size of a fixed, dynamic or differencing disk in place: the footer's Current Size and
 * CHS geometry (the Original Size stays what it was at creation), and for a sparse disk the number of
 * entries in its block allocation table.
 *
 * <h2>Shrinking</h2>
 * The range cut off must read as zeros, unless the caller lets its data go: for a fixed disk every
 * byte of it is read, for a sparse one only what its allocation map says some layer holds. A
 * differencing disk never becomes smaller than its parent. Blocks left wholly beyond the new end are
 * unreferenced once the table is cut; the shrink then reclaims their space as
 * {@code vhd check --repair} does ({@link ImageCheck#reclaimLeakedSpace}), so that it leaves a clean
 * image.
 *
 * <h2>Steps, and what a crash between them leaves</h2>
 * Every write is one sector or lies in space nothing refers to yet, and each step is forced to
 * stable storage before the next begins.
 * <ul>
 * <li><b>Fixed, growing:</b> (1) the new footer at the new end; (2) the old footer's sector, now
 * inside the disk, zeroed. A crash between them leaves the disk at its new size with the old footer's
 * 512 bytes at the old end, in space no guest has used yet.</li>
 * <li><b>Fixed, shrinking:</b> (1) the new footer at the new end, inside the range being cut off;
 * (2) the file truncated after it. A crash between them leaves the old size.</li>
 * <li><b>Sparse:</b> (0) the bytes of the last block that lie beyond the smaller of the two sizes are
 * zeroed, so that nothing there can resurface. Growing: (1) the new table entries, 0xFF, in the
 * padding after the table when it has room (Windows pads it to 4 KiB); otherwise a copy of the footer
 * beyond the end of the file (the file still ends in a footer), then a copy of the table with its new
 * entries, ending where that footer begins, in space nothing refers to yet; (2) the header's first sector,
 * pointing at the table and its new number of entries; (3) the trailing footer with the new size;
 * (4) the footer copy at offset 0. Shrinking: (3), (4), then (2), then the entries no longer used are
 * reset to 0xFF so that a later grow cannot resurrect the blocks they pointed at.</li>
 * </ul>
 * Between (2) and (3) (growing) or (4) and (2) (shrinking) the table has more entries than the size
 * needs: a state the specification allows and qemu reads (at the old size, or the new smaller one),
 * but which {@link Vhd#open} refuses, because its check against fuzzed headers allows at most one
 * spare entry. Running the same resize again completes it, whatever step it stopped at; or
 * {@code ImageCheck.repair} ({@code vhd check --repair}) sets the header's count back to what the
 * footer's size needs, which leaves the disk at that size with all its data.
 *
 * <p>Thread-safety: stateless; safe from any thread. The edit holds the file's exclusive lock.
 */
final class Resize {
    /**
     * The creators whose Current Size qemu takes as the size; for the rest it reports the CHS product,
     * unless the geometry is the largest there is.
     */
    private static final Set<String> CREATORS_QEMU_SIZES_EXACTLY = Set.of("win ", "qem2", "d2v ", "d2v\0", "CTXS", "tap\0");
    private static final int CHUNK = 1 << 20;
    /** The field of the refusal of a shrink that would lose data, which a caller may offer to override. */
    static final String DATA_BEYOND_NEW_SIZE = "data beyond the new size";

    private Resize() {
    }

    static ResizeResult run(Path file, long newSize, boolean discardData, ProgressListener progress,
                            Checkpoint checkpoint) throws IOException {
        if (newSize <= 0 || newSize % VirtualDisk.SECTOR_SIZE != 0 || newSize > Vhd.MAX_SIZE) {
            throw new IllegalArgumentException("the new size must be a positive multiple of 512 bytes up to "
                    + Vhd.MAX_SIZE + " (2040 GiB); " + newSize + " is not");
        }
        ImageFile seen;
        try (ByteStore store = ByteStore.open(file, ByteStore.Mode.READ_ONLY)) {
            seen = ImageFile.read(store, true);
        }
        long oldSize = seen.footer.currentSize();
        if (!seen.isFixed()) {
            long entries = Math.ceilDiv(newSize, (long) seen.header().blockSize());
            if (entries > Integer.MAX_VALUE) {
                throw new VhdFormatException(file.toString(), "dynamic header Block Size", -1, "a disk of " + newSize
                        + " bytes in blocks of " + seen.header().blockSize() + " bytes needs " + entries
                        + " table entries, more than a VHD can hold");
            }
        }
        List<String> warnings = new ArrayList<>();
        if (newSize < oldSize) {
            // A fixed shrink stopped after its first step left the new footer at the new end: not data.
            byte[] leftByUs = seen.isFixed() ? newFooter(seen.footer, newSize).encode() : new byte[0];
            checkShrink(file, seen.footer.diskType(), oldSize, newSize, discardData, leftByUs, progress, warnings);
        }
        boolean tableMoved;
        try (ByteStore store = ByteStore.open(file, ByteStore.Mode.READ_WRITE)) {
            ImageFile image = ImageFile.read(store, true);
            if (!image.footer.equals(seen.footer) || !image.dynamicHeader().equals(seen.dynamicHeader())
                    || image.fileSize != seen.fileSize) {
                throw new IOException(file + ": the image changed while it was being checked; nothing was resized."
                        + " Is another program using it?");
            }
            tableMoved = image.isFixed() ? resizeFixed(image, newSize, checkpoint)
                    : resizeSparse(image, newSize, checkpoint);
        }
        if (!seen.isFixed() && newSize < oldSize) {
            ImageCheck.reclaimLeakedSpace(file); // the blocks cut off, now leaked
        }
        Footer footer = seen.footer;
        DiskGeometry geometry = DiskGeometry.forSize(newSize);
        if (newSize != oldSize && newSize != geometry.capacity() && !geometry.equals(DiskGeometry.MAX)
                && !CREATORS_QEMU_SIZES_EXACTLY.contains(footer.creatorApplication())) {
            warnings.add(file + ": qemu takes the size of images made by '"
                    + footer.creatorApplication().replace("\0", "\\0") + "' from the CHS geometry, and will show "
                    + geometry.capacity() + " bytes rather than " + newSize
                    + "; 'vhd set --creator-app win' makes it read the exact size");
        }
        return new ResizeResult(file, seen.footer.diskType(), oldSize, newSize, tableMoved, warnings);
    }

    /**
     * Refuses a shrink that would lose data (unless {@code discardData}) or make a differencing disk
     * smaller than its parent.
     */
    private static void checkShrink(Path file, DiskType type, long oldSize, long newSize, boolean discardData,
                                    byte[] leftByUs, ProgressListener progress, List<String> warnings)
            throws IOException {
        if (discardData && type != DiskType.DIFFERENCING) {
            warnings.add(file + ": whatever the last " + (oldSize - newSize) + " bytes held was discarded");
            return;
        }
        try (VhdDisk disk = Vhd.open(file, OpenOptions.READ_ONLY)) {
            if (disk.parent().isPresent() && newSize < disk.parent().get().size()) {
                throw new VhdFormatException(file.toString(), "new size", -1, "a differencing disk cannot be smaller"
                        + " than its parent " + disk.parent().get().path() + " (" + disk.parent().get().size()
                        + " bytes); asked for " + newSize);
            }
            if (discardData) {
                warnings.add(file + ": whatever the last " + (oldSize - newSize) + " bytes held was discarded");
                return;
            }
            long from = newSize;
            if (leftByUs.length > 0 && from + leftByUs.length <= oldSize) {
                byte[] there = new byte[leftByUs.length];
                disk.read(from, there);
                if (Arrays.equals(there, leftByUs)) {
                    from += leftByUs.length;
                }
            }
            long firstData = firstNonZeroByte(disk, from, oldSize, progress);
            if (firstData >= 0) {
                throw new VhdFormatException(file.toString(), DATA_BEYOND_NEW_SIZE, -1, "the " + (oldSize - newSize)
                        + " bytes that shrinking to " + newSize + " bytes would cut off hold data (the first"
                        + " non-zero byte is at offset " + firstData + "); nothing was changed");
            }
        }
    }

    /** The offset of the first non-zero byte of {@code [from, to)}, or -1. */
    private static long firstNonZeroByte(VirtualDisk disk, long from, long to, ProgressListener progress)
            throws IOException {
        byte[] buffer = new byte[CHUNK];
        for (Extent extent : disk.extents(from, to - from)) {
            if (!extent.isData()) {
                continue;
            }
            for (long at = extent.offset(); at < extent.end(); at += CHUNK) {
                int n = (int) Math.min(CHUNK, extent.end() - at);
                disk.read(at, MemorySegment.ofArray(buffer), 0, n);
                for (int i = 0; i < n; i++) {
                    if (buffer[i] != 0) {
                        return at + i;
                    }
                }
                progress.progress(at + n - from, to - from);
            }
        }
        progress.progress(to - from, to - from);
        return -1;
    }

    private static boolean resizeFixed(ImageFile image, long newSize, Checkpoint checkpoint) throws IOException {
        long oldSize = image.footer.currentSize();
        if (newSize == oldSize) {
            return false;
        }
        ByteStore store = image.store;
        store.writeBytes(newSize, newFooter(image.footer, newSize).encode());
        store.force();
        checkpoint.reached("new footer written");
        if (newSize > oldSize) {
            store.writeBytes(oldSize, new byte[Footer.SIZE]);
        } else {
            store.setSize(newSize + Footer.SIZE);
        }
        store.force();
        checkpoint.reached(newSize > oldSize ? "old footer cleared" : "file truncated");
        return false;
    }

    private static boolean resizeSparse(ImageFile image, long newSize, Checkpoint checkpoint) throws IOException {
        DynamicHeader header = image.header();
        long oldSize = image.footer.currentSize();
        int blockSize = header.blockSize();
        int oldEntries = header.maxTableEntries();
        int newEntries = (int) Math.ceilDiv(newSize, (long) blockSize);
        zeroTailOfLastBlock(image, Math.min(oldSize, newSize));
        checkpoint.reached("tail of the last block zeroed");
        boolean moved = false;
        ImageFile current = image;
        if (newEntries > oldEntries) {
            moved = growTable(image, newEntries, checkpoint);
            current = ImageFile.read(image.store, true); // the trailer may have moved
        }
        if (newSize != oldSize) {
            current.rewriteFooter(newFooter(current.footer, newSize), checkpoint);
        }
        if (newEntries < oldEntries) {
            DynamicHeader smaller = header.withMaxTableEntries(newEntries);
            current.rewriteHeaderFirstSector(smaller);
            checkpoint.reached("header written");
            byte[] unused = new byte[(oldEntries - newEntries) * 4];
            Arrays.fill(unused, (byte) 0xFF);
            image.store.writeBytes(header.tableOffset() + 4L * newEntries, unused);
            image.store.force();
            checkpoint.reached("unused table entries cleared");
        }
        return moved;
    }

    /**
     * Zeroes the bytes of the block holding offset {@code end - 1} that lie at or after {@code end},
     * when that block is allocated: beyond the disk, nobody reads them, but a grow would show them.
     */
    private static void zeroTailOfLastBlock(ImageFile image, long end) throws IOException {
        int blockSize = image.header().blockSize();
        long inBlock = end % blockSize;
        if (inBlock == 0) {
            return;
        }
        int block = (int) (end / blockSize);
        BlockAllocationTable table = image.table();
        if (block >= table.size() || !table.isAllocated(block)) {
            return;
        }
        long data = table.sector(block) * ImageFile.SECTOR + image.bitmapBytes();
        long at = data + inBlock;
        long stop = data + blockSize;
        byte[] zeros = new byte[(int) Math.min(CHUNK, stop - at)];
        for (; at < stop; at += zeros.length) {
            image.store.write(at, MemorySegment.ofArray(zeros), 0, Math.min(zeros.length, stop - at));
        }
        image.store.force();
    }

    /**
     * Gives the table {@code newEntries} entries, in the padding after it when that has room, else in
     * a copy beyond the end of the file; then points the header at it. Returns whether it moved.
     */
    private static boolean growTable(ImageFile image, int newEntries, Checkpoint checkpoint) throws IOException {
        DynamicHeader header = image.header();
        ByteStore store = image.store;
        long table = header.tableOffset();
        long oldEnd = table + 4L * header.maxTableEntries();
        long newEnd = table + 4L * newEntries;
        long room = image.nextUsedAtOrAfter(oldEnd);
        DynamicHeader grown;
        boolean moved = newEnd > room;
        if (!moved) {
            byte[] unallocated = new byte[(int) (Math.min(room, ImageFile.roundUp(newEnd, ImageFile.SECTOR)) - oldEnd)];
            Arrays.fill(unallocated, (byte) 0xFF);
            store.writeBytes(oldEnd, unallocated);
            store.force();
            checkpoint.reached("table entries added");
            grown = header.withMaxTableEntries(newEntries);
        } else {
            // The table ends where the trailer goes, and the next block after it, as new images are laid
            // out: qemu puts its next block right after the table's last sector without clearing what
            // lies there, so there must be nothing there but the footer it moves.
            int length = (int) ImageFile.roundUp(4L * newEntries, ImageFile.SECTOR);
            long newTrailer = image.trailerAfter(image.trailer + length);
            long newTable = newTrailer - length;
            // First a footer at the new end, so that the file ends in one whatever happens next...
            store.writeBytes(newTrailer, image.footer.encode());
            store.force();
            checkpoint.reached("footer moved to the new end");
            // ...then the table, copied with its new entries, where nothing refers to it yet.
            BlockAllocationTable old = image.table();
            BlockAllocationTable copy = new BlockAllocationTable(newEntries);
            for (int block = 0; block < old.size(); block++) {
                copy.set(block, old.sector(block));
            }
            store.writeBytes(newTable, copy.encode(length));
            if (image.trailer < newTable) {
                store.writeBytes(image.trailer, new byte[Footer.SIZE]); // the old trailer, now just a stale copy
            }
            store.force();
            checkpoint.reached("table copied");
            grown = header.withTableOffset(newTable).withMaxTableEntries(newEntries);
        }
        image.rewriteHeaderFirstSector(grown);
        checkpoint.reached("header written");
        return moved;
    }

    /** The footer of a disk of {@code size} bytes: Current Size and geometry; the Original Size is kept. */
    private static Footer newFooter(Footer footer, long size) {
        return footer.withCurrentSize(size).withGeometry(DiskGeometry.forSize(size));
    }
}
