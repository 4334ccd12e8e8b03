package org.vhdkit.vhd.image;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.format.BlockAllocationTable;
import org.vhdkit.vhd.format.DiskType;
import org.vhdkit.vhd.format.DynamicHeader;
import org.vhdkit.vhd.format.Footer;
import org.vhdkit.vhd.format.ParentLocator;
import org.vhdkit.vhd.format.VhdFormatException;
import org.vhdkit.vhd.io.ByteStore;

/**
 * Opens an existing VHD: finds the footer in force, reads and checks the dynamic header and the
 * block allocation table, and resolves the parent of a differencing disk. Everything read is
 * checked before it is used, so a damaged or hostile image is refused with a
 * {@link VhdFormatException} rather than read wrongly.
 *
 * <p>Time and memory are in proportion to the table, not to the disk.
 *
 * <p>Public for {@link org.vhdkit.vhd.Vhd#open}, the entry point, which says what it does.
 *
 * <p>Thread-safety: stateless; safe from any thread.
 */
public final class VhdReader {
    private VhdReader() {
    }

    /** Opens the image at {@code path} as {@link org.vhdkit.vhd.Vhd#open} describes. */
    public static VhdDisk open(Path path, OpenOptions options) throws IOException {
        return open(path, options, options.parents().orElse(null), Lineage.TOP);
    }

    /**
     * Opens the image at {@code path}, the disk below {@code lineage} in its chain, taking its parents from
     * {@code parents}; null for a pool of the disk's own, which it closes with itself.
     */
    static VhdDisk open(Path path, OpenOptions options, ParentPool parents, Lineage lineage) throws IOException {
        ByteStore store = ByteStore.open(path, options.readOnly() ? ByteStore.Mode.READ_ONLY : ByteStore.Mode.READ_WRITE,
                options.backing());
        try {
            return open(store, options.backing(), options.openParent(), parents, lineage);
        } catch (IOException | RuntimeException e) {
            store.close();
            throw e;
        }
    }

    /**
     * Opens the image in {@code store}, which the returned disk then owns; {@code parents} as in
     * {@link #open(Path, OpenOptions, ParentPool, Lineage)}.
     */
    static VhdDisk open(ByteStore store, ByteStore.Backing backing, boolean openParent, ParentPool parents,
                        Lineage lineage) throws IOException {
        String name = store.path().toString();
        long fileSize = store.size();
        List<String> warnings = new ArrayList<>();
        if (fileSize < Footer.SIZE - 1) {
            throw new VhdFormatException(name, "footer", 0, "the file is " + fileSize
                    + " bytes long, too short to be a VHD (its footer alone is 512 bytes)");
        }
        FooterInForce found = findFooter(store, name, fileSize, warnings);
        Footer footer = found.footer();
        if (footer.diskType() == DiskType.FIXED) {
            if (found.position() != footer.currentSize()) {
                throw new VhdFormatException(name, "footer Current Size", found.position() + Footer.CURRENT_SIZE_OFFSET,
                        "a fixed disk of " + footer.currentSize() + " bytes must be followed by its footer at that offset,"
                                + " but the footer is at offset " + found.position());
            }
            return new FixedVhd(store, footer, warnings);
        }
        long headerOffset = footer.dataOffset();
        DynamicHeader header = readHeader(store, name, footer, found.position(), fileSize);
        int entries = header.maxTableEntries();
        BlockAllocationTable bat = BlockAllocationTable.decode(
                store.readBytes(header.tableOffset(), Math.multiplyExact(entries, 4)), entries);
        long dataEnd = found.position() >= 0 ? found.position() : roundUpToSector(fileSize);
        long metadataEnd = metadataEnd(headerOffset, header);
        // Where new blocks go: after the last block; a crash can leave space between it and the trailing
        // footer that no entry names, which the first allocation reclaims (SparseVhd#reclaimTail). Only
        // with the footer exactly at the end; otherwise after everything in the file, as before.
        boolean trailerAtEnd = found.position() >= 0 && found.position() == fileSize - Footer.SIZE;
        long nextFree = trailerAtEnd ? metadataEnd : Math.max(dataEnd, metadataEnd);
        long blockBytes = header.bitmapBytes() + (long) header.blockSize();
        for (int block = 0; block < entries; block++) {
            long sector = bat.sector(block);
            if (sector < 0) {
                continue;
            }
            long start = sector * VirtualDisk.SECTOR_SIZE;
            long end = start + blockBytes;
            if (start < metadataEnd(headerOffset, null) || end > Math.max(dataEnd, fileSize - Footer.SIZE)) {
                throw new VhdFormatException(name, "BAT entry " + block, header.tableOffset() + 4L * block,
                        "points to sector " + sector + " (offset " + start + "), but a block of " + blockBytes
                                + " bytes there does not fit between the headers and the end of the file ("
                                + fileSize + " bytes)");
            }
            nextFree = Math.max(nextFree, end);
        }
        if (footer.diskType() != DiskType.DIFFERENCING || !openParent) {
            boolean detached = footer.diskType() == DiskType.DIFFERENCING;
            return new SparseVhd(store, footer, header, bat, null, null, false, detached, found.position(), nextFree,
                    warnings);
        }
        boolean ownPool = parents == null;
        ParentPool pool = ownPool ? new ParentPool() : parents;
        try {
            ParentResolver.Found resolved = ParentResolver.resolve(store, footer, header, backing, pool, lineage);
            resolved.warning().ifPresent(warnings::add);
            return new SparseVhd(store, footer, header, bat, resolved.parent(), pool, ownPool, false, found.position(),
                    nextFree, warnings);
        } catch (IOException | RuntimeException e) {
            if (ownPool) {
                try {
                    pool.close();
                } catch (IOException closing) {
                    e.addSuppressed(closing);
                }
            }
            throw e;
        }
    }

    /**
     * Reads and checks the dynamic header. A header cut off by the end of the file is still decoded
     * (the missing bytes as zeros) so that the refusal names the first field that is wrong, as a
     * truncated fuzzed image deserves, before it names the truncation.
     */
    private static DynamicHeader readHeader(ByteStore store, String name, Footer footer, long footerPosition,
                                            long fileSize) throws IOException {
        long headerOffset = footer.dataOffset();
        if (headerOffset <= fileSize - DynamicHeader.SIZE) {
            DynamicHeader header = DynamicHeader.decode(name, store.readBytes(headerOffset, DynamicHeader.SIZE), 0,
                    headerOffset);
            header.validateAgainst(name, headerOffset, footer.currentSize(), fileSize);
            return header;
        }
        if (headerOffset < fileSize) {
            byte[] bytes = new byte[DynamicHeader.SIZE];
            byte[] present = store.readBytes(headerOffset, (int) (fileSize - headerOffset));
            System.arraycopy(present, 0, bytes, 0, present.length);
            DynamicHeader.decode(name, bytes, 0, headerOffset).validateAgainst(name, headerOffset,
                    footer.currentSize(), fileSize);
        }
        throw new VhdFormatException(name, "footer Data Offset", Math.max(footerPosition, 0) + Footer.DATA_OFFSET_OFFSET,
                "the dynamic header at offset " + headerOffset + " runs past the end of the file (" + fileSize
                        + " bytes): the file is truncated");
    }

    /** The footer and where it was found: its offset, or -1 for the copy at offset 0. */
    private record FooterInForce(Footer footer, long position) {
    }

    /**
     * The trailing footer; failing that the 511-byte trailer old Virtual PC versions left; failing
     * that the copy at offset 0 (dynamic and differencing disks have one). A trailer torn by a crash
     * during an append is recovered this way.
     */
    private static FooterInForce findFooter(ByteStore store, String name, long fileSize, List<String> warnings)
            throws IOException {
        VhdFormatException trailerProblem;
        if (fileSize >= Footer.SIZE) {
            long at = fileSize - Footer.SIZE;
            try {
                return new FooterInForce(Footer.decode(name, store.readBytes(at, Footer.SIZE), 0, at), at);
            } catch (VhdFormatException e) {
                trailerProblem = e;
            }
        } else {
            trailerProblem = new VhdFormatException(name, "footer", 0, "the file is shorter than a footer");
        }
        long short511 = fileSize - (Footer.SIZE - 1);
        if (short511 >= 0) {
            byte[] bytes = new byte[Footer.SIZE];
            System.arraycopy(store.readBytes(short511, Footer.SIZE - 1), 0, bytes, 0, Footer.SIZE - 1);
            try {
                Footer footer = Footer.decode(name, bytes, 0, short511);
                warnings.add(name + ": the trailing footer is 511 bytes long, as old Virtual PC versions wrote it");
                return new FooterInForce(footer, short511);
            } catch (VhdFormatException e) {
                // Not that either.
            }
        }
        if (fileSize >= Footer.SIZE * 2) {
            try {
                Footer copy = Footer.decode(name, store.readBytes(0, Footer.SIZE), 0, 0);
                if (copy.diskType() != DiskType.FIXED) {
                    warnings.add(name + ": the footer at the end of the file is damaged (" + trailerProblem.getMessage()
                            + "); using its copy at offset 0. 'vhd check --repair' restores it.");
                    return new FooterInForce(copy, -1);
                }
            } catch (VhdFormatException e) {
                // No copy either: report the trailer, which is where a reader looks first.
            }
        }
        throw withTruncationHint(store, name, fileSize, trailerProblem);
    }

    /** How far back from the end a footer cookie is looked for when the trailer is not one. */
    private static final long COOKIE_SEARCH_BYTES = 8 << 20;

    /**
     * {@code problem}, saying why the file looks truncated when it does: its size is not a whole
     * number of sectors, or a footer cookie sits at a sector boundary before the end (within the
     * last {@link #COOKIE_SEARCH_BYTES}).
     */
    private static VhdFormatException withTruncationHint(ByteStore store, String name, long fileSize,
                                                         VhdFormatException problem) throws IOException {
        String hint = null;
        if (fileSize % VirtualDisk.SECTOR_SIZE != 0) {
            hint = "the file is " + fileSize + " bytes, not a whole number of 512-byte sectors: it looks truncated";
        } else {
            byte[] cookie = Footer.COOKIE.getBytes(StandardCharsets.US_ASCII);
            long stop = Math.max(0, fileSize - COOKIE_SEARCH_BYTES);
            for (long at = fileSize - 2L * Footer.SIZE; at >= stop && hint == null; at -= VirtualDisk.SECTOR_SIZE) {
                if (Arrays.equals(store.readBytes(at, cookie.length), cookie)) {
                    hint = "a footer cookie sits at offset " + at + ", " + (fileSize - at) + " bytes before the end"
                            + " of the file: it looks truncated or extended (a VHD ends with its footer)";
                }
            }
        }
        return hint == null ? problem
                : new VhdFormatException(problem.file(), problem.field(), problem.offset(), problem.problem() + "; " + hint);
    }

    /**
     * Where the structures before the first block end: footer copy, dynamic header, table (and
     * locator data when {@code header} is given). Blocks must start at or after the first two.
     */
    private static long metadataEnd(long headerOffset, DynamicHeader header) {
        long end = headerOffset + DynamicHeader.SIZE;
        if (header == null) {
            return end;
        }
        end = Math.max(end, header.tableOffset() + header.tableBytes());
        for (ParentLocator locator : header.locators()) {
            if (!locator.isEmpty()) {
                end = Math.max(end, locator.dataOffset() + locator.dataSpaceBytes());
            }
        }
        return end;
    }

    private static long roundUpToSector(long bytes) {
        return (bytes + VirtualDisk.SECTOR_SIZE - 1) & -VirtualDisk.SECTOR_SIZE;
    }
}
