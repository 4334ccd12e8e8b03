package org.vhdkit.vhd.transform;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.disk.Extent;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.format.BlockAllocationTable;
import org.vhdkit.vhd.format.DiskType;
import org.vhdkit.vhd.format.DynamicHeader;
import org.vhdkit.vhd.format.Footer;
import org.vhdkit.vhd.format.ParentLocator;
import org.vhdkit.vhd.format.VhdFormatException;
import org.vhdkit.vhd.io.ByteStore;

/**
 * Shrinks a dynamic or differencing VHD to the blocks it needs: Hyper-V's Optimize-VHD.
 *
 * <p>A block is released when it changes nothing: in a dynamic disk, when every sector it holds is
 * zero; in a differencing disk, when every sector it holds (its bitmap's set bits) equals what the
 * parent chain reads there, so the disk reads the same without it. The blocks kept are packed one
 * after another in block order, and unreferenced space (leaks, gaps, garbage after the last block)
 * goes too. The disk's contents do not change.
 *
 * <p>The disk keeps its identity: the footer (unique id, creator fields, time stamp, sizes,
 * geometry, saved state, reserved bytes), the dynamic header (block size, table size, parent UUID,
 * parent time stamp, parent name), each parent locator's data, and the file's modification time and
 * permissions, so that differencing disks made on this one still accept it as their parent. Only
 * structure moves: the header sits at 512, the locator data follows it, then the table, then the
 * blocks with their data 4 KiB-aligned, as the library lays out a new image (see
 * {@code SparseLayout}).
 *
 * <p>Crash safety: the compacted image is written to a new file beside the original and renamed
 * over it only once complete and forced to disk (see the package comment); the original is held
 * open read-only meanwhile, which keeps writers of this library out.
 *
 * <p>Thread-safety: stateless; safe from any thread.
 */
public final class Compaction {
    /** Where the dynamic header goes in the compacted file. */
    private static final long HEADER_OFFSET = Footer.SIZE;
    /** The most locator data copied: a Windows path of 32767 UTF-16 code units, and then some. */
    private static final int MAX_LOCATOR_BYTES = 64 << 10;
    /** The Disk Type field's offset in the footer, for messages. */
    private static final int DISK_TYPE_FIELD = 60;
    private static final int COPY_CHUNK = 1 << 20;

    private Compaction() {
    }

    /**
     * What a compaction did.
     *
     * @param image          the image compacted
     * @param type           dynamic or differencing
     * @param fileSizeBefore the size of the file before
     * @param fileSizeAfter  the size of the file after
     * @param blocksBefore   the blocks allocated before
     * @param blocksAfter    the blocks allocated after
     */
    public record Result(Path image, DiskType type, long fileSizeBefore, long fileSizeAfter, int blocksBefore,
                         int blocksAfter) {
        /** The blocks released: all zero (dynamic) or the same as the parent's (differencing). */
        public int releasedBlocks() {
            return blocksBefore - blocksAfter;
        }
    }

    /**
     * Compacts the dynamic or differencing VHD at {@code image} in place (by replacing the file).
     *
     * @param progress told how many bytes of the virtual disk are done
     * @throws VhdFormatException when the image is fixed, not a VHD, or damaged
     * @throws org.vhdkit.vhd.ParentNotFoundException when a differencing disk's parent is missing
     * @throws IOException when reading or writing fails, or the image is open for writing elsewhere;
     *                     the image is then as it was
     */
    public static Result compact(Path image, ProgressListener progress) throws IOException {
        Objects.requireNonNull(image, "image");
        Objects.requireNonNull(progress, "progress");
        try (VhdDisk disk = open(image);
             ByteStore file = ByteStore.open(image, ByteStore.Mode.READ_ONLY);
             StagedFile staged = StagedFile.beside(image)) {
            if (disk.type() == DiskType.FIXED) {
                throw new VhdFormatException(image.toString(), "footer Disk Type", disk.size() + DISK_TYPE_FIELD,
                        "a fixed disk has no blocks to release; only dynamic and differencing disks can be"
                                + " compacted (convert it to a dynamic disk instead)");
            }
            long before = disk.fileSize();
            int blocksBefore = disk.blockAllocationTable().orElseThrow().allocatedCount();
            FileTime modified = Files.getLastModifiedTime(staged.target());
            int blocksAfter = writeCompacted(disk, file, staged.path(), progress);
            keepAttributes(staged.target(), staged.path(), modified);
            staged.commit(true);
            return new Result(image, disk.type(), before, Files.size(staged.target()), blocksBefore, blocksAfter);
        }
    }

    /** Opens the image read-only, saying plainly when it is not a VHD at all. */
    private static VhdDisk open(Path image) throws IOException {
        try {
            return Vhd.open(image, OpenOptions.READ_ONLY);
        } catch (VhdFormatException e) {
            if (e.field().equals("footer Cookie")) {
                throw new VhdFormatException(e.file(), e.field(), e.offset(), e.problem()
                        + "; the file is not a VHD (a raw image?), and only dynamic and differencing VHDs can be"
                        + " compacted");
            }
            throw e;
        }
    }

    /** A locator's data and where it goes. */
    private record Placed(long offset, byte[] bytes) {
    }

    /** Writes the compacted image into {@code target}; returns how many blocks it kept. */
    private static int writeCompacted(VhdDisk disk, ByteStore file, Path target, ProgressListener progress)
            throws IOException {
        DynamicHeader header = disk.dynamicHeader().orElseThrow();
        BlockAllocationTable oldTable = disk.blockAllocationTable().orElseThrow();
        String name = disk.path().toString();

        // Structure: footer copy, header, locator data, table; the blocks after them.
        long at = HEADER_OFFSET + DynamicHeader.SIZE;
        List<ParentLocator> locators = new ArrayList<>();
        List<Placed> locatorData = new ArrayList<>();
        for (int i = 0; i < header.locators().size(); i++) {
            ParentLocator locator = header.locators().get(i);
            if (locator.isEmpty()) {
                locators.add(locator);
                continue;
            }
            long length = Integer.toUnsignedLong(locator.dataLength());
            if (length > MAX_LOCATOR_BYTES) {
                long lengthAt = disk.footer().dataOffset() + DynamicHeader.LOCATORS_OFFSET + (long) ParentLocator.SIZE * i
                        + ParentLocator.DATA_LENGTH_OFFSET;
                throw new VhdFormatException(name, "dynamic header Parent Locator " + (i + 1) + " Platform Data Length",
                        lengthAt, length + " bytes is more than a parent path"
                                + " can take (" + MAX_LOCATOR_BYTES + "); refusing to copy it");
            }
            int space = locator.dataSpace();
            long spaceBytes = locator.dataSpaceBytes();
            if (spaceBytes > MAX_LOCATOR_BYTES) { // room no path needs: give it what ParentLocator.create would
                spaceBytes = Math.max(VirtualDisk.SECTOR_SIZE, SparseLayout.roundUp(length, VirtualDisk.SECTOR_SIZE));
                space = (int) spaceBytes;
            }
            locators.add(new ParentLocator(locator.platformCode(), space, locator.dataLength(), locator.reserved(), at));
            locatorData.add(new Placed(at, file.readBytes(locator.dataOffset(), (int) length)));
            at += SparseLayout.roundUp(spaceBytes, VirtualDisk.SECTOR_SIZE);
        }
        int entries = header.maxTableEntries();
        SparseLayout layout = SparseLayout.after(at, Integer.toUnsignedLong(entries), header.blockSize());
        long tableOffset = layout.tableOffset();
        DynamicHeader newHeader = new DynamicHeader(header.dataOffset(), tableOffset, header.headerVersion(), entries,
                header.blockSize(), 0, header.parentUuid(), header.parentTimestamp(), header.parentName(), locators,
                header.reserved());
        Footer footer = disk.footer().withDataOffset(HEADER_OFFSET);

        BlockAllocationTable newTable = new BlockAllocationTable(entries);
        int kept = 0;
        long blockBytes = layout.bitmapBytes() + header.blockSize();
        try (ByteStore out = ByteStore.open(target, ByteStore.Mode.CREATE_NEW);
             Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(COPY_CHUNK, DataScan.PIECE);
            MemorySegment below = arena.allocate(COPY_CHUNK, DataScan.PIECE);
            long size = disk.size();
            progress.progress(0, size);
            for (int block = 0; block < entries; block++) {
                long start = (long) block * header.blockSize();
                if (oldTable.isAllocated(block) && start < size
                        && changesContents(disk, start, Math.min(header.blockSize(), size - start), buffer, below)) {
                    long to = layout.bitmapOffset(kept);
                    copyNonZero(file, oldTable.sector(block) * VirtualDisk.SECTOR_SIZE, out, to, blockBytes, buffer);
                    newTable.set(block, to / VirtualDisk.SECTOR_SIZE);
                    kept++;
                }
                progress.progress(Math.min(size, start + header.blockSize()), size);
            }
            byte[] footerBytes = footer.encode();
            out.writeBytes(0, footerBytes);
            out.writeBytes(HEADER_OFFSET, newHeader.encode());
            for (Placed placed : locatorData) {
                out.writeBytes(placed.offset(), placed.bytes());
            }
            out.writeBytes(tableOffset, newTable.encode((int) layout.tableBytes()));
            out.writeBytes(layout.fileSize(kept) - Footer.SIZE, footerBytes);
            out.force();
        }
        return kept;
    }

    /**
     * Whether the block at {@code [start, start + length)} of the disk holds a sector that differs
     * from what lies below it (zeros in a dynamic disk, the parent chain in a differencing one).
     */
    private static boolean changesContents(VhdDisk disk, long start, long length, MemorySegment buffer,
                                           MemorySegment below) throws IOException {
        Optional<VhdDisk> parent = disk.parent();
        for (Extent extent : disk.extents(start, length)) {
            if (extent.layer() != 0) {
                continue;
            }
            for (long at = extent.offset(); at < extent.end(); at += COPY_CHUNK) {
                long n = Math.min(COPY_CHUNK, extent.end() - at);
                disk.read(at, buffer, 0, n);
                if (parent.isEmpty()) {
                    if (!DataScan.isZero(buffer, 0, n)) {
                        return true;
                    }
                } else {
                    readBelow(parent.get(), at, below, n);
                    if (MemorySegment.mismatch(buffer, 0, n, below, 0, n) != -1) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    /** What the parent reads at {@code offset}; zeros past its end (a child may be larger). */
    private static void readBelow(VirtualDisk parent, long offset, MemorySegment dst, long length) throws IOException {
        long fromParent = Math.max(0, Math.min(length, parent.size() - offset));
        if (fromParent > 0) {
            parent.read(offset, dst, 0, fromParent);
        }
        if (fromParent < length) {
            dst.asSlice(fromParent, length - fromParent).fill((byte) 0);
        }
    }

    /** Copies {@code length} bytes, leaving holes where 4 KiB pieces of the source are zero. */
    private static void copyNonZero(ByteStore from, long fromOffset, ByteStore to, long toOffset, long length,
                                    MemorySegment buffer) throws IOException {
        for (long done = 0; done < length; done += COPY_CHUNK) {
            long n = Math.min(COPY_CHUNK, length - done);
            from.read(fromOffset + done, buffer, 0, n);
            for (long piece = 0; piece < n; piece += DataScan.PIECE) {
                long m = Math.min(DataScan.PIECE, n - piece);
                if (!DataScan.isZero(buffer, piece, m)) {
                    to.write(toOffset + done + piece, buffer, piece, m);
                }
            }
        }
    }

    /**
     * Gives the new file the old one's modification time (children of this disk compare it with the
     * parent time stamp they recorded) and, where the file system has them, its permissions and
     * owner. Best effort beyond the time: a file system without POSIX attributes has nothing to keep.
     */
    private static void keepAttributes(Path original, Path replacement, FileTime modified) throws IOException {
        try {
            Files.setPosixFilePermissions(replacement, Files.getPosixFilePermissions(original));
            Files.setOwner(replacement, Files.getOwner(original));
        } catch (UnsupportedOperationException | IOException e) {
            // No POSIX attributes here, or not ours to set: the new file keeps the creator's.
        }
        Files.setLastModifiedTime(replacement, modified);
    }
}
