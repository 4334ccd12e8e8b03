package org.vhdkit.stack.ide;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.vhdkit.stack.memory.GuestMemory;
import org.vhdkit.stack.memory.GuestMemoryException;
import org.vhdkit.stack.partition.GuestContext;
import org.vhdkit.stack.vm.VirtualMachine;

/**
 * What the IDE tests share beyond {@link org.vhdkit.stack.testvm.TestVms}: the driver's scratch page
 * and buffers, guests that return a value, data patterns.
 */
final class IdeVms {
    static final Duration WAIT = Duration.ofSeconds(20);
    /** The driver's scratch page and the guest's buffers. */
    static final long SCRATCH = 0x1000;
    static final long BUFFER = 0x10_0000;
    static final long BUFFER2 = 0x40_0000;

    /** A guest program that returns a value. */
    @FunctionalInterface
    interface Guest<T> {
        T run(GuestContext g) throws Exception;
    }

    private IdeVms() {
    }

    /** Starts {@code vm} with {@code guest} and returns what it returned (or rethrows what it threw). */
    static <T> CompletableFuture<T> start(VirtualMachine vm, Guest<T> guest) throws IOException {
        CompletableFuture<T> result = new CompletableFuture<>();
        vm.start(g -> {
            try {
                result.complete(guest.run(g));
            } catch (Throwable e) {
                result.completeExceptionally(e);
                throw e;
            }
        });
        return result;
    }

    static <T> T run(VirtualMachine vm, Guest<T> guest) throws Exception {
        return await(start(vm, guest));
    }

    static <T> T await(CompletableFuture<T> f) throws Exception {
        try {
            return f.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception x) {
                throw x;
            }
            throw e;
        }
    }

    static byte[] pattern(long seed, int length) {
        byte[] b = new byte[length];
        long x = seed * 0x9E3779B97F4A7C15L + 1;
        for (int i = 0; i < length; i++) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            b[i] = (byte) x;
        }
        return b;
    }

    static byte[] read(GuestMemory m, long gpa, int length) throws GuestMemoryException {
        byte[] b = new byte[length];
        m.read(gpa, b);
        return b;
    }
}
