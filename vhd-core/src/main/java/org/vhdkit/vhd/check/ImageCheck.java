package org.vhdkit.vhd.check;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.vhdkit.vhd.ParentNotFoundException;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.format.DiskType;
import org.vhdkit.vhd.format.DynamicHeader;
import org.vhdkit.vhd.format.VhdFormatException;
import org.vhdkit.vhd.format.VhdTime;
import org.vhdkit.vhd.io.ByteStore;

/**
 * The consistency check of a VHD file, and its repair: the entry point of this package.
 *
 * <p>The check reads the raw file, not a {@link VhdDisk} (which refuses a damaged image at its first
 * fault): it reports every fault it can see, each as a {@link Finding} with a stable code. The codes:
 * <table>
 * <caption>Finding codes</caption>
 * <tr><th>code</th><th>severity</th><th>repaired by {@link #repair}</th><th>what</th></tr>
 * <tr><td>FILE_TOO_SHORT</td><td>corrupt</td><td>no</td><td>shorter than a footer</td></tr>
 * <tr><td>FOOTER_DAMAGED</td><td>corrupt</td><td>from the copy at offset 0</td><td>the trailing footer is not a footer</td></tr>
 * <tr><td>FOOTER_CHECKSUM</td><td>corrupt</td><td>yes (from the copy, or the checksum rewritten when the fields are valid)</td><td>the trailing footer's checksum is wrong</td></tr>
 * <tr><td>FOOTER_SHORT</td><td>warning</td><td>yes (written out to 512 bytes)</td><td>a 511-byte trailer (old Virtual PC)</td></tr>
 * <tr><td>FOOTER_COPY_DAMAGED, FOOTER_COPY_CHECKSUM, FOOTER_COPY_MISMATCH</td><td>corrupt</td><td>yes (from the trailer)</td><td>the copy at offset 0 is not the trailing footer</td></tr>
 * <tr><td>FIXED_SIZE_MISMATCH</td><td>corrupt</td><td>no</td><td>a fixed disk's file is shorter than its Current Size</td></tr>
 * <tr><td>SAVED_STATE, SIZE_ABOVE_LIMIT</td><td>warning</td><td>no</td><td>footer fields worth knowing</td></tr>
 * <tr><td>HEADER_PAST_END, HEADER_DAMAGED</td><td>corrupt</td><td>no</td><td>no usable dynamic header</td></tr>
 * <tr><td>HEADER_RESERVED, PARENT_IN_DYNAMIC</td><td>warning</td><td>no</td><td>the header's reserved bytes, or a
 * dynamic disk's parent name and locators, are not zero as the specification has them</td></tr>
 * <tr><td>HEADER_CHECKSUM</td><td>corrupt</td><td>when every other field is valid</td><td>the dynamic header's checksum is wrong</td></tr>
 * <tr><td>TABLE_SIZE</td><td>corrupt</td><td>when the table is larger (Max Table Entries set to what the
 * footer's size needs)</td><td>the table does not fit the disk</td></tr>
 * <tr><td>TABLE_OUTSIDE_FILE</td><td>corrupt</td><td>no</td><td>the table does not fit the file</td></tr>
 * <tr><td>TABLE_TOO_LARGE</td><td>corrupt</td><td>no</td><td>the table has more entries than any image needs
 * ({@link org.vhdkit.vhd.format.DynamicHeader#MAX_TABLE_ENTRIES}); it is not read</td></tr>
 * <tr><td>LOCATOR_OUTSIDE_FILE, LOCATOR_TOO_LONG</td><td>corrupt</td><td>no</td><td>a parent locator's data</td></tr>
 * <tr><td>STRUCTURES_OVERLAP</td><td>corrupt</td><td>no</td><td>header, table and locator data overlap</td></tr>
 * <tr><td>BLOCK_PAST_END</td><td>corrupt</td><td>when the block lies wholly past the data where the next new
 *     block would go (a power cut kept the entry, not the block): the entry is cleared</td><td>a table entry
 *     points past the end of the file</td></tr>
 * <tr><td>BLOCKS_OVERLAP</td><td>corrupt</td><td>no</td><td>two table entries share bytes</td></tr>
 * <tr><td>BLOCK_OVERLAPS_METADATA</td><td>corrupt</td><td>no</td><td>a block over the headers, table or locator data</td></tr>
 * <tr><td>DATA_NOT_IN_BITMAP</td><td>corrupt</td><td>no (it would be a guess)</td><td>dynamic disk: data in a sector whose bitmap bit is clear</td></tr>
 * <tr><td>BITMAP_NOT_WRITTEN</td><td>warning</td><td>nothing to repair</td><td>dynamic disk: data in a block whose
 *     bitmap bits are all clear, what a power cut leaves when it keeps a new block's entry and data but not its
 *     bitmap; the disk reads zeros there, as before those writes, which were never flushed</td></tr>
 * <tr><td>LEAKED_TAIL</td><td>leak</td><td>yes (footer moved down, file truncated)</td><td>unreferenced space before the trailing footer</td></tr>
 * <tr><td>LEAKED_GAP</td><td>leak</td><td>when blocks from further on fit it (moved there from the end of the
 * file, which is then cut)</td><td>unreferenced space between structures</td></tr>
 * <tr><td>PARENT_NOT_FOUND</td><td>corrupt</td><td>no</td><td>no parent with the UUID the child was linked to</td></tr>
 * <tr><td>PARENT_TIMESTAMP</td><td>warning</td><td>no</td><td>the parent changed after the link was made</td></tr>
 * <tr><td>PARENT_NOT_CHECKED</td><td>warning</td><td>no</td><td>the child is too damaged to follow its link</td></tr>
 * <tr><td>REFUSED_BY_READER</td><td>corrupt</td><td>no</td><td>the library refuses to open an image the check passed</td></tr>
 * </table>
 *
 * <p>The repair fixes only what needs no guessing, each step ordered so that a crash at any point
 * leaves a valid image (see {@link Fix}); then it checks the structures again, and marks as repaired
 * only what is gone.
 *
 * <p>Thread-safety: stateless; safe from any thread. A check holds a shared lock on the file for as
 * long as it reads it, a repair an exclusive one: a repair is refused while anything has the image
 * open for writing, and a writer is refused while a repair runs.
 */
public final class ImageCheck {
    private ImageCheck() {
    }

    /**
     * Checks the image at {@code path}, reading it only.
     *
     * @param progress told how many bytes of the virtual disk are checked (the blocks that map them,
     *                 for a dynamic or differencing disk; a fixed disk's all at once)
     * @return every finding; {@link CheckReport#status()} is the verdict
     * @throws IOException when the file cannot be opened or read (a damaged image is a report, not an
     *                     exception)
     */
    public static CheckReport check(Path path, ProgressListener progress) throws IOException {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(progress, "progress");
        Inspection.Result result;
        try (ByteStore store = ByteStore.open(path, ByteStore.Mode.READ_ONLY)) {
            result = Inspection.run(store, progress, true);
        }
        List<Finding> findings = new ArrayList<>(result.findings());
        findings.addAll(checkLink(path, result.type(), findings));
        return new CheckReport(path, result.type(), findings, false);
    }

    /**
     * Checks the image at {@code path} and repairs what can be repaired without guessing: a damaged
     * trailing footer (from its copy), a damaged copy (from the trailer), a checksum whose structure's
     * other fields are valid, leaked space before the trailing footer (the footer moved down and the
     * file truncated), leaked space between structures (blocks moved from the end of the file into
     * it, the file then cut), a table with more entries than the footer's size needs (what a resize
     * stopped between its header and footer writes leaves; the header's count set to the size's). Each step is crash-safe; see {@link Fix}.
     *
     * @param progress as for {@link #check}
     * @return every finding of the check, each marked with whether it was repaired;
     *         {@link CheckReport#status()} is the verdict on the image as the repair left it
     * @throws IOException when the file cannot be opened for writing (it is locked, or read-only) or an
     *                     I/O error stops a repair; the image is then as valid as before the step
     */
    public static CheckReport repair(Path path, ProgressListener progress) throws IOException {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(progress, "progress");
        List<Finding> findings = new ArrayList<>();
        Inspection.Result before;
        try (ByteStore store = ByteStore.open(path, ByteStore.Mode.READ_WRITE)) {
            before = Inspection.run(store, progress, true);
            List<Fix> fixes = before.fixes();
            for (Fix fix : fixes) {
                fix.apply(store);
            }
            // The fixes touch footers, headers and the file's end, never bitmaps or data: checking the
            // structures again is enough to see that each did what it claims.
            Set<String> remaining = new HashSet<>();
            if (!fixes.isEmpty()) {
                Inspection.run(store, ProgressListener.NONE, false).findings().forEach(f -> remaining.add(f.code()));
            }
            for (Findings.Problem problem : before.problems()) {
                Finding finding = problem.finding();
                boolean fixed = problem.fix().isPresent() && !remaining.contains(finding.code());
                findings.add(fixed ? finding.asRepaired() : finding);
            }
        }
        findings.addAll(checkLink(path, before.type(), findings));
        return new CheckReport(path, before.type(), findings, true);
    }

    /**
     * Reclaims the image's leaked space, as {@link #repair} does, when leaks (and warnings) are all the
     * structures' check finds; otherwise leaves the image alone. Reads no data: what an edit that leaves
     * blocks unreferenced (a shrink) calls once it is done. Each step is crash-safe, as in
     * {@link #repair}.
     *
     * @return whether anything was reclaimed
     */
    public static boolean reclaimLeakedSpace(Path path) throws IOException {
        try (ByteStore store = ByteStore.open(path, ByteStore.Mode.READ_WRITE)) {
            Inspection.Result found = Inspection.run(store, ProgressListener.NONE, false);
            boolean leaksOnly = found.problems().stream().map(p -> p.finding().severity())
                    .noneMatch(s -> s == Severity.CORRUPT);
            if (!leaksOnly || found.fixes().isEmpty()) {
                return false;
            }
            for (Fix fix : found.fixes()) {
                fix.apply(store);
            }
            return true;
        }
    }

    /**
     * What opening the image with the library says: for a differencing disk, whether its parent is
     * found (by UUID, as {@link Vhd#openReadOnly} resolves it) and whether its time stamp still matches;
     * for any image the check found sound, that the library accepts it too.
     */
    private static List<Finding> checkLink(Path path, Optional<DiskType> type, List<Finding> found)
            throws IOException {
        if (type.isEmpty()) {
            return List.of();
        }
        boolean differencing = type.get() == DiskType.DIFFERENCING;
        boolean corrupt = found.stream().anyMatch(f -> f.remains() && f.severity() == Severity.CORRUPT);
        if (corrupt) {
            return differencing ? List.of(new Finding(Severity.WARNING, "PARENT_NOT_CHECKED",
                    "parent link: not followed, as the image itself is corrupt", -1, false, false,
                    "check again once the image is repaired")) : List.of();
        }
        List<Finding> findings = new ArrayList<>();
        try (VhdDisk disk = Vhd.openReadOnly(path)) {
            if (differencing) {
                DynamicHeader header = disk.dynamicHeader().orElseThrow();
                VhdDisk parent = disk.parent().orElseThrow();
                long modified = VhdTime.fromInstant(Files.getLastModifiedTime(parent.path()).toInstant());
                if (modified != header.parentTimestamp()) {
                    long at = disk.footer().dataOffset() + DynamicHeader.PARENT_TIMESTAMP_OFFSET;
                    findings.add(new Finding(Severity.WARNING, "PARENT_TIMESTAMP", Messages.at(
                            "dynamic header Parent Time Stamp", at, "the link was made when the parent "
                                    + parent.path() + " was last modified at " + VhdTime.toInstant(header.parentTimestamp())
                                    + ", but it was modified at " + VhdTime.toInstant(modified) + " since"),
                            at, false, false, "not a fault by itself (a copy, or a time zone change, moves the"
                            + " time); the parent's UUID matches, but if its data was changed this disk reads"
                            + " changed too"));
                }
            }
        } catch (ParentNotFoundException e) {
            findings.add(new Finding(Severity.CORRUPT, "PARENT_NOT_FOUND", withoutFile(path, e.getMessage()), -1,
                    false, false, "not repairable here: put the parent back where the locators point, or relink"
                    + " the disk to its parent's new place ('vhd rebase')"));
        } catch (VhdFormatException e) {
            if (found.stream().anyMatch(f -> f.remains() && f.severity() == Severity.LEAK)) {
                return findings; // the leak is what the reader refuses (a fixed disk's footer not at its size)
            }
            findings.add(new Finding(Severity.CORRUPT, "REFUSED_BY_READER", withoutFile(path, e.getMessage()),
                    path.toString().equals(e.file()) ? Math.max(e.offset(), -1) : -1, false, false,
                    "not repairable: the check passed what the reader refuses; please report this image"));
        }
        return findings;
    }

    /** A library message without its leading {@code "<file>: "}, which the report names once. */
    private static String withoutFile(Path path, String message) {
        String prefix = path + ": ";
        return message.startsWith(prefix) ? message.substring(prefix.length()) : message;
    }
}
