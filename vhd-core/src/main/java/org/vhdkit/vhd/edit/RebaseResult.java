package org.vhdkit.vhd.edit;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.UUID;

/**
 * What {@link ImageEdits#rebase} did.
 *
 * <p>Immutable; safe to share between threads.
 *
 * @param child         the differencing disk relinked
 * @param newParent     its parent now
 * @param mode          how it was relinked
 * @param oldParentUuid the UUID it was linked to before
 * @param newParentUuid the UUID it is linked to now
 * @param bytesCopied   the bytes of the old parents' content copied into the child ({@link RebaseMode#SAFE})
 * @param warnings      what the user should know, one sentence each
 */
public record RebaseResult(Path child, Path newParent, RebaseMode mode, UUID oldParentUuid, UUID newParentUuid,
                           long bytesCopied, List<String> warnings) {
    public RebaseResult {
        Objects.requireNonNull(child, "child");
        Objects.requireNonNull(newParent, "newParent");
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(oldParentUuid, "oldParentUuid");
        Objects.requireNonNull(newParentUuid, "newParentUuid");
        warnings = List.copyOf(warnings);
    }
}
