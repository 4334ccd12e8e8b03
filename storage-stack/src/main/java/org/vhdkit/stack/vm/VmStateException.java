package org.vhdkit.stack.vm;

/**
 * An operation the VM's state does not allow, e.g. "cannot pause 'vm1': it is Off".
 *
 * <p>Immutable; safe to share between threads.
 */
public final class VmStateException extends VmException {
    private static final long serialVersionUID = 1L;

    private final VmState state;

    VmStateException(String vm, String operation, VmState state, String detail) {
        super("cannot " + operation + " '" + vm + "': it is " + state + (detail == null ? "" : detail));
        this.state = state;
    }

    /** The state the VM was in. */
    public VmState state() {
        return state;
    }
}
