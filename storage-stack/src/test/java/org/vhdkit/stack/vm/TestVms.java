package org.vhdkit.stack.vm;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.vhdkit.stack.memory.GuestMemory;
import org.vhdkit.stack.memory.GuestMemoryException;
import org.vhdkit.stack.partition.GuestProgram;

/** What the VM tests share: small VMs, a restartable counting guest, waits with deadlines. */
final class TestVms {
    static final long MEMORY = HyperVLimits.MIN_MEMORY_BYTES;
    /** Where the counting guest keeps its counter. */
    static final long COUNTER = 0x1000;
    static final Duration WAIT = Duration.ofSeconds(5);

    private TestVms() {
    }

    static HypervisorOptions options() {
        return HypervisorOptions.defaults().withStopGrace(Duration.ofMillis(300)).withPauseTimeout(WAIT);
    }

    static VmConfiguration config(String name) {
        return VmConfiguration.create(name, MEMORY, 1);
    }

    /**
     * A restartable guest: counts in guest memory (so a resumed run carries on from the saved count),
     * listens for shutdown requests and powers off when one comes. Waits a millisecond per count so
     * it costs little CPU; each wait is a safe point.
     */
    static GuestProgram counting() {
        return g -> {
            Optional<GuestShutdown> shutdown = g.service(GuestShutdown.class);
            shutdown.ifPresent(GuestShutdown::listen);
            long at = COUNTER + 8L * g.processor();
            while (true) {
                g.memory().setLong(at, g.memory().getLong(at) + 1);
                if (shutdown.isPresent()) {
                    if (g.await(shutdown.get().requests(), Duration.ofMillis(1))) {
                        g.powerOff();
                    }
                } else {
                    g.safePoint();
                }
            }
        };
    }

    static GuestMemory memory(VirtualMachine vm) {
        return vm.worker().orElseThrow().memory();
    }

    static long counter(VirtualMachine vm) throws GuestMemoryException {
        return memory(vm).getLong(COUNTER);
    }

    /** Waits until the counting guest's counter passes {@code past}; returns it. */
    static long awaitCounterPast(VirtualMachine vm, long past) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            long now = counter(vm);
            if (now > past) {
                return now;
            }
            assertTrue(System.nanoTime() < deadline, vm.name() + ": the counter does not pass " + past);
            Thread.sleep(1);
        }
    }

    static void awaitState(VirtualMachine vm, VmState state) throws InterruptedException {
        assertTrue(vm.awaitState(state, WAIT), vm.name() + " is " + vm.state() + ", not " + state);
    }

    static void sleepBriefly() throws InterruptedException {
        TimeUnit.MILLISECONDS.sleep(20);
    }
}
