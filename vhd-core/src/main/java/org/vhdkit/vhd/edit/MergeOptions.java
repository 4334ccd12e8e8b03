package org.vhdkit.vhd.edit;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * How {@link ImageEdits#merge} merges a differencing disk.
 *
 * <p>Immutable; safe to share between threads.
 *
 * @param into the ancestor to merge into; empty for the disk's parent
 * @param keep whether to leave the merged disks in place rather than delete them. The disk merged
 *             still shows the same content through its chain; the disks between it and the ancestor
 *             do not (their parent's content changed under them).
 */
public record MergeOptions(Optional<Path> into, boolean keep) {
    public MergeOptions {
        Objects.requireNonNull(into, "into");
    }

    /** Into the parent, deleting the merged disk afterwards. */
    public static final MergeOptions INTO_PARENT = new MergeOptions(Optional.empty(), false);

    /** Into {@code ancestor}, which must be in the disk's parent chain. */
    public static MergeOptions into(Path ancestor) {
        return new MergeOptions(Optional.of(ancestor), false);
    }

    /** These options, keeping (or not) the merged disks. */
    public MergeOptions withKeep(boolean newKeep) {
        return new MergeOptions(into, newKeep);
    }
}
