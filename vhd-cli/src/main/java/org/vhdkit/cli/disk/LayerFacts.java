package org.vhdkit.cli.disk;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.vhdkit.vhd.LocatorText;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.format.DynamicHeader;
import org.vhdkit.vhd.format.Footer;

/**
 * What one layer of a disk (a VHD file) holds, taken while it is open so that it can be shown after
 * it is closed.
 *
 * @param path            the file
 * @param footer          the footer in force
 * @param header          the dynamic header of a dynamic or differencing disk
 * @param allocatedBlocks how many blocks the table maps, for a dynamic or differencing disk
 * @param fileSize        the size of the file
 * @param parent          the file the parent was found in, for a differencing disk whose parent was
 *                        found
 * @param locators        the parent locators of a differencing disk, with the paths they spell
 */
record LayerFacts(Path path, Footer footer, Optional<DynamicHeader> header, OptionalInt allocatedBlocks,
                  long fileSize, Optional<Path> parent, List<LocatorText> locators) {

    /** The facts of an open disk (not of its parents). */
    static LayerFacts of(VhdDisk disk) throws IOException {
        return new LayerFacts(disk.path(), disk.footer(), disk.dynamicHeader(),
                disk.blockAllocationTable().map(t -> OptionalInt.of(t.allocatedCount())).orElse(OptionalInt.empty()),
                disk.fileSize(), disk.parent().map(VhdDisk::path), disk.parentLocators());
    }

    /**
     * The facts of a differencing disk whose parent cannot be found: the disk opened alone, without
     * its parent. Empty when even that fails.
     */
    static Optional<LayerFacts> readWithoutParent(Path path) {
        try (VhdDisk alone = org.vhdkit.vhd.Vhd.open(path, OpenOptions.READ_ONLY.withoutParent())) {
            return Optional.of(of(alone));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }
}
