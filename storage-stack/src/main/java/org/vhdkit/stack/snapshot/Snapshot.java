package org.vhdkit.stack.snapshot;

import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.UUID;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VmConfiguration;

/**
 * One node of a VM's snapshot tree, as it is now.
 *
 * @param id            the snapshot's id, fixed for its life
 * @param name          its name (any text; not unique, as on Hyper-V)
 * @param created       when it was taken
 * @param parent        the node it was taken under, empty for a root
 * @param configuration the VM's configuration when it was taken; its disk attachments name the
 *                      layers
 * @param layers        per attached VHD, the frozen file holding the disk as it was (the file on top
 *                      of the chain then; read through its parent chain)
 * @param savedState    whether it holds the saved state of a running (or saved) VM, so that applying it
 *                      leaves the VM Saved
 *
 * <p>Immutable; safe to share between threads.
 */
public record Snapshot(UUID id, String name, Instant created, Optional<UUID> parent, VmConfiguration configuration,
                       SortedMap<Slot, Path> layers, boolean savedState) {
    public Snapshot {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(created, "created");
        Objects.requireNonNull(parent, "parent");
        Objects.requireNonNull(configuration, "configuration");
        layers = java.util.Collections.unmodifiableSortedMap(new TreeMap<>(layers));
    }

    Snapshot withName(String newName) {
        return new Snapshot(id, newName, created, parent, configuration, layers, savedState);
    }

    Snapshot withParent(Optional<UUID> newParent) {
        return new Snapshot(id, name, created, newParent, configuration, layers, savedState);
    }

    /** The same snapshot without a saved state: applying it leaves the VM Off. */
    Snapshot withoutSavedState() {
        return new Snapshot(id, name, created, parent, configuration, layers, false);
    }

    Snapshot withLayers(Map<Slot, Path> newLayers) {
        return new Snapshot(id, name, created, parent, configuration, new TreeMap<>(newLayers), savedState);
    }
}
