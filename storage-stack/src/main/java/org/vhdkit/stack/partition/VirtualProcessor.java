package org.vhdkit.stack.partition;

import java.lang.System.Logger.Level;

/**
 * One virtual processor of a child partition: a platform thread that runs the partition's guest
 * program with its own {@link GuestContext}.
 *
 * <p>{@code where} says what the processor is doing, for pausing: running guest code, blocked in a
 * context call (a wait or a port access), parked at a safe point, or halted. The processor writes
 * it; the pauser reads it under the partition's control monitor.
 */
final class VirtualProcessor implements Runnable {
    static final int GUEST = 0;
    static final int BLOCKED = 1;
    static final int PARKED = 2;
    static final int HALTED = 3;

    private static final System.Logger LOG = System.getLogger(VirtualProcessor.class.getName());

    private final ChildPartition partition;
    private final int index;
    private final String name;
    private final GuestContext context;
    private final GuestProgram program;
    private final Thread thread;
    volatile int where = GUEST;

    VirtualProcessor(ChildPartition partition, int index, GuestProgram program, boolean resumed) {
        this.partition = partition;
        this.index = index;
        this.name = partition.name() + "/vp" + index;
        this.program = program;
        this.context = new GuestContext(partition, this, resumed);
        this.thread = Thread.ofPlatform().name(name).daemon(true).unstarted(this);
    }

    int index() {
        return index;
    }

    String name() {
        return name;
    }

    Thread thread() {
        return thread;
    }

    ChildPartition partition() {
        return partition;
    }

    /** Throws {@link ProcessorStopped} if the partition is stopping. */
    void checkStop() {
        if (partition.stopRequested()) {
            throw new ProcessorStopped(name);
        }
    }

    ProcessorStopped stopped() {
        return new ProcessorStopped(name);
    }

    @Override
    public void run() {
        try {
            partition.safePoint(this);
            program.run(context);
        } catch (ProcessorStopped stopped) {
            // the VM stopped under the program, as it should
        } catch (Throwable failure) {
            if (!partition.stopRequested()) {
                partition.failed(this, failure);
            } else {
                LOG.log(Level.DEBUG, "{0} failed while stopping: {1}", name, failure);
            }
        } finally {
            partition.halted(this);
        }
    }
}
