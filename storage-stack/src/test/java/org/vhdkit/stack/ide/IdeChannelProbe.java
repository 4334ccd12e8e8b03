package org.vhdkit.stack.ide;

import org.vhdkit.stack.memory.GuestMemoryException;
import org.vhdkit.stack.partition.ChildPartition;
import org.vhdkit.stack.partition.GuestSignal;
import org.vhdkit.stack.partition.ParentPartition;
import org.vhdkit.stack.partition.PartitionListener;

/** One IDE channel over a partition that runs no guest: for driving the registers directly from a test. */
record IdeChannelProbe(ParentPartition parent, ChildPartition child, GuestSignal irq, IdeChannel channel)
        implements AutoCloseable {

    static IdeChannelProbe create() throws GuestMemoryException {
        ParentPartition parent = ParentPartition.create();
        ChildPartition child = parent.createChild("probe", 8L << 20, 1, new PartitionListener() {
            @Override
            public void guestFailed(ChildPartition partition, int processor, Throwable failure) {
            }

            @Override
            public void guestPoweredOff(ChildPartition partition, int processor) {
            }
        });
        GuestSignal irq = child.newSignal();
        return new IdeChannelProbe(parent, child, irq, new IdeChannel(0, irq, child.memory()));
    }

    @Override
    public void close() {
        parent.close();
    }
}
