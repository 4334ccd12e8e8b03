package org.vhdkit.vhd.io;

import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * Wraps every {@link ByteStore} that a piece of code opens, for as long as that code runs: how a
 * test puts a recording or fault-injecting {@link ForwardingByteStore} under an operation (a
 * convert, a merge, a server) without the operation knowing.
 *
 * <p>The wrapper is bound to the calling thread for the duration of {@link #call} as a
 * {@link ScopedValue}: stores opened by that thread (and by threads a {@code StructuredTaskScope}
 * forks inside it) are wrapped, stores opened by other threads are not. A store keeps its wrapper
 * after the scope ends, so a server opened inside the scope goes on using the wrapped store.
 *
 * <p>Thread-safety: safe for any number of threads; the wrapper function itself may be called from
 * each thread that opens a store inside the scope.
 */
public final class StoreInterception {

    private static final ScopedValue<UnaryOperator<ByteStore>> WRAPPER = ScopedValue.newInstance();

    private StoreInterception() {}

    /**
     * Runs {@code operation} with {@code wrapper} applied to every store the calling thread opens
     * meanwhile, and returns its result.
     */
    public static <T, X extends Throwable> T call(UnaryOperator<ByteStore> wrapper,
            ScopedValue.CallableOp<? extends T, X> operation) throws X {
        Objects.requireNonNull(wrapper, "wrapper");
        return ScopedValue.where(WRAPPER, wrapper).call(operation);
    }

    /** The store to hand out for {@code store}: wrapped when a scope is active on this thread. */
    static ByteStore intercept(ByteStore store) {
        if (!WRAPPER.isBound()) {
            return store;
        }
        ByteStore wrapped = WRAPPER.get().apply(store);
        return Objects.requireNonNull(wrapped, "the interception wrapper returned null");
    }
}
