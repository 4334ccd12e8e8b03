package org.vhdkit.stack.vm;

import java.io.IOException;

/**
 * A VM operation was refused or failed: a configuration that breaks a rule, an operation the VM's
 * state does not allow, a guest that did not answer in time, or the I/O around a VM's folder. The
 * message is one line a user can act on, naming the VM (and the file and field where there is one).
 *
 * <p>Immutable; safe to share between threads.
 */
public class VmException extends IOException {
    private static final long serialVersionUID = 1L;

    public VmException(String message) {
        super(message);
    }

    public VmException(String message, Throwable cause) {
        super(message, cause);
    }
}
