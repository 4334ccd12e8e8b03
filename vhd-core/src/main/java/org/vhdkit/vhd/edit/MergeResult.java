package org.vhdkit.vhd.edit;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * What {@link ImageEdits#merge} did.
 *
 * <p>Immutable; safe to share between threads.
 *
 * @param target       the ancestor merged into
 * @param merged       the disks whose data went into it, the disk named first, then its parents
 *                     down to the target's child
 * @param removed      those of them deleted afterwards (none with {@link MergeOptions#keep()})
 * @param bytesWritten the bytes written into the target
 * @param targetGrown  whether the target was grown first, to the merged disk's larger size
 * @param warnings     what the user should know, one sentence each
 */
public record MergeResult(Path target, List<Path> merged, List<Path> removed, long bytesWritten,
                          boolean targetGrown, List<String> warnings) {
    public MergeResult {
        Objects.requireNonNull(target, "target");
        merged = List.copyOf(merged);
        removed = List.copyOf(removed);
        warnings = List.copyOf(warnings);
    }
}
