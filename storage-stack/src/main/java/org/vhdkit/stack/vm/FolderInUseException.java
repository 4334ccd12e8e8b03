package org.vhdkit.stack.vm;

import java.nio.file.Path;

/**
 * The VM folder is open in another hypervisor (another process, or another {@link Hypervisor} in
 * this one): its lock file is held. Callers that talk to the holder instead, as {@code vhd vm} does,
 * catch this type.
 *
 * <p>Immutable; safe to share between threads.
 */
public final class FolderInUseException extends VmException {
    private static final long serialVersionUID = 1L;

    private final transient Path folder;

    FolderInUseException(Path folder) {
        super(folder + ": the VM folder is in use by another hypervisor");
        this.folder = folder;
    }

    /** The folder whose lock is held. */
    public Path folder() {
        return folder;
    }
}
