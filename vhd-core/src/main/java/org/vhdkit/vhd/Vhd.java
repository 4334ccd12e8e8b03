package org.vhdkit.vhd;

import java.io.IOException;
import java.nio.file.Path;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.image.VhdCreation;
import org.vhdkit.vhd.image.VhdReader;

/**
 * Opens and creates VHD files: the entry point of the library.
 *
 * <pre>{@code
 * try (VhdDisk disk = Vhd.create(Path.of("disk.vhd"), CreateOptions.dynamic(10L << 30))) {
 *     disk.write(0, bootSector);
 * }
 * try (VhdDisk child = Vhd.create(Path.of("child.vhd"), CreateOptions.differencing(Path.of("disk.vhd")))) {
 *     child.read(0, buffer);   // falls through to disk.vhd
 * }
 * }</pre>
 *
 * <p>Thread-safety: safe from any thread. Two writers of one file are refused, in this process or
 * across processes; see {@link org.vhdkit.vhd.io.ByteStore}.
 */
public final class Vhd {
    /** The largest disk the format allows: 2040 GiB (0xFF000000 sectors). */
    public static final long MAX_SIZE = 0xFF000000L * VirtualDisk.SECTOR_SIZE;

    private Vhd() {
    }

    /**
     * Opens a fixed, dynamic or differencing VHD. A differencing disk's parents are found through
     * its parent locators, then by its parent's name beside it, and opened read-only: in a pool of
     * the disk's own, closed with it, unless {@link OpenOptions#withParents} names one to share.
     *
     * @throws org.vhdkit.vhd.format.VhdFormatException when the image is damaged or not a VHD
     * @throws ParentNotFoundException when a differencing disk's parent cannot be found
     * @throws IOException when the file cannot be opened, or is held by another writer
     */
    public static VhdDisk open(Path path, OpenOptions options) throws IOException {
        return VhdReader.open(path, options);
    }

    /** Opens a VHD read-only. */
    public static VhdDisk openReadOnly(Path path) throws IOException {
        return open(path, OpenOptions.READ_ONLY);
    }

    /**
     * Creates a new VHD at {@code path}, which must not exist, and returns it open for writing.
     * Nothing is left behind when creation fails.
     *
     * @throws IllegalArgumentException when the options are out of range (size, block size)
     * @throws java.nio.file.FileAlreadyExistsException when the file exists
     */
    public static VhdDisk create(Path path, CreateOptions options) throws IOException {
        return VhdCreation.create(path, options);
    }
}
