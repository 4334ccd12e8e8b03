package org.vhdkit.stack.vm;

/**
 * The states of a VM, as Hyper-V's manager shows them. Off, Running, Paused and Saved are where a
 * VM rests; Starting, Saving and Stopping are seen only while an operation moves it between them.
 * Saved survives restarts (the saved state is in the VM's folder); Running and Paused do not (a
 * VM running when its hypervisor closes is turned off).
 */
public enum VmState {
    OFF("Off"),
    STARTING("Starting"),
    RUNNING("Running"),
    PAUSED("Paused"),
    SAVING("Saving"),
    SAVED("Saved"),
    STOPPING("Stopping");

    private final String label;

    VmState(String label) {
        this.label = label;
    }

    /** Whether this is a state an operation passes through rather than one a VM rests in. */
    public boolean isTransient() {
        return this == STARTING || this == SAVING || this == STOPPING;
    }

    /** The name Hyper-V shows: "Off", "Running", ... */
    @Override
    public String toString() {
        return label;
    }
}
