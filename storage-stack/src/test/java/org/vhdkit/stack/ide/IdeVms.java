package org.vhdkit.stack.ide;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.vhdkit.stack.memory.GuestMemory;
import org.vhdkit.stack.memory.GuestMemoryException;
import org.vhdkit.stack.partition.GuestContext;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.DeviceProvider;
import org.vhdkit.stack.vm.HyperVLimits;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.HypervisorOptions;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmConfiguration;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;

/** What the IDE tests share: a hypervisor with emulated IDE, small VMs, guests that return a value. */
public final class IdeVms {
    static final Duration WAIT = Duration.ofSeconds(20);
    static final long MEMORY = HyperVLimits.MIN_MEMORY_BYTES;
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

    public static Hypervisor hypervisor(Path root, DeviceProvider... more) throws IOException {
        HypervisorOptions o = HypervisorOptions.defaults().withStopGrace(Duration.ofSeconds(2))
                .withDeviceProvider(EmulatedIde.create());
        for (DeviceProvider p : more) {
            o = o.withDeviceProvider(p);
        }
        return Hypervisor.open(root, o);
    }

    public static VirtualMachine vm(Hypervisor h, String name, Attachment... attachments) throws IOException {
        VmConfiguration c = VmConfiguration.create(name, MEMORY, 1).withIntegrationComponents(false);
        for (Attachment a : attachments) {
            c = c.withAttachment(a);
        }
        return h.create(c);
    }

    public static Path dynamicVhd(Path dir, String name, long size) throws IOException {
        Path p = dir.resolve(name);
        try (VhdDisk ignored = Vhd.create(p, CreateOptions.dynamic(size))) {
            return p;
        }
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
