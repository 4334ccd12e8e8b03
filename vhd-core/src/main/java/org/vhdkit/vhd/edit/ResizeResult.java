package org.vhdkit.vhd.edit;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import org.vhdkit.vhd.format.DiskType;

/**
 * What {@link ImageEdits#resize} did.
 *
 * <p>Immutable; safe to share between threads.
 *
 * @param file       the image
 * @param type       its type
 * @param oldSize    the size before, in bytes
 * @param newSize    the size now, in bytes
 * @param tableMoved whether the block allocation table had no room to grow where it was and was
 *                   moved to the end of the file
 * @param warnings   what the user should know, one sentence each (data discarded, a size qemu will
 *                   read differently)
 */
public record ResizeResult(Path file, DiskType type, long oldSize, long newSize, boolean tableMoved,
                           List<String> warnings) {
    public ResizeResult {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(type, "type");
        warnings = List.copyOf(warnings);
    }

    /** Whether the size changed. */
    public boolean changed() {
        return oldSize != newSize;
    }
}
