package org.vhdkit.cli.disk;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.vhdkit.cli.conventions.FileArguments;
import org.vhdkit.vhd.DiskImage;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.disk.VirtualDisk;

/**
 * Opens the disks named on the command line whatever their format, as
 * {@link org.vhdkit.vhd.DiskImage} tells them apart: a VHD (with its parents) or a raw disk image;
 * images of other formats, and damaged VHDs, are refused (exit 65). For the commands that work on
 * any disk: {@code digest}, {@code compare}, {@code map}.
 */
final class DiskArguments {
    private DiskArguments() {
    }

    /**
     * Opens {@code file} read-only as a VHD or, when it is none, as a raw disk.
     *
     * @throws IOException when it cannot be opened (the message names the file), or it is refused
     *     (the library's exceptions, with file, field and offset)
     */
    static VirtualDisk openReadOnly(Path file) throws IOException {
        FileArguments.checkNotDirectory(file);
        try {
            return DiskImage.openReadOnly(file);
        } catch (IOException e) {
            throw FileArguments.naming(file, e);
        }
    }

    /** What the disk is, for output: {@code raw}, or the VHD's type ({@code fixed}, {@code dynamic}, {@code differencing}). */
    static String type(VirtualDisk disk) {
        return disk instanceof VhdDisk vhd ? vhd.type().name().toLowerCase(Locale.ROOT) : "raw";
    }

    /** The warnings of a VHD and of every parent below it, each once; none for a raw disk. */
    static List<String> warnings(VirtualDisk disk) {
        List<String> warnings = new ArrayList<>();
        for (VhdDisk layer : disk instanceof VhdDisk vhd ? vhd.chain() : List.<VhdDisk>of()) {
            layer.warnings().stream().filter(w -> !warnings.contains(w)).forEach(warnings::add);
        }
        return warnings;
    }
}
