package org.vhdkit.vhd.image;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLongArray;
import org.vhdkit.vhd.LocatorText;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.disk.Extent;
import org.vhdkit.vhd.disk.Extents;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.format.BlockAllocationTable;
import org.vhdkit.vhd.format.DiskType;
import org.vhdkit.vhd.format.DynamicHeader;
import org.vhdkit.vhd.format.Footer;
import org.vhdkit.vhd.io.ByteStore;

/**
 * A dynamic or differencing VHD: a block allocation table in memory, blocks of sector bitmap and
 * data in the file, and for a differencing disk a parent that supplies every sector the disk does
 * not hold.
 *
 * <h2>Reads</h2>
 * Unallocated blocks, and sectors whose bitmap bit is clear, read as zeros in a dynamic disk and
 * from the parent in a differencing one, sector by sector as the bitmap says. A read of allocated
 * data takes no lock: the table entry is read with acquire semantics and the bitmap bit after an
 * acquire fence, so the bytes a writer wrote before publishing them are seen. A block whose bitmap
 * has every bit set (every block of a dynamic disk, and any block written whole) is remembered as
 * such ({@link #wholeBlocks}), and its reads and writes then touch no bitmap at all.
 *
 * <h2>Writes</h2>
 * A write into sectors the block already holds is a plain copy into the file. A write that adds
 * sectors to an allocated block writes the data, then sets their bits, under that block's lock (one
 * of {@link #BITMAP_LOCKS} stripes); when the block's table entry is already in the file and the file
 * does not already hold the bytes below those sectors, the data is forced in between, so that no
 * power cut leaves a bit set over bytes the sector never held; in a differencing disk that write
 * first copies every clear sector of the block from the parent and sets every bit, so a block pays
 * that force once, not at each first write into a part of it. A sector written only in part while
 * its bit is clear is first filled from below (zeros or the parent), so that the rest of it keeps
 * reading the same.
 *
 * <p>A differencing disk takes sectors from its parent in whole bitmap bytes (groups of eight
 * sectors, 4 KiB): the clear sectors of a group a write touches are copied from the parent and the
 * whole byte is set. The format would allow single sectors, but libvhdi (vhdimount, vhdiinfo, and
 * the forensic tools built on it) misreads a clear bit that follows a set bit in the same byte as
 * set, and would show the child's unwritten sectors in place of the parent's. Whole bytes read
 * right everywhere, at the cost of copying up to seven sectors for a small write. (A disk opened
 * without its parent cannot copy from it, and marks only the sectors written.)
 *
 * <h2>Allocation, and what a crash leaves</h2>
 * A new block goes after the last thing in the file, its data 4 KiB-aligned as Windows places it.
 * Under {@link #allocationLock}: (1) the footer is written at the new end of the file (so the file
 * always ends in a valid footer), (2) the block's bitmap and data (in a differencing disk over
 * the parent's data, the whole block: the parent's bytes around the write, every bit set), (3) for
 * a differencing disk, a force, (4) the table entry, written through to the file, then published in memory. Everything is
 * written before the write that caused the allocation returns, so a killed process (whose writes
 * the page cache keeps) loses no acknowledged write: the table in the file names every block a
 * returned write allocated. {@link #flush()} is a force.
 *
 * <p>A power cut keeps whatever subset of the writes since the last force the kernel wrote back.
 * A new block always lies in space that held nothing since the last force (past the file's durable
 * end: the tail a crash left is cut off and forced before it is reused, see {@link #reclaimTail},
 * and repairs and compaction reuse space only with a force between): so for a dynamic disk an entry
 * that reached the disk before the block's data reads zeros where the data did not arrive, as the
 * unallocated block did, never older data. An entry and data that reached the disk without the
 * block's bitmap (all of whose bits it sets) leave the bitmap as the file held it, zeros or the old
 * trailing footer: the block reads zeros, or where a footer byte sets a bit the data of a write since
 * the last flush; {@code check} names that a warning ({@code BITMAP_NOT_WRITTEN}), not damage. An entry that reached the
 * disk while the file's new size did not points past the end of the file: {@code check} reports
 * {@code BLOCK_PAST_END}, and {@code check --repair} clears it (also when blocks allocated before it
 * lost their entries and lie unnamed in the file or run past its end), which loses nothing the
 * file holds.
 * A differencing block's clear bitmap
 * bits read from the parent, and data that did not arrive would read as zeros in place of the
 * parent's, so there the force in step (3) puts bitmap and data on the disk before the entry
 * (skipped where the parent reads zeros under the whole block, as zeros are then what the block read
 * before).
 *
 * <p>Why this and not the table entry held back until the flush (as before, which a kill lost) or a
 * journal: measured, writing the entry through costs the allocating write nothing measurable (a
 * 4-byte copy into a mapped page per 2 MiB block), and a journal would add a replay that other
 * tools (qemu, Windows) do not perform. The force per differencing allocation is the price of the
 * power-cut promise there (see the figures in RELIABILITY.md).
 *
 * <p>Thread-safety: as {@link VirtualDisk}.
 */
final class SparseVhd implements VhdDisk {
    private static final int BITMAP_LOCKS = 64;
    /** Block data is placed at multiples of this, as Windows does. */
    private static final long DATA_ALIGNMENT = 4096;
    private static final int SECTOR_SHIFT = 9;
    /** The most a parent's data is copied into a new block in one piece. */
    private static final long COPY_CHUNK = 1 << 20;

    private final ByteStore store;
    private final String name;
    private final Footer footer;
    private final MemorySegment footerBytes;
    private final DynamicHeader header;
    private final BlockAllocationTable bat;
    /** The parent of a differencing disk; null for a dynamic one. Held from {@link #parents}. */
    private final VhdDisk parent;
    /** The pool {@link #parent} came from; null without a parent. */
    private final ParentPool parents;
    /** Whether this disk opened {@link #parents} for itself (it is the top of its chain), and closes it. */
    private final boolean ownsParents;
    /** A differencing disk opened without its parent: what it does not hold cannot be read. */
    private final boolean detached;
    private final List<String> warnings;

    private final long size;
    private final int blockShift;
    private final long blockSize;
    private final long bitmapBytes;

    /** Guards {@link #nextFree}, {@link #trailer} and the allocation sequence. */
    private final Object allocationLock = new Object();
    /** Where the area of the next new block may start: the end of the last block (or of the metadata). */
    private long nextFree;
    /** Where the trailing footer is, or -1 when there is none (the file was opened from the copy). */
    private long trailer;
    private final Object[] bitmapLocks = new Object[BITMAP_LOCKS];
    /** Sectors per block: bits per bitmap. */
    private final int sectorsPerBlock;
    /**
     * One bit per block, set once the block's bitmap is known to have every bit set: its reads and
     * writes then go straight to its data, touching no bitmap (every block of a dynamic disk that
     * vhdkit, qemu or Windows allocated). While the disk is open, bits are only ever set, by this
     * object, so a block once whole stays whole. Learnt from the bitmap at a block's first access,
     * or set by the write that made it whole.
     */
    private final AtomicLongArray wholeBlocks;
    /** One bit per block, set when a block's bitmap was found with a clear bit (reset by learning again after bits are set). */
    private final AtomicLongArray partialBlocks;
    private volatile boolean closed;

    SparseVhd(ByteStore store, Footer footer, DynamicHeader header, BlockAllocationTable bat,
              VhdDisk parent, ParentPool parents, boolean ownsParents, boolean detached, long trailer, long nextFree,
              List<String> warnings) {
        this.store = store;
        this.name = store.path().toString();
        this.footer = footer;
        this.footerBytes = MemorySegment.ofArray(footer.encode());
        this.header = header;
        this.bat = bat;
        this.parent = parent;
        this.parents = parents;
        this.ownsParents = ownsParents;
        this.detached = detached;
        this.warnings = List.copyOf(warnings);
        this.size = footer.currentSize();
        this.blockSize = header.blockSize();
        this.blockShift = Long.numberOfTrailingZeros(blockSize);
        this.bitmapBytes = header.bitmapBytes();
        this.sectorsPerBlock = (int) (blockSize >>> SECTOR_SHIFT);
        this.wholeBlocks = new AtomicLongArray((bat.size() + 63) >>> 6);
        this.partialBlocks = new AtomicLongArray((bat.size() + 63) >>> 6);
        this.trailer = trailer;
        this.nextFree = nextFree;
        for (int i = 0; i < BITMAP_LOCKS; i++) {
            bitmapLocks[i] = new Object();
        }
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Path path() {
        return store.path();
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public boolean isReadOnly() {
        return store.isReadOnly();
    }

    @Override
    public Footer footer() {
        return footer;
    }

    @Override
    public Optional<DynamicHeader> dynamicHeader() {
        return Optional.of(header);
    }

    @Override
    public Optional<BlockAllocationTable> blockAllocationTable() {
        return Optional.of(bat);
    }

    @Override
    public Optional<VhdDisk> parent() {
        return Optional.ofNullable(parent);
    }

    @Override
    public List<LocatorText> parentLocators() throws IOException {
        List<LocatorText> texts = new ArrayList<>();
        for (org.vhdkit.vhd.format.ParentLocator locator : header.locators()) {
            if (!locator.isEmpty()) {
                Optional<String> path = locator.platform().isEmpty() ? Optional.empty()
                        : ParentResolver.readLocator(store, locator, locator.platform().get());
                texts.add(new LocatorText(locator, path));
            }
        }
        return List.copyOf(texts);
    }

    @Override
    public long fileSize() {
        return store.size();
    }

    @Override
    public List<String> warnings() {
        return warnings;
    }

    // ---------------------------------------------------------------- reads

    @Override
    public void read(long offset, MemorySegment dst, long dstOffset, long length) throws IOException {
        Extents.checkRange(this, offset, length);
        while (length > 0) {
            int block = (int) (offset >>> blockShift);
            long inBlock = offset & (blockSize - 1);
            long n = Math.min(length, blockSize - inBlock);
            long bitmapSector = bat.sector(block);
            if (bitmapSector < 0) {
                readBelow(offset, dst, dstOffset, n);
            } else {
                readAllocated(block, bitmapSector << SECTOR_SHIFT, inBlock, offset, dst, dstOffset, n);
            }
            offset += n;
            dstOffset += n;
            length -= n;
        }
    }

    private void readAllocated(int block, long bitmapOffset, long inBlock, long offset, MemorySegment dst,
                               long dstOffset, long length) throws IOException {
        long data = bitmapOffset + bitmapBytes;
        if (whole(block, bitmapOffset)) {
            store.read(data + inBlock, dst, dstOffset, length);
            return;
        }
        long end = inBlock + length;
        int endSector = (int) ((end + VirtualDisk.SECTOR_SIZE - 1) >>> SECTOR_SHIFT);
        long at = inBlock;
        while (at < end) {
            int sector = (int) (at >>> SECTOR_SHIFT);
            boolean held = SectorBitmap.isSet(store, bitmapOffset, sector);
            int runEnd = SectorBitmap.runEnd(store, bitmapOffset, sector + 1, endSector, held);
            long until = Math.min(end, (long) runEnd << SECTOR_SHIFT);
            long skip = at - inBlock;
            if (held) {
                VarHandle.acquireFence(); // the bit was set after the data was written
                store.read(data + at, dst, dstOffset + skip, until - at);
            } else {
                readBelow(offset + skip, dst, dstOffset + skip, until - at);
            }
            at = until;
        }
    }

    /**
     * The part of the range inside its first block, when that block is allocated and holds every
     * sector itself ({@link #whole}): those bytes lie in the file as they are, after the block's
     * bitmap.
     */
    @Override
    public long sendable(long offset, long length) throws IOException {
        return dataOffset(offset, length) < 0 ? 0 : Math.min(length, blockSize - (offset & (blockSize - 1)));
    }

    @Override
    public long transferTo(long offset, long length, WritableByteChannel target) throws IOException {
        long at = dataOffset(offset, length);
        if (at < 0) {
            return 0;
        }
        return store.transferTo(at, Math.min(length, blockSize - (offset & (blockSize - 1))), target);
    }

    /** Where in the file the byte at {@code offset} lies when its block is whole and the store transfers; else -1. */
    private long dataOffset(long offset, long length) throws IOException {
        Extents.checkRange(this, offset, length);
        if (length == 0 || !store.transfers()) {
            return -1;
        }
        int block = (int) (offset >>> blockShift);
        long bitmapSector = bat.sector(block);
        if (bitmapSector < 0) {
            return -1;
        }
        long bitmapOffset = bitmapSector << SECTOR_SHIFT;
        return whole(block, bitmapOffset) ? bitmapOffset + bitmapBytes + (offset & (blockSize - 1)) : -1;
    }

    /** Reads what lies under this disk: the parent's bytes, or zeros. */
    private void readBelow(long offset, MemorySegment dst, long dstOffset, long length) throws IOException {
        if (detached) {
            throw new IOException(name + ": the " + length + " bytes at offset " + offset
                    + " come from the parent, which was not opened (OpenOptions.withoutParent)");
        }
        if (parent == null) {
            dst.asSlice(dstOffset, length).fill((byte) 0);
            return;
        }
        long fromParent = Math.max(0, Math.min(length, parent.size() - offset));
        if (fromParent > 0) {
            parent.read(offset, dst, dstOffset, fromParent);
        }
        if (fromParent < length) {
            // A child grown past its parent: the parent has nothing there.
            dst.asSlice(dstOffset + fromParent, length - fromParent).fill((byte) 0);
        }
    }

    // ---------------------------------------------------------------- writes

    @Override
    public void write(long offset, MemorySegment src, long srcOffset, long length) throws IOException {
        ensureWritable();
        Extents.checkRange(this, offset, length);
        while (length > 0) {
            int block = (int) (offset >>> blockShift);
            long inBlock = offset & (blockSize - 1);
            long n = Math.min(length, blockSize - inBlock);
            long bitmapSector = bat.sector(block);
            if (bitmapSector < 0) {
                allocateAndWrite(block, inBlock, offset, src, srcOffset, n);
            } else {
                writeAllocated(block, bitmapSector << SECTOR_SHIFT, inBlock, offset, src, srcOffset, n);
            }
            offset += n;
            srcOffset += n;
            length -= n;
        }
    }

    private void writeAllocated(int block, long bitmapOffset, long inBlock, long offset, MemorySegment src,
                                long srcOffset, long length) throws IOException {
        int first = (int) (inBlock >>> SECTOR_SHIFT);
        int end = (int) ((inBlock + length + VirtualDisk.SECTOR_SIZE - 1) >>> SECTOR_SHIFT);
        if (whole(block, bitmapOffset) || SectorBitmap.runEnd(store, bitmapOffset, first, end, true) == end) {
            store.write(bitmapOffset + bitmapBytes + inBlock, src, srcOffset, length);
            return;
        }
        synchronized (bitmapLocks[block & (BITMAP_LOCKS - 1)]) {
            writeAndMark(bitmapOffset, inBlock, offset, src, srcOffset, length, true, false);
        }
    }

    /**
     * Writes into an allocated block and sets the bits of the sectors written, filling from below
     * any sector written in part whose bit was clear. The caller holds the block's lock (or the
     * allocation lock, for a block not yet published).
     *
     * <p>When the block's table entry is already in the file ({@code saved}), the data is forced
     * before the bits are set, unless the file already holds below every clear sector to be marked
     * what lies below it: the page cache writes pages back in any order, and a bit that reached the
     * disk before its sector's data would make the sector read what the file held there before
     * (zeros, or a block that once stood in reused space) in place of the parent's bytes after a
     * power cut. Where the file holds the parent's bytes (or zeros over zeros) that is harmless, and
     * the force, which would cost every such write a trip to the disk, is skipped. A block being
     * allocated ({@code saved} false) needs no force here: the allocation forces its bitmap and data
     * before its entry is written (see the class comment); every published block's entry is in the
     * file already.
     *
     * <p>When that force is due in a differencing disk, every clear sector of the block is copied from
     * below and marked with it, so the block's first such write pays the only force it will ever need:
     * the next writes into it find their bits set and are plain copies (without this, sequential 4 KiB
     * writes over a parent's data paid a force each, about 100 a second). {@code fillBlock} does the
     * same for a block being allocated, whose space reads zeros: only the parent's data is copied.
     */
    private void writeAndMark(long bitmapOffset, long inBlock, long offset, MemorySegment src, long srcOffset,
                              long length, boolean saved, boolean fillBlock) throws IOException {
        long data = bitmapOffset + bitmapBytes;
        long end = inBlock + length;
        int first = (int) (inBlock >>> SECTOR_SHIFT);
        int last = (int) ((end - 1) >>> SECTOR_SHIFT);
        int markFrom = first;
        int markTo = last + 1;
        long blockStart = offset - inBlock;
        if (parent != null) {
            markFrom = first & ~7;
            markTo = Math.min((int) (blockSize >>> SECTOR_SHIFT), (last | 7) + 1);
        }
        boolean forceFirst = saved && !clearSectorsHoldWhatIsBelow(bitmapOffset, blockStart, markFrom, markTo);
        if (parent != null && fillBlock) {
            markFrom = 0;
            markTo = (int) (blockSize >>> SECTOR_SHIFT);
            copyParentDataInto(data, blockStart, 0, (long) first << SECTOR_SHIFT);
            copyParentDataInto(data, blockStart, (long) (last + 1) << SECTOR_SHIFT, blockSize);
        } else if (parent != null) {
            if (forceFirst) {
                markFrom = 0; // one force for the whole block (see above)
                markTo = (int) (blockSize >>> SECTOR_SHIFT);
            }
            copyClearSectorsFromBelow(bitmapOffset, blockStart, markFrom, first);
            copyClearSectorsFromBelow(bitmapOffset, blockStart, last + 1, markTo);
        }
        long at = inBlock;
        if ((at & (VirtualDisk.SECTOR_SIZE - 1)) != 0 || end < ((long) first + 1) << SECTOR_SHIFT) {
            at = writePartialSector(bitmapOffset, first, inBlock, end, offset, src, srcOffset);
        }
        long tailStart = (long) last << SECTOR_SHIFT;
        boolean partialTail = at < end && last != first && (end & (VirtualDisk.SECTOR_SIZE - 1)) != 0;
        long middleEnd = partialTail ? tailStart : end;
        if (at < middleEnd) {
            store.write(data + at, src, srcOffset + (at - inBlock), middleEnd - at);
        }
        if (partialTail) {
            writePartialSector(bitmapOffset, last, tailStart, end, offset + (tailStart - inBlock),
                    src, srcOffset + (tailStart - inBlock));
        }
        if (forceFirst) {
            store.force(); // the data durable before the bits that make it visible after a power cut
        }
        VarHandle.releaseFence(); // the data before the bits that make it visible
        SectorBitmap.set(store, bitmapOffset, markFrom, markTo);
        learnWhole((int) (blockStart >>> blockShift), bitmapOffset);
    }

    /**
     * Whether every sector of the allocated block {@code block}, whose bitmap is at {@code
     * bitmapOffset}, is in it: from {@link #wholeBlocks} or {@link #partialBlocks}, or else read from
     * the bitmap once and remembered. Allocation-free once known.
     */
    private boolean whole(int block, long bitmapOffset) throws IOException {
        long bit = 1L << block;
        if ((wholeBlocks.get(block >>> 6) & bit) != 0) {
            return true; // a volatile read: the data written before the mark is seen
        }
        return (partialBlocks.get(block >>> 6) & bit) == 0 && learnWhole(block, bitmapOffset);
    }

    /** Reads the block's bitmap and remembers whether it is whole; after bits are set, under the block's lock. */
    private boolean learnWhole(int block, long bitmapOffset) throws IOException {
        boolean whole = SectorBitmap.isWhole(store, bitmapOffset, sectorsPerBlock);
        VarHandle.acquireFence(); // the bits were set after their data: the data comes before the mark
        (whole ? wholeBlocks : partialBlocks).getAndAccumulate(block >>> 6, 1L << block, (a, b) -> a | b);
        return whole;
    }

    /**
     * Whether the file holds, under every sector of {@code [from, to)} whose bit is clear, the bytes
     * that lie below it (the parent's, or zeros): then a bit that reaches the disk before the data
     * written under it still makes the sector read a value it held. False for a disk opened without
     * its parent, whose bytes below cannot be read. The caller holds the block's lock.
     */
    private boolean clearSectorsHoldWhatIsBelow(long bitmapOffset, long blockStart, int from, int to)
            throws IOException {
        if (detached) {
            return false;
        }
        long data = bitmapOffset + bitmapBytes;
        int sector = from;
        while (sector < to) {
            int clearEnd = SectorBitmap.runEnd(store, bitmapOffset, sector, to, false);
            if (clearEnd > sector) {
                int length = (clearEnd - sector) << SECTOR_SHIFT;
                long at = (long) sector << SECTOR_SHIFT;
                byte[] below = new byte[length];
                readBelow(blockStart + at, MemorySegment.ofArray(below), 0, length);
                if (!Arrays.equals(below, store.readBytes(data + at, length))) {
                    return false;
                }
                sector = clearEnd;
            } else {
                sector = SectorBitmap.runEnd(store, bitmapOffset, sector, to, true);
            }
        }
        return true;
    }

    /**
     * Copies into the block, from below, every sector in {@code [from, to)} whose bit is clear, so
     * that their bits can be set without changing what they read. {@code blockStart} is the disk
     * offset of the block. The caller holds the block's lock.
     */
    private void copyClearSectorsFromBelow(long bitmapOffset, long blockStart, int from, int to) throws IOException {
        long data = bitmapOffset + bitmapBytes;
        int sector = from;
        while (sector < to) {
            int clearEnd = SectorBitmap.runEnd(store, bitmapOffset, sector, to, false);
            if (clearEnd > sector) {
                int count = clearEnd - sector;
                MemorySegment sectors = MemorySegment.ofArray(new byte[count << SECTOR_SHIFT]);
                readBelow(blockStart + ((long) sector << SECTOR_SHIFT), sectors, 0, sectors.byteSize());
                store.write(data + ((long) sector << SECTOR_SHIFT), sectors);
                sector = clearEnd;
            } else {
                sector = SectorBitmap.runEnd(store, bitmapOffset, sector, to, true);
            }
        }
    }

    /**
     * Copies the parent's data under {@code [from, until)} of the block at disk offset {@code blockStart}
     * into the block's data at {@code data}, skipping what the parent reads as zeros: the caller
     * allocates the block in space that reads zeros. The caller holds the allocation lock.
     */
    private void copyParentDataInto(long data, long blockStart, long from, long until) throws IOException {
        long end = Math.min(until, parent.size() - blockStart);
        if (end <= from) {
            return;
        }
        MemorySegment buffer = null;
        for (Extent extent : parent.extents(blockStart + from, end - from)) {
            if (!extent.isData()) {
                continue;
            }
            if (buffer == null) {
                buffer = MemorySegment.ofArray(new byte[(int) Math.min(COPY_CHUNK, end - from)]);
            }
            for (long at = extent.offset(); at < extent.end(); at += buffer.byteSize()) {
                long n = Math.min(buffer.byteSize(), extent.end() - at);
                parent.read(at, buffer, 0, n);
                store.write(data + (at - blockStart), buffer, 0, n);
            }
        }
    }

    /**
     * Writes the bytes {@code [from, until)} of a block that fall in {@code sector}; when the sector's
     * bit is clear, its other bytes are taken from below first. {@code offset} and {@code srcOffset}
     * correspond to {@code from}. Returns where the sector ends (or {@code until}).
     */
    private long writePartialSector(long bitmapOffset, int sector, long from, long until, long offset,
                                    MemorySegment src, long srcOffset) throws IOException {
        long sectorStart = (long) sector << SECTOR_SHIFT;
        long sectorEnd = sectorStart + VirtualDisk.SECTOR_SIZE;
        long stop = Math.min(until, sectorEnd);
        long data = bitmapOffset + bitmapBytes;
        if (SectorBitmap.isSet(store, bitmapOffset, sector)) {
            store.write(data + from, src, srcOffset, stop - from);
        } else {
            MemorySegment whole = MemorySegment.ofArray(new byte[VirtualDisk.SECTOR_SIZE]);
            readBelow(offset - (from - sectorStart), whole, 0, VirtualDisk.SECTOR_SIZE);
            MemorySegment.copy(src, srcOffset, whole, from - sectorStart, stop - from);
            store.write(data + sectorStart, whole);
        }
        return stop;
    }

    private void allocateAndWrite(int block, long inBlock, long offset, MemorySegment src, long srcOffset,
                                  long length) throws IOException {
        synchronized (allocationLock) {
            long existing = bat.sector(block);
            if (existing >= 0) { // another thread allocated it meanwhile
                writeAllocated(block, existing << SECTOR_SHIFT, inBlock, offset, src, srcOffset, length);
                return;
            }
            reclaimTail();
            long bitmapOffset = alignedBitmapOffset(nextFree);
            long data = bitmapOffset + bitmapBytes;
            long end = data + blockSize;
            // 1. The footer at the new end: from here on the file ends in a valid footer again.
            store.write(end, footerBytes);
            if (trailer >= 0 && trailer < bitmapOffset) {
                // The old trailer is left in the alignment gap: clear it so nothing mistakes it for one.
                store.write(trailer, MemorySegment.ofArray(new byte[Footer.SIZE]));
            }
            trailer = end;
            nextFree = end;
            // 2. Bitmap and data. Everything between the old end and the new footer reads as zero.
            if (footer.diskType() == DiskType.DYNAMIC) {
                // Dynamic: the block holds every sector (the unwritten ones are zeros), as Windows marks it.
                store.writeBytes(bitmapOffset, SectorBitmap.full((int) bitmapBytes));
                store.write(data + inBlock, src, srcOffset, length);
                wholeBlocks.getAndAccumulate(block >>> 6, 1L << block, (a, b) -> a | b); // published with the entry
            } else {
                // Differencing: over a parent that reads zeros under the whole block, mark only what is
                // written (the rest still comes from the parent); over the parent's data, copy that
                // data into the block and mark it all, so that this allocation's force is the block's
                // last (a partly marked block pays one at each first write into its clear sectors).
                boolean zeros = zerosBelow(offset - inBlock);
                store.writeBytes(bitmapOffset, new byte[(int) bitmapBytes]);
                writeAndMark(bitmapOffset, inBlock, offset, src, srcOffset, length, false, !zeros);
                // 3. Bitmap and data durable before the entry that makes them visible: a set bit whose
                // data a power cut lost would read zeros in place of the parent's sectors (needless
                // where the parent reads zeros there too).
                if (!zeros) {
                    store.force();
                }
            }
            // 4. The entry, through to the file (a killed process loses nothing), then in memory.
            writeEntry(block, bitmapOffset >>> SECTOR_SHIFT);
        }
    }

    /** Whether every byte under the block at disk offset {@code blockStart} reads as zero from below. */
    private boolean zerosBelow(long blockStart) throws IOException {
        if (parent == null) {
            return !detached;
        }
        long length = Math.min(blockSize, parent.size() - blockStart);
        if (length <= 0) {
            return true;
        }
        for (Extent extent : parent.extents(blockStart, length)) {
            if (extent.isData()) {
                return false;
            }
        }
        return true;
    }

    /**
     * Writes block {@code block}'s table entry into the file and then publishes it in memory. When the
     * file write fails the block stays unallocated (its space a leak) and the entry in the file is put
     * back to unallocated if it can be (a torn write may have changed part of it); the caller's write
     * fails. Holds allocationLock.
     */
    private void writeEntry(int block, long bitmapSector) throws IOException {
        long at = header.tableOffset() + 4L * block;
        byte[] entry = {(byte) (bitmapSector >>> 24), (byte) (bitmapSector >>> 16), (byte) (bitmapSector >>> 8),
            (byte) bitmapSector};
        try {
            store.writeBytes(at, entry);
        } catch (IOException | RuntimeException e) {
            try {
                store.writeBytes(at, new byte[] {-1, -1, -1, -1});
            } catch (IOException | RuntimeException again) {
                e.addSuppressed(again);
            }
            throw e;
        }
        bat.set(block, bitmapSector);
    }

    /**
     * Cuts off the space between the last block and the trailing footer that no table entry names,
     * before the first new block would be placed after it. A process killed in the middle of an
     * allocation, or a power cut that kept the footer but not the entry, leaves exactly that; appending after it would turn a tail that
     * {@code check --repair} cuts off into a gap inside the file that only a compaction closes. The
     * footer is written at the end of the last block and made durable before the file is cut after
     * it, so a crash in between leaves a file with a valid footer at its end either way. Holds
     * allocationLock.
     */
    private void reclaimTail() throws IOException {
        if (trailer <= nextFree) {
            return; // the usual case: only the first allocation after opening a crashed image gets here
        }
        store.write(nextFree, footerBytes);
        store.force();
        store.setSize(nextFree + Footer.SIZE);
        store.force();
        trailer = nextFree;
    }

    /** The first bitmap position at or after {@code from} whose block data is 4 KiB-aligned. */
    private long alignedBitmapOffset(long from) {
        long dataStart = from + bitmapBytes;
        long aligned = (dataStart + DATA_ALIGNMENT - 1) & -DATA_ALIGNMENT;
        return aligned - bitmapBytes;
    }

    @Override
    public void flush() throws IOException {
        ensureOpen();
        if (isReadOnly()) {
            return;
        }
        store.force(); // every entry is in the file already: the flush makes it and its block durable
    }

    /** The store's writeback of this file: blocks, bitmaps and table entries alike. Not the parents': they are not written. */
    @Override
    public void startWriteback() throws IOException {
        ensureOpen();
        store.startWriteback();
    }

    // ---------------------------------------------------------------- allocation map

    @Override
    public List<Extent> extents(long offset, long length) throws IOException {
        Extents.checkRange(this, offset, length);
        Extents extents = new Extents();
        while (length > 0) {
            int block = (int) (offset >>> blockShift);
            long inBlock = offset & (blockSize - 1);
            long n = Math.min(length, blockSize - inBlock);
            long bitmapSector = bat.sector(block);
            if (bitmapSector < 0) {
                below(extents, offset, n);
            } else if (whole(block, bitmapSector << SECTOR_SHIFT)) {
                extents.add(offset, n, 0); // as reads do: a whole block's bitmap is not read sector by sector
            } else {
                long bitmapOffset = bitmapSector << SECTOR_SHIFT;
                long end = inBlock + n;
                int endSector = (int) ((end + VirtualDisk.SECTOR_SIZE - 1) >>> SECTOR_SHIFT);
                long at = inBlock;
                while (at < end) {
                    int sector = (int) (at >>> SECTOR_SHIFT);
                    boolean held = SectorBitmap.isSet(store, bitmapOffset, sector);
                    int runEnd = SectorBitmap.runEnd(store, bitmapOffset, sector + 1, endSector, held);
                    long until = Math.min(end, (long) runEnd << SECTOR_SHIFT);
                    if (held) {
                        extents.add(offset + (at - inBlock), until - at, 0);
                    } else {
                        below(extents, offset + (at - inBlock), until - at);
                    }
                    at = until;
                }
            }
            offset += n;
            length -= n;
        }
        return extents.build();
    }

    private void below(Extents extents, long offset, long length) throws IOException {
        if (detached) {
            extents.add(offset, length, 1); // the parent's, whatever it holds
            return;
        }
        if (parent == null) {
            extents.add(offset, length, Extent.ZERO);
            return;
        }
        long fromParent = Math.max(0, Math.min(length, parent.size() - offset));
        if (fromParent > 0) {
            extents.addFromParent(parent.extents(offset, fromParent));
        }
        extents.add(offset + fromParent, length - fromParent, Extent.ZERO);
    }

    // ---------------------------------------------------------------- lifecycle

    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        try {
            if (!isReadOnly()) {
                flush();
            }
        } finally {
            closed = true;
            try {
                store.close();
            } finally {
                releaseParent();
            }
        }
    }

    /** Lets go of the parent, and closes the pool it came from when this disk opened that for itself. */
    private void releaseParent() throws IOException {
        if (parent == null) {
            return;
        }
        try {
            parents.release(parent);
        } finally {
            if (ownsParents) {
                parents.close();
            }
        }
    }

    private void ensureOpen() throws IOException {
        if (closed) {
            throw new java.nio.channels.ClosedChannelException();
        }
    }

    private void ensureWritable() throws IOException {
        ensureOpen();
        if (isReadOnly()) {
            throw new IOException(name + ": opened read-only; refusing to write");
        }
    }

    @Override
    public String toString() {
        return "SparseVhd[" + name + ", " + footer.diskType() + (detached ? ", parent not open" : "") + "]";
    }
}
