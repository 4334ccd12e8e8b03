package org.vhdkit.vhd.check;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.format.BlockAllocationTable;
import org.vhdkit.vhd.format.Checksum;
import org.vhdkit.vhd.format.DiskType;
import org.vhdkit.vhd.format.DynamicHeader;
import org.vhdkit.vhd.format.Footer;
import org.vhdkit.vhd.format.ParentLocator;
import org.vhdkit.vhd.format.VhdFormatException;
import org.vhdkit.vhd.io.ByteStore;

/**
 * One pass over the raw bytes of an image: every structure is read leniently (a damaged one is
 * reported and, where the rest can still be understood, passed over), and every finding is paired
 * with the {@link Fix} that repairs it without guessing, or with the reason there is none.
 *
 * <h2>What is checked, in order</h2>
 * <ol>
 * <li>The footer: the trailing one (or the 511-byte trailer of old Virtual PC versions), and for a
 *     dynamic or differencing disk its copy at offset 0. The footer in force is chosen as the library
 *     chooses it: a valid trailer, else the 511-byte one, else a valid copy; failing those, a trailer
 *     or copy whose only fault is its checksum.</li>
 * <li>Fixed disk: the footer sits at the Current Size.</li>
 * <li>Dynamic and differencing: the copy agrees with the footer in force; the dynamic header
 *     (checksum, fields); the table's size against the disk's size and its place in the file; the
 *     parent locators' data; every allocated block inside the file, overlapping neither another
 *     block nor the headers, table or locator data; the space no structure references; and, for a
 *     dynamic disk, that no sector whose bitmap bit is clear holds data.</li>
 * </ol>
 *
 * <h2>Leaked space, and padding</h2>
 * Windows pads its table to 4 KiB and places block data at 4 KiB boundaries (so the bitmap, and the
 * trailing footer where the next bitmap would go, sit just before one), and Virtual PC leaves a
 * sector after its table. A run of unreferenced bytes is padding, not a leak, when it is shorter than
 * {@value #PADDING} bytes or ends no later than that layout puts the next structure. Other runs are
 * leaks: before the trailing footer (repaired by moving the footer down and truncating the file), or
 * between structures (repaired by moving blocks from the end of the file into them, last block first,
 * when they fit with their data 4 KiB-aligned; then the footer moves down). No block is moved while
 * anything found puts the table or the blocks in doubt.
 *
 * <p>Not thread-safe: one inspection, one thread. Reads only; the store may be read-only.
 */
final class Inspection {
    /** Unreferenced runs shorter than this are alignment padding, not leaks. */
    static final long PADDING = 4096;
    /** Where Windows, and this library, place block data. */
    private static final long DATA_ALIGNMENT = 4096;
    private static final int SECTOR = 512;
    private static final int PROGRESS_STEP = 256;
    private static final int TABLE_CHUNK_ENTRIES = 1 << 18;
    private static final int DATA_CHUNK = 1 << 20;
    private static final byte[] ZERO_SECTOR = new byte[SECTOR];
    /** Findings that put the table, the blocks or the header's structures in doubt: no block is moved then. */
    private static final Set<String> LAYOUT_CODES = Set.of("BLOCKS_OVERLAP", "BLOCK_OVERLAPS_METADATA",
            "BLOCK_PAST_END", "FILE_TOO_SHORT", "HEADER_CHECKSUM", "HEADER_DAMAGED", "HEADER_PAST_END",
            "LOCATOR_OUTSIDE_FILE", "LOCATOR_TOO_LONG", "STRUCTURES_OVERLAP", "TABLE_OUTSIDE_FILE", "TABLE_SIZE");

    /** What an inspection found. */
    record Result(Optional<DiskType> type, List<Findings.Problem> problems) {
        Result {
            problems = List.copyOf(problems);
        }

        List<Finding> findings() {
            return problems.stream().map(Findings.Problem::finding).toList();
        }

        /** The distinct fixes of the repairable findings, in the order they must run. */
        List<Fix> fixes() {
            Set<Fix> seen = Collections.newSetFromMap(new IdentityHashMap<>());
            List<Fix> fixes = new ArrayList<>();
            for (Findings.Problem problem : problems) {
                problem.fix().filter(seen::add).ifPresent(fixes::add);
            }
            fixes.sort((a, b) -> Integer.compare(a.order(), b.order()));
            return fixes;
        }
    }

    private final ByteStore store;
    private final String name;
    private final long fileSize;
    private final ProgressListener progress;
    private final boolean scanData;
    private final Findings findings = new Findings();

    /** The footer in force. */
    private Footer footer;
    /** Where the trailing footer in force is; -1 when the trailer is damaged and the copy is in force. */
    private long trailerAt = -1;
    /** What the 512 bytes at offset 0 hold; null when the file is too short for a copy. */
    private FooterProbe copy;
    /** A finding about the trailing footer, whose fix waits until the layout of the file is known. */
    private Findings.Pending trailerFinding;

    private Inspection(ByteStore store, ProgressListener progress, boolean scanData) {
        this.store = store;
        this.name = store.path().toString();
        this.fileSize = store.size();
        this.progress = progress;
        this.scanData = scanData;
    }

    /**
     * Inspects the image in {@code store}.
     *
     * @param scanData whether to read the data of sectors whose bitmap bit is clear (the one part of a
     *                 check whose time grows with the data rather than with the table)
     */
    static Result run(ByteStore store, ProgressListener progress, boolean scanData) throws IOException {
        Inspection inspection = new Inspection(store, progress, scanData);
        Optional<DiskType> type = inspection.inspect();
        return new Result(type, inspection.findings.problems());
    }

    private Optional<DiskType> inspect() throws IOException {
        if (fileSize < Footer.SIZE - 1) {
            findings.corrupt("FILE_TOO_SHORT", -1, "the file is " + fileSize
                            + " bytes long, too short for a VHD footer (512 bytes)",
                    "not repairable: there is no VHD here");
            return Optional.empty();
        }
        if (!findFooter()) {
            return Optional.empty();
        }
        checkFooterFields();
        if (footer.diskType() == DiskType.FIXED) {
            inspectFixed();
            progress.progress(footer.currentSize(), footer.currentSize());
        } else {
            inspectSparse();
        }
        return Optional.of(footer.diskType());
    }

    // ---------------------------------------------------------------- footers

    /** Chooses the footer in force as the library does, and reports a trailing footer that is not sound. */
    private boolean findFooter() throws IOException {
        FooterProbe end = fileSize >= Footer.SIZE ? FooterProbe.read(store, fileSize - Footer.SIZE, Footer.SIZE) : null;
        copy = fileSize >= 2L * Footer.SIZE ? FooterProbe.read(store, 0, Footer.SIZE) : null;
        if (end != null && end.isValid()) {
            footer = end.footer();
            trailerAt = end.position();
            return true;
        }
        FooterProbe shortEnd = FooterProbe.read(store, fileSize - (Footer.SIZE - 1), Footer.SIZE - 1);
        if (shortEnd.isValid()) {
            footer = shortEnd.footer();
            trailerAt = shortEnd.position();
            trailerFinding = findings.warning("FOOTER_SHORT", trailerAt, Messages.at("footer", trailerAt,
                            "the trailing footer is 511 bytes long, as old Virtual PC versions wrote it; other tools"
                                    + " expect 512"),
                    "not repairable");
            return true;
        }
        boolean sparseCopy = copy != null && copy.hasSoundFields() && copy.footer().diskType() != DiskType.FIXED;
        if (sparseCopy && copy.isValid()) {
            footer = copy.footer();
            trailerAt = -1;
            trailerFinding = reportTrailer(end);
            return true;
        }
        if (end != null && end.state() == FooterProbe.State.BAD_CHECKSUM) {
            footer = end.footer();
            trailerAt = end.position();
            trailerFinding = reportTrailer(end);
            return true;
        }
        if (sparseCopy) { // the copy, wrong only in its checksum
            footer = copy.footer();
            trailerAt = -1;
            trailerFinding = reportTrailer(end);
            return true;
        }
        String trailerProblem = end == null ? "footer: the file is shorter than a footer" : end.problemMessage();
        String copyProblem = copy == null ? "the file is too short to hold one"
                : copy.hasSoundFields() ? "offset 0 holds the footer of a fixed disk, which has no copy"
                : copyMessage(copy);
        findings.corrupt("FOOTER_DAMAGED", end == null ? -1 : end.problem().offset(),
                trailerProblem + "; and no usable copy at offset 0, where a dynamic or differencing disk keeps one ("
                        + copyProblem + ")",
                "not repairable: no intact footer to restore it from");
        return false;
    }

    /** The finding for a trailing footer that is not the one in force, or is wrong in its checksum. */
    private Findings.Pending reportTrailer(FooterProbe end) {
        if (end == null) {
            return findings.corrupt("FOOTER_DAMAGED", -1, "footer: the file is shorter than a footer",
                    "not repairable");
        }
        String code = end.state() == FooterProbe.State.BAD_CHECKSUM ? "FOOTER_CHECKSUM" : "FOOTER_DAMAGED";
        return findings.corrupt(code, end.problem().offset(), end.problemMessage(), "not repairable");
    }

    private static String copyMessage(FooterProbe probe) {
        VhdFormatException problem = probe.problem();
        return Messages.at(problem.field().replaceFirst("^footer", "footer copy"), problem.offset(), problem.problem());
    }

    /** Where a field of the footer in force lies in the file. */
    private long footerField(int offset) {
        return (trailerAt >= 0 ? trailerAt : 0) + offset;
    }

    private void checkFooterFields() {
        if (footer.savedState()) {
            findings.warning("SAVED_STATE", footerField(Footer.SAVED_STATE_OFFSET),
                    Messages.at("footer Saved State", footerField(Footer.SAVED_STATE_OFFSET),
                            "set: the disk belongs to a virtual machine in saved state"),
                    "not a fault: resume or discard the saved state of the virtual machine before changing the disk");
        }
        if (footer.currentSize() > Vhd.MAX_SIZE) {
            findings.warning("SIZE_ABOVE_LIMIT", footerField(Footer.CURRENT_SIZE_OFFSET),
                    Messages.at("footer Current Size", footerField(Footer.CURRENT_SIZE_OFFSET), footer.currentSize()
                            + " bytes is above the 2040 GiB (" + Vhd.MAX_SIZE + " bytes) the format allows;"
                            + " Hyper-V refuses such a disk"),
                    "not a fault of the image's structure");
        }
    }

    // ---------------------------------------------------------------- fixed

    private void inspectFixed() throws IOException {
        long size = footer.currentSize();
        boolean shortTrailer = fileSize - trailerAt == Footer.SIZE - 1;
        if (trailerAt > size) {
            Fix fix = new Fix.WriteTrailer(size, footer.encode(), fileSize);
            String move = "move the footer down to offset " + size + " and truncate the file from " + fileSize
                    + " to " + (size + Footer.SIZE) + " bytes";
            findings.leak("LEAKED_TAIL", size, Messages.at("file", size, "the " + (trailerAt - size) + " bytes at "
                    + Messages.range(size, trailerAt) + ", between the disk's data (its Current Size is " + size
                    + " bytes) and its footer, belong to nothing (garbage)"), "").repairedBy(fix, move);
            if (trailerFinding != null) {
                trailerFinding.repairedBy(fix, "write the footer, with its checksum computed, at offset " + size);
            }
        } else if (trailerAt < size) {
            findings.corrupt("FIXED_SIZE_MISMATCH", footerField(Footer.CURRENT_SIZE_OFFSET),
                    Messages.at("footer Current Size", footerField(Footer.CURRENT_SIZE_OFFSET), "the disk is " + size
                            + " bytes, but the file holds only " + trailerAt + " bytes before its footer"),
                    "not repairable: the disk's last " + (size - trailerAt) + " bytes are not in the file");
            if (trailerFinding != null) {
                trailerFinding.notRepairable("not repairable: the footer's Current Size does not match the file either");
            }
        } else if (trailerFinding != null) {
            if (shortTrailer) {
                trailerFinding.repairedBy(new Fix.WriteTrailer(trailerAt, footer.encode(), fileSize),
                        "write the footer out to its full 512 bytes (the file grows by one byte)");
            } else {
                byte[] bytes = store.readBytes(trailerAt, Footer.SIZE);
                trailerFinding.repairedBy(
                        new Fix.RewriteChecksum(trailerAt + Footer.CHECKSUM_OFFSET,
                                Checksum.compute(bytes, 0, Footer.SIZE, Footer.CHECKSUM_OFFSET), 2),
                        "rewrite the checksum: every other field is valid and the Current Size matches the file");
            }
        }
    }

    // ---------------------------------------------------------------- dynamic and differencing

    private void inspectSparse() throws IOException {
        checkCopy();
        long headerAt = footer.dataOffset();
        // Blocks and tables end before the trailing footer; with the trailer damaged, anywhere in the file.
        long limit = trailerAt >= 0 ? trailerAt : fileSize;
        if (headerAt > limit - DynamicHeader.SIZE) {
            long at = footerField(Footer.DATA_OFFSET_OFFSET);
            findings.corrupt("HEADER_PAST_END", at,
                    Messages.at("footer Data Offset", at, "the dynamic header at offset "
                            + headerAt + " runs past the end of the data (" + limit + " bytes of a file of "
                            + fileSize + "): the file is truncated or the field is wrong"),
                    "not repairable: the dynamic header is not in the file");
            unknownLayout("the dynamic header is missing");
            return;
        }
        byte[] headerBytes = store.readBytes(headerAt, DynamicHeader.SIZE);
        DynamicHeader header;
        Findings.Pending headerChecksum = null;
        try {
            header = DynamicHeader.decode(name, headerBytes, 0, headerAt);
        } catch (VhdFormatException refused) {
            try {
                header = DynamicHeader.decodeIgnoringChecksum(name, headerBytes, 0, headerAt);
                headerChecksum = findings.corrupt("HEADER_CHECKSUM", headerAt + DynamicHeader.CHECKSUM_OFFSET,
                        Messages.of(refused), "not repairable");
            } catch (VhdFormatException damaged) {
                findings.corrupt("HEADER_DAMAGED", damaged.offset(), Messages.of(damaged),
                        "not repairable: the table and blocks cannot be found without the header");
                unknownLayout("the dynamic header is damaged");
                return;
            }
        }
        SparseLayout layout = new SparseLayout(header, headerAt, limit);
        boolean headerSound = layout.checkHeaderFields();
        checkHeaderSpareFields(header, headerBytes, headerAt);
        if (layout.tableReadable()) {
            int[] table = readTable(header);
            layout.addBlocks(table);
            headerSound &= layout.checkOverlaps();
            layout.checkSpace();
            if (footer.diskType() == DiskType.DYNAMIC && scanData) {
                scanBitmaps(header, table, limit);
            }
            progress.progress(footer.currentSize(), footer.currentSize());
        } else {
            unknownLayout("the Block Allocation Table cannot be read");
        }
        if (layout.tableTooLarge != null) {
            if (headerChecksum == null) {
                layout.tableTooLarge.repairedBy(new Fix.RewriteSector(headerAt,
                                headerSectorWithEntries(headerBytes, layout.tableNeeds), 0),
                        "set Max Table Entries to " + layout.tableNeeds + ", what the footer's size needs (one sector;"
                                + " a resize stopped between its header and footer writes leaves the table larger:"
                                + " run it again to grow)");
            } else {
                layout.tableTooLarge.notRepairable("not repairable while the dynamic header's checksum is wrong too");
            }
        }
        if (headerChecksum != null) {
            if (headerSound) {
                headerChecksum.repairedBy(new Fix.RewriteChecksum(headerAt + DynamicHeader.CHECKSUM_OFFSET,
                                Checksum.compute(headerBytes, 0, DynamicHeader.SIZE, DynamicHeader.CHECKSUM_OFFSET), 0),
                        "rewrite the checksum: every other field of the dynamic header is valid");
            } else {
                headerChecksum.notRepairable("not repairable: other fields of the dynamic header are wrong too"
                        + " (see the other findings), so the checksum may be the one field that is right");
            }
        }
    }

    /**
     * What the spec says is zero and no reader uses: the header's reserved bytes, and in a dynamic
     * (not differencing) disk the parent name and locators. Warnings: the image reads as it should.
     */
    private void checkHeaderSpareFields(DynamicHeader header, byte[] headerBytes, long headerAt) {
        int nonZero = firstNonZero(headerBytes, DynamicHeader.RESERVED1_OFFSET, DynamicHeader.RESERVED1_OFFSET + 4);
        if (nonZero < 0) {
            nonZero = firstNonZero(headerBytes, DynamicHeader.RESERVED2_OFFSET, DynamicHeader.SIZE);
        }
        if (nonZero >= 0) {
            findings.warning("HEADER_RESERVED", headerAt + nonZero, Messages.at("dynamic header Reserved",
                    headerAt + nonZero, "not zero, as the specification has it"), "not a fault: no reader uses them");
        }
        long locators = header.locators().stream().filter(l -> !l.isEmpty()).count();
        if (footer.diskType() == DiskType.DYNAMIC && (!header.parentName().isEmpty() || locators > 0)) {
            findings.warning("PARENT_IN_DYNAMIC", headerAt + (header.parentName().isEmpty() ? DynamicHeader.LOCATORS_OFFSET
                            : DynamicHeader.PARENT_NAME_OFFSET), Messages.at("dynamic header", headerAt,
                            "a dynamic disk names a parent" + (header.parentName().isEmpty() ? ""
                                    : " '" + header.parentName() + "'") + (locators == 0 ? "" : " with " + locators
                                    + (locators == 1 ? " parent locator" : " parent locators"))
                                    + "; the specification has these fields zero unless the disk is differencing"),
                    "not a fault: readers ignore them in a dynamic disk");
        }
    }

    private static int firstNonZero(byte[] bytes, int from, int to) {
        for (int i = from; i < to; i++) {
            if (bytes[i] != 0) {
                return i;
            }
        }
        return -1;
    }

    /**
     * The first sector of the dynamic header with Max Table Entries set to {@code entries} and the
     * checksum computed anew; both fields lie in that sector.
     */
    private static byte[] headerSectorWithEntries(byte[] headerBytes, int entries) {
        byte[] changed = headerBytes.clone();
        putInt(changed, DynamicHeader.MAX_TABLE_ENTRIES_OFFSET, entries);
        putInt(changed, DynamicHeader.CHECKSUM_OFFSET,
                Checksum.compute(changed, 0, DynamicHeader.SIZE, DynamicHeader.CHECKSUM_OFFSET));
        return Arrays.copyOf(changed, SECTOR);
    }

    private static void putInt(byte[] bytes, int at, int value) {
        bytes[at] = (byte) (value >>> 24);
        bytes[at + 1] = (byte) (value >>> 16);
        bytes[at + 2] = (byte) (value >>> 8);
        bytes[at + 3] = (byte) value;
    }

    /** The trailing footer's problem cannot be repaired: where it belongs is not known. */
    private void unknownLayout(String because) {
        if (trailerFinding != null) {
            trailerFinding.notRepairable("not repairable: where the trailing footer belongs cannot be known ("
                    + because + ")");
        }
    }

    /** The copy at offset 0 must be the footer in force, byte for byte. */
    private void checkCopy() {
        if (copy == null) {
            return;
        }
        byte[] expected = footer.encode();
        if (copy.isValid() && Arrays.equals(expected, copy.footer().encode())) {
            return;
        }
        String from = trailerAt >= 0 ? "the trailing footer" : "the copy's own fields, with the checksum computed";
        Fix fix = new Fix.RewriteCopy(expected);
        String rewrite = "rewrite the copy at offset 0 from " + from;
        switch (copy.state()) {
            case VALID -> findings.corrupt("FOOTER_COPY_MISMATCH", 0, Messages.at("footer copy", 0,
                            "differs from the trailing footer in " + differences(copy.footer(), footer)), "")
                    .repairedBy(fix, rewrite);
            case BAD_CHECKSUM -> findings.corrupt("FOOTER_COPY_CHECKSUM", Footer.CHECKSUM_OFFSET, copyMessage(copy), "")
                    .repairedBy(fix, rewrite);
            case DAMAGED -> findings.corrupt("FOOTER_COPY_DAMAGED", copy.problem().offset(), copyMessage(copy), "")
                    .repairedBy(fix, rewrite);
        }
    }

    /** The names of the fields in which two footers differ. */
    private static String differences(Footer a, Footer b) {
        List<String> fields = new ArrayList<>();
        addIf(fields, a.features() != b.features(), "Features");
        addIf(fields, a.formatVersion() != b.formatVersion(), "File Format Version");
        addIf(fields, a.dataOffset() != b.dataOffset(), "Data Offset");
        addIf(fields, a.timestamp() != b.timestamp(), "Time Stamp");
        addIf(fields, !a.creatorApplication().equals(b.creatorApplication()), "Creator Application");
        addIf(fields, a.creatorVersion() != b.creatorVersion(), "Creator Version");
        addIf(fields, a.creatorHostOs() != b.creatorHostOs(), "Creator Host OS");
        addIf(fields, a.originalSize() != b.originalSize(), "Original Size");
        addIf(fields, a.currentSize() != b.currentSize(), "Current Size");
        addIf(fields, !a.geometry().equals(b.geometry()), "Disk Geometry");
        addIf(fields, a.diskType() != b.diskType(), "Disk Type");
        addIf(fields, !a.uniqueId().equals(b.uniqueId()), "Unique Id");
        addIf(fields, a.savedState() != b.savedState(), "Saved State");
        if (fields.isEmpty()) {
            fields.add("the reserved bytes");
        }
        return String.join(", ", fields);
    }

    private static void addIf(List<String> fields, boolean differs, String field) {
        if (differs) {
            fields.add(field);
        }
    }

    /**
     * The table's entries: all of them, or when the header claims more than the disk needs, the ones
     * that map the disk and one more (the rest map nothing, and reading them could exhaust memory).
     */
    private int[] readTable(DynamicHeader header) throws IOException {
        long needed = Math.ceilDiv(footer.currentSize(), Integer.toUnsignedLong(header.blockSize()));
        int count = (int) Math.min(header.maxTableEntries(), needed + 1);
        int[] entries = new int[count];
        for (int from = 0; from < count; from += TABLE_CHUNK_ENTRIES) {
            int n = Math.min(TABLE_CHUNK_ENTRIES, count - from);
            BlockAllocationTable chunk = BlockAllocationTable.decode(
                    store.readBytes(header.tableOffset() + 4L * from, n * 4), n);
            for (int i = 0; i < n; i++) {
                entries[from + i] = chunk.entry(i);
            }
        }
        return entries;
    }

    /**
     * In a dynamic disk a sector whose bit is clear reads as zeros, so it must hold zeros: data there
     * is a write whose bit never reached the file, or a bit cleared by damage. A block whose bitmap
     * never reached the disk is the one exception told apart: a power cut in its allocation (see
     * BITMAP_NOT_WRITTEN).
     */
    private void scanBitmaps(DynamicHeader header, int[] table, long limit) throws IOException {
        int sectorsPerBlock = header.sectorsPerBlock();
        long blockSize = header.blockSize();
        int bitmapBytes = header.bitmapBytes();
        long diskSectors = footer.currentSize() / SECTOR;
        byte[] buffer = new byte[(int) Math.min(blockSize, DATA_CHUNK)];
        MemorySegment segment = MemorySegment.ofArray(buffer);
        for (int block = 0; block < table.length; block++) {
            if (block % PROGRESS_STEP == 0) {
                progress.progress(Math.min(block * blockSize, footer.currentSize()), footer.currentSize());
            }
            if (table[block] == BlockAllocationTable.UNALLOCATED) {
                continue;
            }
            long bitmapAt = Integer.toUnsignedLong(table[block]) * SECTOR;
            long dataAt = bitmapAt + bitmapBytes;
            long firstSector = (long) block * sectorsPerBlock;
            if (dataAt + blockSize > limit || firstSector >= diskSectors) {
                continue; // past the end (reported), or a spare entry past the disk's end
            }
            int sectors = (int) Math.min(sectorsPerBlock, diskSectors - firstSector);
            byte[] bitmap = store.readBytes(bitmapAt, (sectors + 7) / 8);
            int stray = 0;
            int firstStray = -1;
            int sector = 0;
            while (sector < sectors) {
                if (isSet(bitmap, sector)) {
                    sector++;
                    continue;
                }
                int runEnd = sector + 1;
                while (runEnd < sectors && !isSet(bitmap, runEnd) && (runEnd - sector) * SECTOR < buffer.length) {
                    runEnd++;
                }
                int length = (runEnd - sector) * SECTOR;
                store.read(dataAt + (long) sector * SECTOR, segment, 0, length);
                for (int k = 0; k < runEnd - sector; k++) {
                    if (Arrays.mismatch(buffer, k * SECTOR, (k + 1) * SECTOR, ZERO_SECTOR, 0, SECTOR) >= 0) {
                        stray++;
                        if (firstStray < 0) {
                            firstStray = sector + k;
                        }
                    }
                }
                sector = runEnd;
            }
            if (stray > 0 && bitmapNeverWritten(bitmapAt, bitmapBytes)) {
                // The signature of an allocation a power cut interrupted: the block's entry and some of
                // its data reached the disk, its bitmap (written in the same unforced window, with every
                // bit set) did not. No flush followed the allocation (a flush makes the bitmap durable),
                // so the data is of writes never acknowledged, and the zeros the block reads are what it
                // read before them: lost unflushed writes, not damage.
                long diskOffset = (firstSector + firstStray) * SECTOR;
                findings.warning("BITMAP_NOT_WRITTEN", bitmapAt, Messages.at("block " + block + " sector bitmap",
                                bitmapAt, "it holds what the file held before the block (zeros, or the old footer),"
                                        + " not the bits the allocation set, and " + stray
                                        + (stray == 1 ? " sector holds" : " sectors hold")
                                        + " data, the first at disk offset " + diskOffset + ": the block's allocation"
                                        + " was cut by a crash before its bitmap reached the disk, and the disk reads"
                                        + " zeros there, as it did before those writes, which were never flushed"),
                        "nothing to repair: the data is of writes a crash lost before they were flushed");
            } else if (stray > 0) {
                long diskOffset = (firstSector + firstStray) * SECTOR;
                long fileOffset = dataAt + (long) firstStray * SECTOR;
                findings.corrupt("DATA_NOT_IN_BITMAP", bitmapAt + firstStray / 8, Messages.at(
                                "block " + block + " sector bitmap", bitmapAt + firstStray / 8, stray
                                        + (stray == 1 ? " sector holds" : " sectors hold") + " data but"
                                        + (stray == 1 ? " its bit is" : " their bits are") + " clear, so the disk"
                                        + " reads zeros there; the first is sector " + firstStray
                                        + " of the block (disk offset " + diskOffset + ", file offset " + fileOffset + ")"),
                        "not repairable without guessing: setting the bits would show data of unknown age, zeroing"
                                + " it may lose the newest write");
            }
        }
    }

    /** A run of unreferenced bytes between two structures, and its finding. */
    private record Gap(long start, long end, Findings.Pending finding) {
    }

    /**
     * Whether a dynamic block's bitmap reads as one a power cut kept from reaching the disk: every
     * sector of it as the allocation wrote it (all bits set) or as the file held it before, zeros (new
     * space past the old end) or, in its first sector, the old trailing footer (a new block's bitmap
     * goes where the footer was, when that is aligned).
     */
    private boolean bitmapNeverWritten(long bitmapAt, int bitmapBytes) throws IOException {
        byte[] bitmap = store.readBytes(bitmapAt, bitmapBytes);
        byte[] oldTrailer = store.readBytes(trailerAt >= 0 ? trailerAt : 0, SECTOR);
        for (int at = 0; at < bitmapBytes; at += SECTOR) {
            boolean zeros = Arrays.mismatch(bitmap, at, at + SECTOR, ZERO_SECTOR, 0, SECTOR) < 0;
            boolean full = true;
            for (int i = at; i < at + SECTOR && full; i++) {
                full = bitmap[i] == (byte) 0xFF;
            }
            boolean footerThere = at == 0 && Arrays.mismatch(bitmap, 0, SECTOR, oldTrailer, 0, SECTOR) < 0;
            if (!zeros && !full && !footerThere) {
                return false;
            }
        }
        return true;
    }

    private static boolean isSet(byte[] bitmap, int sector) {
        return (bitmap[sector >>> 3] & (0x80 >>> (sector & 7))) != 0;
    }

    private static long roundUp(long value, long multiple) {
        return (value + multiple - 1) / multiple * multiple;
    }

    /**
     * The structures of a dynamic or differencing image and the checks between them: the header's
     * fields against the disk and the file, overlaps, and unreferenced space.
     */
    private final class SparseLayout {
        private final DynamicHeader header;
        private final long headerAt;
        private final long limit;
        private final long blockBytes;
        private final List<Region> regions = new ArrayList<>();
        private boolean tableReadable;
        private boolean pastEnd;
        /** The TABLE_SIZE finding of a table with more entries than the footer's size needs, if any. */
        private Findings.Pending tableTooLarge;
        private int tableNeeds;

        SparseLayout(DynamicHeader header, long headerAt, long limit) {
            this.header = header;
            this.headerAt = headerAt;
            this.limit = limit;
            this.blockBytes = header.bitmapBytes() + (long) header.blockSize();
            regions.add(new Region(0, Footer.SIZE, Region.Kind.FOOTER_COPY, 0));
            regions.add(new Region(headerAt, headerAt + DynamicHeader.SIZE, Region.Kind.DYNAMIC_HEADER, 0));
        }

        boolean tableReadable() {
            return tableReadable;
        }

        /**
         * The table's size against the disk's and its place in the file, and the locators' data: what
         * {@link DynamicHeader#validateAgainst} refuses, each reported on its own.
         *
         * @return whether every field checked is sound
         */
        boolean checkHeaderFields() {
            boolean sound = true;
            long entries = Integer.toUnsignedLong(header.maxTableEntries());
            long needed = Math.ceilDiv(footer.currentSize(), Integer.toUnsignedLong(header.blockSize()));
            if (entries < needed || entries > needed + 1) {
                long at = headerAt + DynamicHeader.MAX_TABLE_ENTRIES_OFFSET;
                Findings.Pending finding = findings.corrupt("TABLE_SIZE", at, Messages.at(
                        "dynamic header Max Table Entries", at, String.format(
                                "%d entries, but a disk of %d bytes in blocks of %d bytes needs %d", entries,
                                footer.currentSize(), header.blockSize(), needed)),
                        "not repairable: the table is too small for the disk, and which of the disk's size and"
                                + " the table's is right cannot be told");
                if (entries > needed) {
                    tableTooLarge = finding;
                    tableNeeds = (int) needed;
                }
                sound = false;
            }
            long tableOffset = header.tableOffset();
            long tableEnd = tableOffset > Long.MAX_VALUE - entries * 4 ? Long.MAX_VALUE : tableOffset + entries * 4;
            if (Math.min(entries, needed + 1) > DynamicHeader.MAX_TABLE_ENTRIES) {
                long at = headerAt + DynamicHeader.MAX_TABLE_ENTRIES_OFFSET;
                findings.corrupt("TABLE_TOO_LARGE", at, Messages.at("dynamic header Max Table Entries", at,
                                String.format("%d entries, more than the %d any image needs that vhdkit reads;"
                                        + " the table is not read", entries, DynamicHeader.MAX_TABLE_ENTRIES)),
                        "not repairable: the table is larger than vhdkit reads");
                sound = false;
            } else if (tableOffset < Footer.SIZE || tableEnd > limit) {
                long at = headerAt + DynamicHeader.TABLE_OFFSET_OFFSET;
                findings.corrupt("TABLE_OUTSIDE_FILE", at, Messages.at("dynamic header Table Offset", at,
                                "the table of " + entries + " entries at " + Messages.range(tableOffset, tableEnd)
                                        + " is not inside " + Messages.range(Footer.SIZE, limit) + ", where the"
                                        + " file's data lies"),
                        "not repairable: the table is not in the file");
                sound = false;
            } else {
                tableReadable = true;
                regions.add(new Region(tableOffset, Math.min(tableOffset + header.tableBytes(), limit),
                        Region.Kind.TABLE, 0));
            }
            for (int i = 0; i < DynamicHeader.LOCATOR_COUNT; i++) {
                ParentLocator locator = header.locators().get(i);
                if (locator.isEmpty()) {
                    continue;
                }
                long entryAt = headerAt + DynamicHeader.LOCATORS_OFFSET + (long) i * ParentLocator.SIZE;
                String field = "dynamic header Parent Locator " + (i + 1);
                long length = Integer.toUnsignedLong(locator.dataLength());
                long start = locator.dataOffset();
                if (start < 0 || start > limit - length) {
                    long at = entryAt + ParentLocator.DATA_OFFSET_OFFSET;
                    findings.corrupt("LOCATOR_OUTSIDE_FILE", at, Messages.at(
                                    field + " Platform Data Offset", at, "its data of "
                                            + length + " bytes at " + Long.toUnsignedString(start)
                                            + " lies outside the file's data (" + limit + " bytes)"),
                            "not repairable: the locator's data is not in the file");
                    sound = false;
                    continue;
                }
                if (length > locator.dataSpaceBytes()) {
                    long at = entryAt + ParentLocator.DATA_LENGTH_OFFSET;
                    findings.corrupt("LOCATOR_TOO_LONG", at, Messages.at(
                                    field + " Platform Data Length", at, "its data of "
                                            + length + " bytes exceeds its data space of " + locator.dataSpaceBytes()
                                            + " bytes"),
                            "not repairable: which of the two fields is wrong cannot be told");
                    sound = false;
                }
                if (length > 0) {
                    regions.add(new Region(start, start + roundUp(length, SECTOR), Region.Kind.LOCATOR, i + 1));
                }
            }
            return sound;
        }

        /**
         * Adds the allocated blocks, reporting those that do not end inside the file's data. Blocks past
         * the end that lie after every block inside it, each in the place the next new block would take
         * after the one before (as {@code SparseVhd} places them; places that no entry names may come
         * between, blocks whose entries the cut lost, whole in the file or running past its end), are
         * what a power cut leaves when it kept table entries written since the last flush but not the
         * file's new size (at most part of the new blocks reached the file): they are repaired by
         * clearing their entries, which loses nothing flushed. Any other block past the end is not
         * repairable.
         */
        void addBlocks(int[] table) {
            long dataEnd = 0;
            for (Region region : regions) {
                dataEnd = Math.max(dataEnd, Math.min(region.end(), limit));
            }
            List<long[]> past = new ArrayList<>(); // {start, block} of the blocks that run past the end
            for (int block = 0; block < table.length; block++) {
                if (table[block] != BlockAllocationTable.UNALLOCATED) {
                    long start = Integer.toUnsignedLong(table[block]) * SECTOR;
                    if (start + blockBytes <= limit) {
                        dataEnd = Math.max(dataEnd, start + blockBytes);
                    } else {
                        past.add(new long[] {start, block});
                    }
                }
            }
            past.sort((a, b) -> Long.compare(a[0], b[0]));
            java.util.Set<Integer> cutOff = new java.util.HashSet<>();
            long next = dataEnd;
            int i = 0;
            while (i < past.size()) {
                long[] block = past.get(i);
                if (block[0] == next || block[0] == alignedBlockPlace(next)) {
                    cutOff.add((int) block[1]);
                    next = block[0] + blockBytes;
                    i++;
                } else if (alignedBlockPlace(next) + blockBytes <= block[0]) {
                    // A block's place that no entry names, before the kept entry's block: a block
                    // allocated since the last flush whose entry the power cut lost. It may lie whole
                    // in the file (its footer moved the end) or run past the end (a torn write kept
                    // only part of its data, or none): the kept entry's block then lies wholly past
                    // the end, never forced either. Step over it; what of it is in the file is leaked.
                    // Once aligned, places follow one another every block's bytes rounded up to 4 KiB:
                    // step over all of those before the kept entry's block at once (a hostile entry far
                    // past the end of an image with small blocks would otherwise take billions of steps).
                    long place = alignedBlockPlace(next);
                    long stride = (blockBytes + 4095) & -4096L;
                    next = place + (block[0] - blockBytes - place) / stride * stride + blockBytes;
                } else {
                    break;
                }
            }
            for (int block = 0; block < table.length; block++) {
                if (table[block] == BlockAllocationTable.UNALLOCATED) {
                    continue;
                }
                long sector = Integer.toUnsignedLong(table[block]);
                long start = sector * SECTOR;
                long end = start + blockBytes;
                if (end > limit) {
                    long at = entryOffset(block);
                    String where = start >= fileSize ? "past the end of the file (" + fileSize + " bytes)"
                            : trailerAt >= 0 ? "past the trailing footer at offset " + trailerAt
                            : "past the end of the file (" + fileSize + " bytes)";
                    Findings.Pending finding = findings.corrupt("BLOCK_PAST_END", at, Messages.at("BAT entry " + block,
                                    at, "block at sector " + sector + " spans " + Messages.range(start, end) + ", "
                                            + where),
                            "not repairable: the block's data is not in the file");
                    if (cutOff.contains(block)) {
                        finding.repairedBy(new Fix.ClearEntry(at), "clear the entry: the block lies past the file's"
                                + " data, where a new block would have gone (a power cut kept its entry but"
                                + " not the block, written since the last flush); it reads as never written");
                        continue; // the rest of the check sees the image as the repair leaves it
                    }
                    pastEnd = true;
                }
                regions.add(new Region(start, end, Region.Kind.BLOCK, block));
            }
        }

        /** Where a new block's bitmap goes after {@code from}: its data 4 KiB-aligned, as SparseVhd places it. */
        private long alignedBlockPlace(long from) {
            long bitmap = header.bitmapBytes();
            return ((from + bitmap + 4095) & -4096L) - bitmap;
        }

        private long entryOffset(int block) {
            return header.tableOffset() + 4L * block;
        }

        /**
         * Reports the structures that overlap: each one that starts inside an earlier one is reported
         * once, against the earlier one that reaches furthest.
         *
         * @return whether the header's own structures (header, table, locator data) are clear of one another
         */
        boolean checkOverlaps() {
            Collections.sort(regions);
            boolean headerSound = true;
            Region widest = null;
            for (Region region : regions) {
                if (widest != null && region.start() < widest.end()) {
                    headerSound &= reportOverlap(widest, region);
                }
                if (widest == null || region.end() > widest.end()) {
                    widest = region;
                }
            }
            return headerSound;
        }

        /** Reports one overlap; returns false when it is between the header's own structures. */
        private boolean reportOverlap(Region first, Region second) {
            if (first.isBlock() && second.isBlock()) {
                long at = entryOffset(second.index());
                findings.corrupt("BLOCKS_OVERLAP", at, Messages.at("BAT entry " + second.index(), at,
                                second.describe() + " overlaps " + first.describe() + " (BAT entry " + first.index()
                                        + " at offset " + entryOffset(first.index()) + ")"),
                        "not repairable: which block owns the shared bytes cannot be told");
                return true;
            }
            if (first.isBlock() || second.isBlock()) {
                Region block = first.isBlock() ? first : second;
                Region other = first.isBlock() ? second : first;
                long at = entryOffset(block.index());
                findings.corrupt("BLOCK_OVERLAPS_METADATA", at, Messages.at("BAT entry " + block.index(), at,
                                block.describe() + " overlaps " + other.describe() + " (a misplaced block)"),
                        "not repairable: the block's data and the structure share bytes; one of them is lost");
                return true;
            }
            findings.corrupt("STRUCTURES_OVERLAP", headerAt, Messages.at("dynamic header", headerAt,
                            second.describe() + " overlaps " + first.describe()),
                    "not repairable: two structures share bytes; one of them is lost");
            return false;
        }

        /**
         * Reports unreferenced space: gaps between structures, and the run before the trailing footer,
         * which is repaired together with any problem of the trailer itself.
         */
        void checkSpace() {
            long covered = 0;
            Region before = null;
            List<Gap> gaps = new ArrayList<>();
            for (Region region : regions) { // sorted by checkOverlaps
                if (region.start() >= limit) {
                    break; // past the end of the file's data: reported as such
                }
                if (!isPadding(covered, region.start())) {
                    gaps.add(new Gap(covered, region.start(), findings.leak("LEAKED_GAP", covered, Messages.at("file",
                                    covered, "the " + (region.start() - covered) + " bytes at "
                                            + Messages.range(covered, region.start()) + " between " + before.describe()
                                            + " and " + region.describe() + " belong to nothing"),
                            "not repairable in place: no block from further on fits it ('vhd compact' closes it)")));
                }
                if (region.end() > covered) {
                    covered = region.end();
                    before = region;
                }
            }
            long dataEnd = covered;
            long trailer = trailerAt >= 0 ? trailerAt : fileSize - Footer.SIZE;
            boolean tailLeak = !isPadding(dataEnd, trailer);
            String tail = "the " + (trailer - dataEnd) + " bytes at " + Messages.range(dataEnd, trailer) + ", after "
                    + before.describe() + " and before the trailing footer, belong to nothing (a block written but"
                    + " never entered in the table, or garbage)";
            if (pastEnd) {
                String because = "a block runs past the end of the file";
                if (tailLeak) {
                    findings.leak("LEAKED_TAIL", dataEnd, Messages.at("file", dataEnd, tail),
                            "not repairable while " + because);
                }
                unknownLayout(because);
                return;
            }
            if (!gaps.isEmpty() && layoutSound() && planMoves(gaps, tailLeak ? dataEnd : -1, tail)) {
                return;
            }
            if (!tailLeak && trailerFinding == null) {
                return;
            }
            boolean move = tailLeak || trailerAt < 0 && (dataEnd > trailer || trailer % SECTOR != 0);
            long position = move ? trailerPlace(dataEnd) : trailer;
            Fix.WriteTrailer fix = new Fix.WriteTrailer(position, footer.encode(), fileSize);
            String resize = fix.newSize() == fileSize ? ""
                    : fix.newSize() < fileSize ? " and truncate the file from " + fileSize + " to " + fix.newSize() + " bytes"
                    : " (the file grows from " + fileSize + " to " + fix.newSize() + " bytes)";
            if (tailLeak) {
                findings.leak("LEAKED_TAIL", dataEnd, Messages.at("file", dataEnd, tail), "").repairedBy(fix,
                        "move the trailing footer down to offset " + position + resize);
            }
            if (trailerFinding != null) {
                String what = trailerAt < 0 ? "restore the trailing footer from its intact copy at offset 0"
                        : trailerFinding.code().equals("FOOTER_SHORT") ? "write the trailing footer out to 512 bytes"
                        : "rewrite the trailing footer with its checksum computed (every other field is valid)";
                trailerFinding.repairedBy(fix, what + ": write it at offset " + position + resize);
            }
        }

        /** Whether nothing found so far puts the table, the blocks or the header's structures in doubt. */
        private boolean layoutSound() {
            return LAYOUT_CODES.stream().noneMatch(findings::has);
        }

        /**
         * Plans the closing of {@code gaps} by moving blocks from the end of the file into them (the
         * last block first, each into the first gap before it where it fits with its data 4 KiB-aligned),
         * and the trailing footer down to the new end. Gives the plan as one fix to every gap it closes,
         * to the leak before the trailer (at {@code tailLeak}, or -1) and to a trailer problem. Returns
         * false when no block fits any gap.
         */
        private boolean planMoves(List<Gap> gaps, long tailLeak, String tail) {
            List<Region> blocks = regions.stream().filter(Region::isBlock).sorted().toList();
            int last = blocks.size() - 1; // blocks[0..last] stay where they are
            List<Fix.MoveBlocks.Move> moves = new ArrayList<>();
            long[] filled = new long[gaps.size()];
            long movedEnd = 0;
            for (int g = 0; g < gaps.size(); g++) {
                Gap gap = gaps.get(g);
                long at = gap.start();
                while (last >= 0 && blocks.get(last).start() >= gap.end()) {
                    long to = roundUp(at + header.bitmapBytes(), DATA_ALIGNMENT) - header.bitmapBytes();
                    if (to + blockBytes > gap.end()) {
                        break;
                    }
                    Region block = blocks.get(last--);
                    moves.add(new Fix.MoveBlocks.Move(block.index(), block.start(), to));
                    at = to + blockBytes;
                    movedEnd = Math.max(movedEnd, at);
                }
                filled[g] = at;
            }
            if (moves.isEmpty()) {
                return false;
            }
            long dataEnd = movedEnd;
            for (Region region : regions) {
                if (!region.isBlock()) {
                    dataEnd = Math.max(dataEnd, region.end());
                }
            }
            for (int b = 0; b <= last; b++) {
                dataEnd = Math.max(dataEnd, blocks.get(b).end());
            }
            long position = trailerPlace(dataEnd);
            Fix.MoveBlocks fix = new Fix.MoveBlocks(moves, header.tableOffset(), blockBytes,
                    new Fix.WriteTrailer(position, footer.encode(), fileSize));
            String what = "move " + (moves.size() == 1 ? "block " + moves.getFirst().block() : moves.size() + " blocks")
                    + " from the end of the file into the gaps, then the trailing footer down to offset " + position
                    + " and cut the file from " + fileSize + " to " + fix.trailer().newSize() + " bytes";
            for (int g = 0; g < gaps.size(); g++) {
                if (isPadding(filled[g], gaps.get(g).end())) {
                    gaps.get(g).finding().repairedBy(fix, what);
                }
            }
            if (tailLeak >= 0) {
                findings.leak("LEAKED_TAIL", tailLeak, Messages.at("file", tailLeak, tail), "").repairedBy(fix, what);
            }
            if (trailerFinding != null) {
                trailerFinding.repairedBy(fix,
                        "write the trailing footer anew at offset " + position + " (" + what + ")");
            }
            return true;
        }

        /**
         * Whether the unreferenced bytes {@code [from, to)} are padding: fewer than {@value #PADDING}, or
         * no more than Windows' layout leaves (the table padded to 4 KiB, then block data 4 KiB-aligned).
         */
        private boolean isPadding(long from, long to) {
            return to - from < PADDING || to <= alignedPlace(from);
        }

        /**
         * Where Windows puts the next block's bitmap, or the trailing footer, after a structure ending
         * at {@code end}: the 4 KiB boundary at or after it, then as far on as makes the
         * block's data start at a 4 KiB boundary.
         */
        private long alignedPlace(long end) {
            long bitmap = header.bitmapBytes();
            return roundUp(roundUp(end, DATA_ALIGNMENT) + bitmap, DATA_ALIGNMENT) - bitmap;
        }

        /**
         * Where the trailing footer goes: right after the last structure, ending at {@code dataEnd},
         * where this library, qemu and VirtualBox put it. No padding is left before it: qemu writes its
         * next block there without clearing what it does not write, so stale bytes would show through.
         */
        private long trailerPlace(long dataEnd) {
            return roundUp(dataEnd, SECTOR);
        }
    }
}
