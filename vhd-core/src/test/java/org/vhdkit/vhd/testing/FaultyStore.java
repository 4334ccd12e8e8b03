package org.vhdkit.vhd.testing;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;
import org.vhdkit.vhd.io.ByteStore;
import org.vhdkit.vhd.io.ForwardingByteStore;
import org.vhdkit.vhd.io.StoreInterception;

/**
 * A store that fails one chosen call, as a failing disk or a full file system would: the Nth write,
 * force, growth or read among all the stores a piece of code opens while a {@link Plan} is installed
 * with {@link StoreInterception#call} ({@link Plan#wrapper()}). The error is an {@link IOException}
 * whose message names the file, the call and the offset, and ends in the text the JDK gives for the
 * errno ({@code Input/output error}, {@code No space left on device}), as the real stores report it.
 *
 * <p>A fault fires once; the calls after it succeed (the disk recovered, space was freed), except
 * for {@link Kind#NO_SPACE_STICKY}, after which every write and growth fails until the plan is
 * {@linkplain Plan#heal() healed}, as on a file system that stays full.
 *
 * <p>A request to start writeback ({@link ByteStore#startWriteback}) passes through unfaulted and
 * uncounted: it changes no byte and promises nothing, and a real write-back that fails shows at
 * the next force, which {@link Kind#FORCE} fails.
 *
 * <p>Thread-safety: a plan and its stores may be used from any number of threads; which call is the
 * Nth among concurrent ones is then whichever counts first.
 */
public final class FaultyStore extends ForwardingByteStore {

    /** The JDK's text for EIO. */
    public static final String EIO = "Input/output error";
    /** The JDK's text for ENOSPC. */
    public static final String ENOSPC = "No space left on device";

    /** What fails. */
    public enum Kind {
        /** The Nth write writes nothing and fails with EIO. */
        WRITE,
        /** The Nth write of more than one byte writes its first half (a torn write), then fails with EIO. */
        TORN_WRITE,
        /** The Nth write writes nothing and fails with ENOSPC. */
        NO_SPACE,
        /** The Nth write fails with ENOSPC, and so does every write and growth after it. */
        NO_SPACE_STICKY,
        /** The Nth force fails with EIO (what was written may or may not be durable). */
        FORCE,
        /** The Nth growth of the file by {@code setSize} fails with ENOSPC, the size unchanged. */
        GROW,
        /** The Nth read fails with EIO. */
        READ
    }

    /** Which call fails, counted over every store opened under it. */
    public static final class Plan {
        private final Kind kind;
        private final long nth;
        private final AtomicLong calls = new AtomicLong();
        private volatile String fired;
        private volatile boolean healed;
        private volatile boolean forcesSkipped;

        /** Fails the {@code nth} (from 1) call of {@code kind}. */
        public Plan(Kind kind, long nth) {
            this.kind = Objects.requireNonNull(kind, "kind");
            if (nth < 1) {
                throw new IllegalArgumentException("nth " + nth);
            }
            this.nth = nth;
        }

        /** Wraps every store opened in the scope (read-only ones too: reads fail in them). */
        public UnaryOperator<ByteStore> wrapper() {
            return store -> new FaultyStore(store, this);
        }

        /** The failure injected, described, or null when the operation made fewer calls than N. */
        public String fired() {
            return fired;
        }

        /**
         * Counts forces (and fails the chosen one) without passing them to the file: for sweeps that
         * test what a failing call leaves in the page cache, where waiting for the disk buys nothing.
         */
        public Plan skippingForces() {
            forcesSkipped = true;
            return this;
        }

        /** How many calls of the plan's kind were made so far (the failing one included). */
        public long calls() {
            return calls.get();
        }

        /** Stops a sticky fault: later calls succeed. */
        public void heal() {
            healed = true;
        }

        public Kind kind() {
            return kind;
        }

        public long nth() {
            return nth;
        }

        /** Whether this call (of the plan's kind) is the one to fail; counts it. */
        private boolean strikes() {
            return calls.incrementAndGet() == nth;
        }

        private boolean stuck() {
            return kind == Kind.NO_SPACE_STICKY && fired != null && !healed;
        }

        @Override
        public String toString() {
            return kind + " #" + nth;
        }
    }

    private final Plan plan;

    private FaultyStore(ByteStore delegate, Plan plan) {
        super(delegate);
        this.plan = plan;
    }

    private IOException fail(String call, long offset, long length, String errno) {
        String what = path() + ": " + call + " of " + length + " bytes at offset " + offset + ": " + errno;
        if (plan.fired == null) {
            plan.fired = what;
        }
        return new IOException(what);
    }

    @Override
    public void read(long offset, MemorySegment dst, long dstOffset, long length) throws IOException {
        if (plan.kind == Kind.READ && plan.strikes()) {
            throw fail("read", offset, length, EIO);
        }
        super.read(offset, dst, dstOffset, length);
    }

    @Override
    public void write(long offset, MemorySegment src, long srcOffset, long length) throws IOException {
        if (!isReadOnly()) {
            if (plan.stuck()) {
                throw fail("write", offset, length, ENOSPC);
            }
            switch (plan.kind) {
                case WRITE -> {
                    if (plan.strikes()) {
                        throw fail("write", offset, length, EIO);
                    }
                }
                case TORN_WRITE -> {
                    if (length > 1 && plan.strikes()) {
                        super.write(offset, src, srcOffset, length / 2);
                        throw fail("write", offset, length, EIO);
                    }
                }
                case NO_SPACE, NO_SPACE_STICKY -> {
                    if (plan.strikes()) {
                        throw fail("write", offset, length, ENOSPC);
                    }
                }
                default -> {
                }
            }
        }
        super.write(offset, src, srcOffset, length);
    }

    @Override
    public void setSize(long newSize) throws IOException {
        if (!isReadOnly() && newSize > size()) {
            if (plan.stuck() || plan.kind == Kind.GROW && plan.strikes()) {
                throw fail("growth to " + newSize + " bytes", size(), newSize - size(), ENOSPC);
            }
        }
        super.setSize(newSize);
    }

    @Override
    public void force() throws IOException {
        if (!isReadOnly() && plan.kind == Kind.FORCE && plan.strikes()) {
            throw fail("force", 0, size(), EIO);
        }
        if (!plan.forcesSkipped) {
            super.force();
        }
    }
}
