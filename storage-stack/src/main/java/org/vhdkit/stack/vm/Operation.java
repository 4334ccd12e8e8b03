package org.vhdkit.stack.vm;

import java.util.EnumSet;
import java.util.Set;

/**
 * The lifecycle operations and the states each is allowed from: the VM's transition table. Every
 * operation is refused from a transient state (another operation is under way) and from any state
 * not listed here, with a {@link VmStateException} naming the state.
 */
enum Operation {
    START("start", EnumSet.of(VmState.OFF, VmState.SAVED)),
    TURN_OFF("turn off", EnumSet.of(VmState.RUNNING, VmState.PAUSED)),
    SHUT_DOWN("shut down", EnumSet.of(VmState.RUNNING)),
    PAUSE("pause", EnumSet.of(VmState.RUNNING)),
    RESUME("resume", EnumSet.of(VmState.PAUSED)),
    SAVE("save", EnumSet.of(VmState.RUNNING, VmState.PAUSED)),
    DELETE_SAVED_STATE("delete the saved state of", EnumSet.of(VmState.SAVED)),
    RECONFIGURE("reconfigure", EnumSet.of(VmState.OFF)),
    DELETE("delete", EnumSet.of(VmState.OFF, VmState.SAVED)),
    SWITCH_DISKS("switch the disks of", EnumSet.of(VmState.OFF, VmState.SAVED)),
    RESTORE("restore a snapshot into", EnumSet.of(VmState.OFF, VmState.SAVED)),
    COPY_SAVED_STATE("copy the saved state of", EnumSet.of(VmState.SAVED)),
    SNAPSHOT_LIVE("snapshot", EnumSet.of(VmState.RUNNING, VmState.PAUSED));

    private final String verb;
    private final Set<VmState> from;

    Operation(String verb, Set<VmState> from) {
        this.verb = verb;
        this.from = from;
    }

    String verb() {
        return verb;
    }

    boolean allowedFrom(VmState state) {
        return from.contains(state);
    }

    /** The state a successful operation leaves the VM in. */
    VmState target(VmState from) {
        return switch (this) {
            case START, RESUME -> VmState.RUNNING;
            case TURN_OFF, SHUT_DOWN, DELETE_SAVED_STATE -> VmState.OFF;
            case PAUSE -> VmState.PAUSED;
            case SAVE -> VmState.SAVED;
            case RECONFIGURE, DELETE, SWITCH_DISKS, COPY_SAVED_STATE, SNAPSHOT_LIVE -> from;
            case RESTORE -> VmState.OFF; // without a saved state given; Saved with one
        };
    }
}
