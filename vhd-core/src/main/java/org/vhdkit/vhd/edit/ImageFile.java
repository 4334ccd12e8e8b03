package org.vhdkit.vhd.edit;

import java.io.IOException;
import java.util.Arrays;
import java.util.Optional;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.format.BlockAllocationTable;
import org.vhdkit.vhd.format.DiskType;
import org.vhdkit.vhd.format.DynamicHeader;
import org.vhdkit.vhd.format.Footer;
import org.vhdkit.vhd.format.ParentLocator;
import org.vhdkit.vhd.format.VhdFormatException;
import org.vhdkit.vhd.io.ByteStore;

/**
 * The structures of a closed image read straight from its file, for an edit that rewrites them in
 * place, and the few writes such an edit is made of, each followed by {@link ByteStore#force()}.
 *
 * <p>It insists on what an edit needs and a reader does not: the trailing footer must be intact
 * (a reader falls back to the copy at offset 0; an edit would then not know where the file ends),
 * and for a fixed disk it must sit at the Current Size. An image that {@code vhd check --repair}
 * should see first is refused with a message that says so.
 *
 * <p>With {@code resumingResize}, a header whose table has more entries than the footer's size
 * needs is accepted: the state a resize leaves when it stops between its table step and its footer
 * step (see {@link Resize}), which a second run completes. Every other edit refuses it, as
 * {@link org.vhdkit.vhd.Vhd#open} does.
 *
 * <p>Thread-safety: not thread-safe; one per edit, used by one thread. The store's exclusive lock
 * keeps other writers out for as long as the edit runs.
 */
final class ImageFile {
    static final int SECTOR = VirtualDisk.SECTOR_SIZE;
    /** Windows aligns tables and block data to this; so do new tables and trailers placed here. */
    static final int ALIGNMENT = 4096;

    final ByteStore store;
    final String name;
    final long fileSize;
    final Footer footer;
    /** Where the trailing footer is: {@code fileSize - 512}. */
    final long trailer;
    private final DynamicHeader header;
    private final BlockAllocationTable table;

    private ImageFile(ByteStore store, Footer footer, DynamicHeader header, BlockAllocationTable table) {
        this.store = store;
        this.name = store.path().toString();
        this.fileSize = store.size();
        this.footer = footer;
        this.trailer = fileSize - Footer.SIZE;
        this.header = header;
        this.table = table;
    }

    /** Reads the image in {@code store}; see the class comment for what is refused. */
    static ImageFile read(ByteStore store, boolean resumingResize) throws IOException {
        String name = store.path().toString();
        long fileSize = store.size();
        if (fileSize < Footer.SIZE || fileSize % SECTOR != 0) {
            throw new VhdFormatException(name, "footer", Math.max(0, fileSize - Footer.SIZE), "the file is "
                    + fileSize + " bytes long, not a whole number of sectors ending in a footer; run 'vhd check"
                    + " --repair' first");
        }
        long trailer = fileSize - Footer.SIZE;
        Footer footer;
        try {
            footer = Footer.decode(name, store.readBytes(trailer, Footer.SIZE), 0, trailer);
        } catch (VhdFormatException e) {
            throw new VhdFormatException(name, e.field(), e.offset(), e.problem()
                    + "; the footer at the end of the file must be intact before the image is edited in place"
                    + " (run 'vhd check --repair' first)");
        }
        if (footer.diskType() == DiskType.FIXED) {
            if (trailer != footer.currentSize()) {
                throw new VhdFormatException(name, "footer Current Size", trailer + 48, "a fixed disk of "
                        + footer.currentSize() + " bytes must be followed by its footer at that offset, but the"
                        + " footer is at offset " + trailer);
            }
            return new ImageFile(store, footer, null, null);
        }
        long at = footer.dataOffset();
        if (at > fileSize - DynamicHeader.SIZE) {
            throw new VhdFormatException(name, "footer Data Offset", trailer + 16, "the dynamic header at offset "
                    + at + " runs past the end of the file (" + fileSize + " bytes)");
        }
        DynamicHeader header = DynamicHeader.decode(name, store.readBytes(at, DynamicHeader.SIZE), 0, at);
        long entries = Integer.toUnsignedLong(header.maxTableEntries());
        long needed = Math.ceilDiv(footer.currentSize(), (long) header.blockSize());
        long sizeToCheck = footer.currentSize();
        if (resumingResize && entries > needed + 1) {
            // A resize stopped after its table step: check the rest as for the size the table covers.
            sizeToCheck = entries * header.blockSize();
        }
        header.validateAgainst(name, at, sizeToCheck, fileSize);
        BlockAllocationTable table = BlockAllocationTable.decode(
                store.readBytes(header.tableOffset(), Math.toIntExact(entries * 4)), (int) entries);
        long blockBytes = header.bitmapBytes() + (long) header.blockSize();
        for (int block = 0; block < table.size(); block++) {
            long start = table.sector(block) * SECTOR;
            if (start >= 0 && (start < at + DynamicHeader.SIZE || start + blockBytes > trailer)) {
                throw new VhdFormatException(name, "BAT entry " + block, header.tableOffset() + 4L * block,
                        "points to offset " + start + ", but a block of " + blockBytes + " bytes there does not fit"
                                + " between the dynamic header and the trailing footer at offset " + trailer);
            }
        }
        return new ImageFile(store, footer, header, table);
    }

    boolean isFixed() {
        return header == null;
    }

    /** The dynamic header of a dynamic or differencing disk. */
    DynamicHeader header() {
        if (header == null) {
            throw new IllegalStateException(name + " is a fixed disk");
        }
        return header;
    }

    /** The block allocation table as the file holds it. */
    BlockAllocationTable table() {
        header();
        return table;
    }

    Optional<DynamicHeader> dynamicHeader() {
        return Optional.ofNullable(header);
    }

    /**
     * Where the first structure in use at or after {@code from} starts: a block's bitmap, a parent
     * locator's data, the dynamic header, or the trailing footer. Whatever lies between {@code from}
     * and there may be overwritten without losing anything a reader looks at.
     */
    long nextUsedAtOrAfter(long from) {
        long next = trailer;
        if (footer.dataOffset() >= from) {
            next = Math.min(next, footer.dataOffset());
        }
        for (ParentLocator locator : header().locators()) {
            if (!locator.isEmpty() && locator.dataOffset() >= from) {
                next = Math.min(next, locator.dataOffset());
            }
        }
        for (int block = 0; block < table.size(); block++) {
            long sector = table.sector(block);
            if (sector >= 0 && sector * SECTOR >= from) {
                next = Math.min(next, sector * SECTOR);
            }
        }
        return next;
    }

    /** The bytes of a block's sector bitmap. */
    int bitmapBytes() {
        return header().bitmapBytes();
    }

    // ---------------------------------------------------------------- writes, each made durable

    /**
     * Writes {@code newFooter} over the trailing footer, then over the copy at offset 0 (dynamic and
     * differencing disks), forcing after each. Each is one sector, written whole or not at all; in
     * between, the two disagree, and readers take the trailing one.
     */
    void rewriteFooter(Footer newFooter, Checkpoint checkpoint) throws IOException {
        byte[] bytes = newFooter.encode();
        store.writeBytes(trailer, bytes);
        store.force();
        checkpoint.reached("trailing footer written");
        if (!isFixed()) {
            store.writeBytes(0, bytes);
            store.force();
            checkpoint.reached("footer copy written");
        }
    }

    /**
     * Writes the first sector of {@code newHeader}, which must differ from the header in the file only
     * there (the table offset, the max table entries and the checksum all lie in it): one sector,
     * written whole or not at all.
     */
    void rewriteHeaderFirstSector(DynamicHeader newHeader) throws IOException {
        byte[] bytes = newHeader.encode();
        byte[] second = store.readBytes(footer.dataOffset() + SECTOR, SECTOR);
        if (!Arrays.equals(bytes, SECTOR, 2 * SECTOR, second, 0, SECTOR)) {
            throw new IllegalStateException("the new header differs from the old beyond its first sector");
        }
        store.writeBytes(footer.dataOffset(), Arrays.copyOf(bytes, SECTOR));
        store.force();
    }

    /** Writes all 1024 bytes of {@code newHeader}; see {@link Rebase} for why that is acceptable. */
    void rewriteHeader(DynamicHeader newHeader) throws IOException {
        store.writeBytes(footer.dataOffset(), newHeader.encode());
        store.force();
    }

    /**
     * Where a trailing footer goes after a structure that ends at {@code end}: the sector before the
     * next 4 KiB boundary that leaves room for a block's bitmap, so that the data of the next block,
     * placed where the footer is now, is 4 KiB-aligned as Windows places it.
     */
    long trailerAfter(long end) {
        long bitmap = bitmapBytes();
        return roundUp(end + bitmap, ALIGNMENT) - bitmap;
    }

    static long roundUp(long value, long multiple) {
        return Math.ceilDiv(value, multiple) * multiple;
    }
}
