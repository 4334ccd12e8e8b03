package org.vhdkit.vhd;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.format.BlockAllocationTable;
import org.vhdkit.vhd.format.DiskType;
import org.vhdkit.vhd.format.DynamicHeader;
import org.vhdkit.vhd.format.Footer;

/**
 * An open VHD file: a {@link VirtualDisk} that also shows the structures it was read from.
 *
 * <p>Thread-safety: as {@link VirtualDisk}; the accessors here return immutable values (or, for
 * {@link #blockAllocationTable()}, a table that is itself thread-safe) and may be called at any time
 * before {@link #close()}.
 *
 * <p>Implemented only by the fixed and sparse disks of {@code org.vhdkit.vhd.image}, which
 * {@link Vhd} opens and creates; it cannot be sealed to them, as a sealed type outside a named
 * module permits only its own package.
 */
public interface VhdDisk extends VirtualDisk {

    /** The file. */
    Path path();

    /** The footer in force: the trailing one, or the copy at offset 0 when the trailer is damaged. */
    Footer footer();

    /** Fixed, dynamic or differencing. */
    default DiskType type() {
        return footer().diskType();
    }

    /** The dynamic header of a dynamic or differencing disk. */
    Optional<DynamicHeader> dynamicHeader();

    /** The block allocation table of a dynamic or differencing disk. */
    Optional<BlockAllocationTable> blockAllocationTable();

    /**
     * The parent of a differencing disk, opened read-only. It belongs to this disk, which closes it
     * (or lets go of its share of it) when it is closed: do not close it yourself.
     */
    Optional<VhdDisk> parent();

    /**
     * This disk and the parents open under it, top-down: this disk first, then its parent, its
     * parent's parent and so on, the base last. For a disk opened with its parents, element
     * {@code n} is layer {@code n} of {@link #extents}. Just this disk when it is not differencing or
     * was opened without its parent. The parents belong to this disk, as {@link #parent()} says.
     *
     * <p>Thread-safety: a new immutable list on each call; the chain of an open disk does not change.
     */
    default List<VhdDisk> chain() {
        List<VhdDisk> chain = new ArrayList<>();
        for (VhdDisk layer = this; layer != null; layer = layer.parent().orElse(null)) {
            chain.add(layer);
        }
        return List.copyOf(chain);
    }

    /**
     * The non-empty parent locators of a differencing disk with the paths they spell, in table
     * order; empty for other disks. Reads the locator data from the file.
     */
    List<LocatorText> parentLocators() throws java.io.IOException;

    /** The size of the file in bytes. */
    long fileSize();

    /**
     * What was odd but not wrong enough to refuse the image, in the words a user should read: a
     * damaged trailing footer read from its copy, a parent whose timestamp differs from the link.
     */
    List<String> warnings();
}
