package org.vhdkit.vhd.testing;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.UnaryOperator;
import org.vhdkit.vhd.io.ByteStore;
import org.vhdkit.vhd.io.ForwardingByteStore;
import org.vhdkit.vhd.io.StoreInterception;
import org.vhdkit.vhd.testing.FaultyStore.Kind;
import org.vhdkit.vhd.testing.FaultyStore.Plan;

/**
 * Puts a {@link FaultyStore} under a long-lived user of stores (a server, a mount) only when a test
 * arms it: the stores opened under {@link #wrapper()} (through {@link StoreInterception#call}) pass
 * every call through until {@link #arm}, so the fault lands on the request the test chooses and not
 * on the calls that opening the image made. A {@link Plan}'s count starts at the arming.
 *
 * <p>A request to start writeback passes to the file's store unfaulted, armed or not (as {@link
 * FaultyStore} passes it): it changes nothing and promises nothing; a failing write-back shows at
 * the force.
 *
 * <p>Thread-safety: arming and disarming may happen from any thread while the stores are in use; a
 * call sees either the old or the new target.
 */
public final class FaultSwitch {
    private final List<Switched> stores = new CopyOnWriteArrayList<>();

    /** The wrapper to open the stores with. */
    public UnaryOperator<ByteStore> wrapper() {
        return store -> {
            Switched s = new Switched(store);
            stores.add(s);
            return s;
        };
    }

    /** Makes the next call of {@code kind} on any of the stores fail; returns the plan, to ask whether it fired. */
    public Plan arm(Kind kind) {
        return arm(kind, 1);
    }

    /** Makes the {@code nth} call of {@code kind} from now on fail; a plan whose N is never reached only counts. */
    public Plan arm(Kind kind, long nth) {
        Plan plan = new Plan(kind, nth);
        stores.forEach(s -> s.target = plan.wrapper().apply(s.delegateStore()));
        return plan;
    }

    /** Passes every call through again. */
    public void disarm() {
        stores.forEach(s -> s.target = s.delegateStore());
    }

    private static final class Switched extends ForwardingByteStore {
        private volatile ByteStore target;

        Switched(ByteStore delegate) {
            super(delegate);
            target = delegate;
        }

        ByteStore delegateStore() {
            return delegate();
        }

        @Override
        public void read(long offset, MemorySegment dst, long dstOffset, long length) throws IOException {
            target.read(offset, dst, dstOffset, length);
        }

        @Override
        public void write(long offset, MemorySegment src, long srcOffset, long length) throws IOException {
            target.write(offset, src, srcOffset, length);
        }

        @Override
        public void setSize(long newSize) throws IOException {
            target.setSize(newSize);
        }

        @Override
        public void force() throws IOException {
            target.force();
        }
    }
}
