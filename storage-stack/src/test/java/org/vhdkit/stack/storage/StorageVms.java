package org.vhdkit.stack.storage;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import org.vhdkit.stack.guest.workload.Workload;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.HyperVLimits;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.HypervisorOptions;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmConfiguration;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;

/** What the storage tests share: a hypervisor with synthetic storage, small VMs, VHDs. */
final class StorageVms {
    static final Duration WAIT = Duration.ofSeconds(20);
    static final long MEMORY = HyperVLimits.MIN_MEMORY_BYTES;

    private StorageVms() {
    }

    static Hypervisor hypervisor(Path root) throws IOException {
        return Hypervisor.open(root, HypervisorOptions.defaults()
                .withStopGrace(Duration.ofSeconds(2))
                .withPauseTimeout(Duration.ofSeconds(5))
                .withDeviceProvider(SyntheticStorage.create()));
    }

    static Path dynamicVhd(Path dir, String name, long size) throws IOException {
        Path p = dir.resolve(name);
        try (VhdDisk ignored = Vhd.create(p, CreateOptions.dynamic(size))) {
            return p;
        }
    }

    static VirtualMachine vm(Hypervisor h, String name, Attachment... attachments) throws IOException {
        VmConfiguration c = VmConfiguration.create(name, MEMORY, 1);
        for (Attachment a : attachments) {
            c = c.withAttachment(a);
        }
        return h.create(c);
    }

    static Attachment scsi(int controller, int lun, Path vhd) {
        return Attachment.disk(Slot.scsi(controller, lun), vhd);
    }

    static void awaitFinished(Workload w) throws InterruptedException {
        assertTrue(w.awaitFinished(WAIT), "the workload did not finish: " + w.reports());
    }
}
