package org.vhdkit.stack.ic;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import org.vhdkit.stack.guest.GuestPages;
import org.vhdkit.stack.partition.GuestContext;
import org.vhdkit.stack.storage.SyntheticStorage;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.HyperVLimits;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.HypervisorOptions;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmConfiguration;
import org.vhdkit.stack.vm.VmState;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;

/** What the integration-service tests share: a hypervisor with synthetic storage and integration services. */
final class IcVms {
    static final Duration WAIT = Duration.ofSeconds(10);
    static final long MEMORY = HyperVLimits.MIN_MEMORY_BYTES;
    /** The storage driver's pages (as the built-in workload lays them out). */
    static final long DRIVER_PAGES = 0x10_0000;
    static final long DRIVER_PAGES_LENGTH = 0x20_0000;
    /** The shutdown service's own pages, clear of the driver's and its buffers. */
    static final long IC_PAGES = 0x70_0000;
    static final long IC_PAGES_LENGTH = 0x1_0000;

    private IcVms() {
    }

    static HypervisorOptions options() {
        return HypervisorOptions.defaults().withStopGrace(Duration.ofSeconds(2)).withPauseTimeout(Duration.ofSeconds(5))
                .withDeviceProvider(SyntheticStorage.create())
                .withDeviceProvider(IntegrationServices.create());
    }

    static Hypervisor hypervisor(Path root) throws IOException {
        return Hypervisor.open(root, options());
    }

    static VirtualMachine vm(Hypervisor h, String name, int processors, Attachment... attachments) throws IOException {
        VmConfiguration c = VmConfiguration.create(name, MEMORY, processors);
        for (Attachment a : attachments) {
            c = c.withAttachment(a);
        }
        return h.create(c);
    }

    static Attachment scsi(Path vhd) {
        return Attachment.disk(Slot.scsi(0, 0), vhd);
    }

    static Path dynamicVhd(Path dir, String name, long size) throws IOException {
        Path p = dir.resolve(name);
        try (VhdDisk ignored = Vhd.create(p, CreateOptions.dynamic(size))) {
            return p;
        }
    }

    static GuestPages icPages(GuestContext ctx) {
        return new GuestPages(ctx.memory(), IC_PAGES, IC_PAGES_LENGTH);
    }

    static void awaitState(VirtualMachine vm, VmState state) throws InterruptedException {
        assertTrue(vm.awaitState(state, WAIT), vm.name() + " is " + vm.state() + ", not " + state + " ("
                + vm.lastStopReason().orElse("no stop reason") + ")");
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
