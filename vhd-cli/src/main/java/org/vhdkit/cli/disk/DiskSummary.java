package org.vhdkit.cli.disk;

import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.vhdkit.cli.conventions.AlignedLines;
import org.vhdkit.cli.conventions.Size;
import org.vhdkit.vhd.format.DiskGeometry;
import org.vhdkit.vhd.format.DiskType;
import org.vhdkit.vhd.format.DynamicHeader;
import org.vhdkit.vhd.format.Footer;
import org.vhdkit.vhd.format.VhdTime;

/**
 * What {@code vhd info} shows of one VHD file, in the shape of its JSON (see {@link InfoCommand}).
 *
 * @param file            the file, as named (a parent: where it was found)
 * @param type            {@code fixed}, {@code dynamic} or {@code differencing}
 * @param size            the virtual size in bytes (the footer's Current Size)
 * @param originalSize    the footer's Original Size: the size at creation
 * @param geometry        the footer's CHS geometry and the bytes it covers
 * @param blockSize       the block size in bytes; null for a fixed disk
 * @param totalBlocks     the number of blocks (Max Table Entries); null for a fixed disk
 * @param allocatedBlocks the blocks the table maps to the file; null for a fixed disk
 * @param fileSize        the size of the file in bytes
 * @param creator         the footer's creator fields
 * @param uuid            the footer's Unique Id
 * @param timestamp       the footer's Time Stamp (creation), ISO-8601 UTC
 * @param savedState      the footer's Saved State flag
 * @param features        the footer's Features field
 * @param temporary       whether Features marks the disk temporary (bit 0x1)
 * @param formatVersion   the footer's File Format Version, e.g. {@code "1.0"}
 * @param parent          what a differencing disk records of its parent; null otherwise
 */
record DiskSummary(String file, String type, long size, long originalSize, Geometry geometry, Integer blockSize,
                   Integer totalBlocks, Integer allocatedBlocks, long fileSize, Creator creator, String uuid,
                   String timestamp, boolean savedState, int features, boolean temporary, String formatVersion,
                   Parent parent) {

    /** The CHS geometry, and the bytes it covers (which may be less than the size). */
    record Geometry(int cylinders, int heads, int sectorsPerTrack, long capacity) {
    }

    /**
     * The footer's creator fields.
     *
     * @param application e.g. {@code "win"} (trailing spaces and NULs dropped, see {@link FourCharacterCode})
     * @param version     major.minor, e.g. {@code "10.0"}
     * @param hostOs      e.g. {@code "Wi2k"}
     */
    record Creator(String application, String version, String hostOs) {
    }

    /**
     * What a differencing disk records of its parent.
     *
     * @param name      the Parent Unicode Name
     * @param uuid      the Parent Unique ID
     * @param timestamp the Parent Time Stamp, ISO-8601 UTC
     * @param path      the file the parent was found in; null when it was not found
     * @param locators  the parent locator entries in use
     */
    record Parent(String name, String uuid, String timestamp, String path, List<Locator> locators) {
    }

    /**
     * One parent locator entry.
     *
     * @param platform the platform code, e.g. {@code "W2ku"}
     * @param offset   where its data is in the file
     * @param length   the bytes of data
     * @param space    the bytes reserved for the data
     * @param path     the path the data holds; null when it holds none that can be read (a Mac alias)
     */
    record Locator(String platform, long offset, int length, long space, String path) {
    }

    /** The summary of a layer. */
    static DiskSummary of(LayerFacts layer) {
        Footer footer = layer.footer();
        DiskGeometry g = footer.geometry();
        Optional<DynamicHeader> header = layer.header();
        int version = footer.formatVersion();
        return new DiskSummary(
                layer.path().toString(),
                footer.diskType().name().toLowerCase(Locale.ROOT),
                footer.currentSize(),
                footer.originalSize(),
                new Geometry(g.cylinders(), g.heads(), g.sectorsPerTrack(), g.capacity()),
                header.map(DynamicHeader::blockSize).orElse(null),
                header.map(DynamicHeader::maxTableEntries).orElse(null),
                layer.allocatedBlocks().isPresent() ? layer.allocatedBlocks().getAsInt() : null,
                layer.fileSize(),
                new Creator(FourCharacterCode.text(footer.creatorApplication()), versionText(footer.creatorVersion()),
                        FourCharacterCode.text(footer.creatorHostOs())),
                footer.uniqueId().toString(),
                VhdTime.toInstant(footer.timestamp()).toString(),
                footer.savedState(),
                footer.features(),
                (footer.features() & Footer.FEATURES_TEMPORARY) != 0,
                versionText(version),
                header.filter(h -> footer.diskType() == DiskType.DIFFERENCING)
                        .map(h -> parent(layer, h)).orElse(null));
    }

    private static Parent parent(LayerFacts layer, DynamicHeader header) {
        return new Parent(header.parentName(), header.parentUuid().toString(),
                VhdTime.toInstant(header.parentTimestamp()).toString(),
                layer.parent().map(Object::toString).orElse(null), locators(layer));
    }

    private static List<Locator> locators(LayerFacts layer) {
        return layer.locators().stream()
                .map(l -> new Locator(FourCharacterCode.text(l.locator().platformCode()), l.locator().dataOffset(),
                        l.locator().dataLength(), l.locator().dataSpaceBytes(), l.path().orElse(null)))
                .toList();
    }

    private static String versionText(int version) {
        return (version >>> 16) + "." + (version & 0xFFFF);
    }

    /** Adds this summary's human lines. */
    void addTo(AlignedLines lines) {
        lines.add("file", file).add("type", type).add("size", Size.describe(size));
        if (originalSize != size) {
            lines.add("original size", Size.describe(originalSize));
        }
        lines.add("geometry (CHS)", geometry.cylinders() + "/" + geometry.heads() + "/" + geometry.sectorsPerTrack()
                + ", covers " + Size.describe(geometry.capacity()));
        if (blockSize != null) {
            lines.add("block size", Size.human(blockSize));
            lines.add("blocks allocated", allocatedBlocks + " of " + totalBlocks);
        }
        lines.add("file size", Size.describe(fileSize))
                .add("creator", creator.application() + " " + creator.version() + " (host OS " + creator.hostOs() + ")")
                .add("uuid", uuid)
                .add("created", timestamp)
                .add("saved state", savedState ? "yes" : "no")
                .add("features", String.format("0x%08x", features) + (temporary ? " (temporary)" : ""));
        if (!formatVersion.equals("1.0")) {
            lines.add("format version", formatVersion);
        }
        if (parent != null) {
            lines.add("parent name", parent.name())
                    .add("parent uuid", parent.uuid())
                    .add("parent timestamp", parent.timestamp());
            for (Locator l : parent.locators()) {
                lines.add("parent locator", l.platform() + " at offset " + l.offset() + ", " + l.length() + " bytes"
                        + (l.path() != null ? ": " + l.path() : ""));
            }
            lines.add("parent path", parent.path() != null ? parent.path() : "(unresolved)");
        }
    }
}
