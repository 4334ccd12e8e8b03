package org.vhdkit.stack.partition;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The parent partition: the one that owns the host and the virtualization stack (VM workers,
 * virtual service providers) and creates the child partitions VMs run in. Its entry point for the
 * rest of the stack.
 *
 * <p>The parent creates children but does not check Hyper-V's limits on them; the VM layer does
 * that with messages a user can act on. Here a size or count that makes no sense at all is a
 * programming error.
 *
 * <p>Thread-safety: all methods may be called from any thread; the list of children is guarded by
 * its own monitor.
 */
public final class ParentPartition implements AutoCloseable {
    private final List<ChildPartition> children = new ArrayList<>(); // guarded by itself
    private boolean closed; // guarded by children

    private ParentPartition() {
    }

    /** The parent partition, as the hypervisor makes it when it starts. */
    public static ParentPartition create() {
        return new ParentPartition();
    }

    /**
     * A new child partition named {@code name} (unique among live children) with {@code
     * memoryBytes} of zeroed guest memory (a whole number of 4 KiB pages) and {@code processors}
     * virtual processors, not yet started. {@code listener} hears of guest failures and power-offs.
     * Throws IllegalStateException if the name is taken or the parent is closed.
     */
    public ChildPartition createChild(String name, long memoryBytes, int processors, PartitionListener listener) {
        Objects.requireNonNull(name, "name");
        if (processors < 1 || processors > 64) {
            throw new IllegalArgumentException(processors + " virtual processors");
        }
        synchronized (children) {
            if (closed) {
                throw new IllegalStateException("the parent partition is closed");
            }
            for (ChildPartition c : children) {
                if (c.name().equals(name)) {
                    throw new IllegalStateException("a partition named '" + name + "' already exists");
                }
            }
            ChildPartition child = new ChildPartition(this, name, memoryBytes, processors, listener);
            children.add(child);
            return child;
        }
    }

    /** The live child partitions, in creation order (a snapshot). */
    public List<ChildPartition> children() {
        synchronized (children) {
            return List.copyOf(children);
        }
    }

    void removed(ChildPartition child) {
        synchronized (children) {
            children.remove(child);
        }
    }

    /** Destroys every child partition still alive; no new ones can be made. Idempotent. */
    @Override
    public void close() {
        List<ChildPartition> left;
        synchronized (children) {
            closed = true;
            left = List.copyOf(children);
        }
        for (ChildPartition c : left) {
            c.destroy();
        }
    }
}
