package org.vhdkit.stack.testvm;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.vhdkit.stack.guest.workload.Workload;
import org.vhdkit.stack.memory.GuestMemory;
import org.vhdkit.stack.memory.GuestMemoryException;
import org.vhdkit.stack.partition.GuestProgram;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.DeviceProvider;
import org.vhdkit.stack.vm.GuestShutdown;
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

/**
 * The one test-VM builder of storage-stack's tests: hypervisors with the device providers a test
 * needs, small VMs, dynamic VHDs to attach, a restartable counting guest, and waits with deadlines.
 * What only one package's tests need (the IDE driver's buffers, the integration services' page
 * layout) stays beside those tests.
 *
 * <p>Thread-safety: stateless; every method may be called from any thread.
 */
public final class TestVms {
    /** The smallest memory Hyper-V allows: every test VM has it. */
    public static final long MEMORY = HyperVLimits.MIN_MEMORY_BYTES;
    /** Where the counting guest keeps its counter. */
    public static final long COUNTER = 0x1000;
    /** How long the lifecycle tests wait for a state or the counter. */
    public static final Duration WAIT = Duration.ofSeconds(5);
    /** How long the storage tests wait for a guest's workload or writes. */
    public static final Duration GUEST_WAIT = Duration.ofSeconds(20);

    private TestVms() {
    }

    /** Options with no device providers and a short stop grace, for the lifecycle tests. */
    public static HypervisorOptions options() {
        return HypervisorOptions.defaults().withStopGrace(Duration.ofMillis(300)).withPauseTimeout(WAIT);
    }

    /** A hypervisor over {@code root} with the default timeouts and {@code providers}, in order. */
    public static Hypervisor hypervisor(Path root, DeviceProvider... providers) throws IOException {
        HypervisorOptions o = HypervisorOptions.defaults();
        for (DeviceProvider p : providers) {
            o = o.withDeviceProvider(p);
        }
        return Hypervisor.open(root, o);
    }

    /** A one-processor VM configuration with integration components on. */
    public static VmConfiguration config(String name) {
        return VmConfiguration.create(name, MEMORY, 1);
    }

    /** A one-processor VM with integration components on and {@code attachments}. */
    public static VirtualMachine vm(Hypervisor h, String name, Attachment... attachments) throws IOException {
        return vm(h, config(name), attachments);
    }

    /** A VM of {@code processors} processors with integration components on and {@code attachments}. */
    public static VirtualMachine vm(Hypervisor h, String name, int processors, Attachment... attachments)
            throws IOException {
        return vm(h, VmConfiguration.create(name, MEMORY, processors), attachments);
    }

    /** A one-processor VM without integration components, as the emulated-IDE tests run. */
    public static VirtualMachine ideVm(Hypervisor h, String name, Attachment... attachments) throws IOException {
        return vm(h, config(name).withIntegrationComponents(false), attachments);
    }

    private static VirtualMachine vm(Hypervisor h, VmConfiguration c, Attachment... attachments) throws IOException {
        for (Attachment a : attachments) {
            c = c.withAttachment(a);
        }
        return h.create(c);
    }

    /** {@code vhd} attached at SCSI controller {@code controller}, LUN {@code lun}. */
    public static Attachment scsi(int controller, int lun, Path vhd) {
        return Attachment.disk(Slot.scsi(controller, lun), vhd);
    }

    /** A new dynamic VHD of {@code size} bytes at {@code dir/name}. */
    public static Path dynamicVhd(Path dir, String name, long size) throws IOException {
        Path p = dir.resolve(name);
        try (VhdDisk ignored = Vhd.create(p, CreateOptions.dynamic(size))) {
            return p;
        }
    }

    /**
     * A restartable guest: counts in guest memory (so a resumed run carries on from the saved count),
     * listens for shutdown requests and powers off when one comes. Waits a millisecond per count so
     * it costs little CPU; each wait is a safe point.
     */
    public static GuestProgram counting() {
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

    public static GuestMemory memory(VirtualMachine vm) {
        return vm.worker().orElseThrow().memory();
    }

    public static long counter(VirtualMachine vm) throws GuestMemoryException {
        return memory(vm).getLong(COUNTER);
    }

    /** Waits until the counting guest's counter passes {@code past}; returns it. */
    public static long awaitCounterPast(VirtualMachine vm, long past) throws Exception {
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

    /** Waits up to {@link #WAIT} for {@code vm} to reach {@code state}. */
    public static void awaitState(VirtualMachine vm, VmState state) throws InterruptedException {
        awaitState(vm, state, WAIT);
    }

    /** Waits up to {@code wait} for {@code vm} to reach {@code state}; the failure names why it stopped. */
    public static void awaitState(VirtualMachine vm, VmState state, Duration wait) throws InterruptedException {
        assertTrue(vm.awaitState(state, wait), vm.name() + " is " + vm.state() + ", not " + state + " ("
                + vm.lastStopReason().orElse("no stop reason") + ")");
    }

    /** Waits up to {@link #GUEST_WAIT} for the workload {@code w} to finish. */
    public static void awaitFinished(Workload w) throws InterruptedException {
        assertTrue(w.awaitFinished(GUEST_WAIT), "the workload did not finish: " + w.reports());
    }

    public static void sleepBriefly() throws InterruptedException {
        TimeUnit.MILLISECONDS.sleep(20);
    }
}
