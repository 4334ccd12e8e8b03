package org.vhdkit.vhd.edit;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import org.vhdkit.vhd.format.Footer;

/**
 * What {@link ImageEdits#set} did.
 *
 * <p>Immutable; safe to share between threads.
 *
 * @param file     the image
 * @param before   its footer before
 * @param after    its footer now (the same as {@code before} when nothing was to change)
 * @param warnings what the user should know, one sentence each
 */
public record SetResult(Path file, Footer before, Footer after, List<String> warnings) {
    public SetResult {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(before, "before");
        Objects.requireNonNull(after, "after");
        warnings = List.copyOf(warnings);
    }

    /** Whether the footer changed. */
    public boolean changed() {
        return !before.equals(after);
    }
}
