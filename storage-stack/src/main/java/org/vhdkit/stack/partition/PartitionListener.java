package org.vhdkit.stack.partition;

/**
 * What a child partition tells its owner (the VM it runs) about its guest: a failure that must stop
 * the VM, or a guest that powered itself off.
 *
 * <p>Thread-safety: both methods are called on the failing or powering-off virtual processor's own
 * thread, at most once each per partition. They must return promptly and must not stop the
 * partition from that thread (stopping waits for the processors, that one included); hand the
 * work to another thread instead.
 */
public interface PartitionListener {
    /** The guest program on {@code processor} threw {@code failure}; the VM should stop. */
    void guestFailed(ChildPartition partition, int processor, Throwable failure);

    /** The guest asked to be powered off from {@code processor} (an orderly shutdown's end). */
    void guestPoweredOff(ChildPartition partition, int processor);
}
