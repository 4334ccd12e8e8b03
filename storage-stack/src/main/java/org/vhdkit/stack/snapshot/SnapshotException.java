package org.vhdkit.stack.snapshot;

import org.vhdkit.stack.vm.VmException;

/** A snapshot operation was refused or failed; the message names the VM, the snapshot and why. */
public final class SnapshotException extends VmException {
    private static final long serialVersionUID = 1L;

    public SnapshotException(String message) {
        super(message);
    }

    public SnapshotException(String message, Throwable cause) {
        super(message, cause);
    }
}
