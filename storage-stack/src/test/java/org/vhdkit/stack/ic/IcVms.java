package org.vhdkit.stack.ic;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.vhdkit.stack.guest.GuestPages;
import org.vhdkit.stack.partition.GuestContext;
import org.vhdkit.stack.vm.VirtualMachine;

/**
 * What the integration-service tests share beyond {@link org.vhdkit.stack.testvm.TestVms}: the guest's page
 * layout (the storage driver's pages, the shutdown service's) and the waits for the shutdown channel.
 */
final class IcVms {
    static final Duration WAIT = Duration.ofSeconds(10);
    /** The storage driver's pages (as the built-in workload lays them out). */
    static final long DRIVER_PAGES = 0x10_0000;
    static final long DRIVER_PAGES_LENGTH = 0x20_0000;
    /** The shutdown service's own pages, clear of the driver's and its buffers. */
    static final long IC_PAGES = 0x70_0000;
    static final long IC_PAGES_LENGTH = 0x1_0000;

    private IcVms() {
    }

    static GuestPages icPages(GuestContext ctx) {
        return new GuestPages(ctx.memory(), IC_PAGES, IC_PAGES_LENGTH);
    }

    /** Keeps a guest processor running, a safe point every millisecond, until its VM stops. */
    static void idle(GuestContext ctx) throws InterruptedException {
        while (true) {
            ctx.safePoint();
            Thread.sleep(1);
        }
    }

    /** Waits until the guest of {@code vm} has the shutdown channel open and negotiated. */
    static void awaitReady(VirtualMachine vm) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!IntegrationServices.shutdownReady(vm)) {
            assertTrue(System.nanoTime() < deadline, vm.name() + ": the guest does not open the shutdown channel ("
                    + vm.state() + ", " + vm.lastStopReason().orElse("") + ")");
            Thread.sleep(1);
        }
    }
}
