package org.vhdkit.vhd.io;

import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * Wraps every {@link ByteStore} that a piece of code opens, for as long as that code runs: how a
 * test puts a recording or fault-injecting {@link ForwardingByteStore} under an operation (a
 * convert, a merge, a server) without the operation knowing.
 *
 * <p>The wrapper is bound to the calling thread for the duration of {@link #call}: stores opened by
 * that thread are wrapped, stores opened by other threads are not. A store keeps its wrapper after
 * the call ends, so a server opened inside it goes on using the wrapped store. Calls nest; the
 * innermost wrapper applies. (A thread-local rather than a {@code ScopedValue}: the fuzzing build
 * compiles for Java 23, where scoped values are a preview API.)
 *
 * <p>Thread-safety: safe for any number of threads, each with its own binding; the wrapper
 * function itself is called on each thread that opens a store inside the call.
 */
public final class StoreInterception {

    private static final ThreadLocal<UnaryOperator<ByteStore>> WRAPPER = new ThreadLocal<>();

    private StoreInterception() {}

    /** Code run inside {@link #call}: returns a value or throws {@code X}. */
    @FunctionalInterface
    public interface Operation<T, X extends Throwable> {
        /** Runs the code. */
        T run() throws X;
    }

    /**
     * Runs {@code operation} with {@code wrapper} applied to every store the calling thread opens
     * meanwhile, and returns its result.
     */
    public static <T, X extends Throwable> T call(UnaryOperator<ByteStore> wrapper, Operation<? extends T, X> operation)
            throws X {
        Objects.requireNonNull(wrapper, "wrapper");
        UnaryOperator<ByteStore> outer = WRAPPER.get();
        WRAPPER.set(wrapper);
        try {
            return operation.run();
        } finally {
            if (outer == null) {
                WRAPPER.remove();
            } else {
                WRAPPER.set(outer);
            }
        }
    }

    /** The store to hand out for {@code store}: wrapped when a call is active on this thread. */
    static ByteStore intercept(ByteStore store) {
        UnaryOperator<ByteStore> wrapper = WRAPPER.get();
        if (wrapper == null) {
            return store;
        }
        ByteStore wrapped = wrapper.apply(store);
        return Objects.requireNonNull(wrapped, "the interception wrapper returned null");
    }
}
