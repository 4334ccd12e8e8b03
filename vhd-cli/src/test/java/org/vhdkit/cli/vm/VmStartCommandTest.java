package org.vhdkit.cli.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.ic.IntegrationServices;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmState;

/**
 * The idle guest of {@code vhd vm start}, on the hypervisor the CLI configures
 * ({@link VmCommand#OPTIONS}): it opens the shutdown integration channel on VMBus and a shutdown
 * goes over it.
 */
@Timeout(60)
class VmStartCommandTest {
    @TempDir
    Path tmp;

    @Test
    void theIdleGuestAnswersShutdownOverVmbus() throws Exception {
        VmFolder vms = new VmFolder(tmp.resolve("vms"));
        vms.vm("create", "--memory", "16M", "web").assertSuccess();
        try (Hypervisor h = Hypervisor.open(vms.root(), VmCommand.OPTIONS)) {
            VirtualMachine vm = h.find("web").orElseThrow();
            vm.start(VmStartCommand.idleGuest());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!IntegrationServices.shutdownReady(vm)) {
                assertTrue(System.nanoTime() < deadline, "the guest does not open the shutdown channel");
                Thread.sleep(10);
            }
            vm.shutDown(Duration.ofSeconds(20));
            assertTrue(vm.awaitState(VmState.OFF, Duration.ofSeconds(20)), "Off after the shutdown");
            assertEquals("the guest powered off", vm.lastStopReason().orElseThrow());
        }
    }
}
