package org.vhdkit.stack.snapshot;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;

/**
 * A VM's snapshot tree as data, read at one instant (from {@link Snapshots#tree}): what a program
 * shows or writes out about it.
 *
 * @param vm        the VM's name
 * @param snapshots every snapshot, parents before children, siblings oldest first
 * @param now       the id of the snapshot "Now" (the VM as it is) sits on, if any
 *
 * <p>Immutable; safe to share between threads.
 */
public record SnapshotTree(String vm, List<Snapshot> snapshots, Optional<UUID> now) {
    public SnapshotTree {
        Objects.requireNonNull(vm, "vm");
        snapshots = List.copyOf(snapshots);
        Objects.requireNonNull(now, "now");
    }

    /** The snapshots taken under none, oldest first. Thread-safe. */
    public List<Snapshot> roots() {
        return snapshots.stream().filter(s -> s.parent().isEmpty()).toList();
    }

    /** The snapshots taken under {@code parent}, oldest first. Thread-safe. */
    public List<Snapshot> children(UUID parent) {
        Objects.requireNonNull(parent, "parent");
        return snapshots.stream().filter(s -> s.parent().equals(Optional.of(parent))).toList();
    }
}
