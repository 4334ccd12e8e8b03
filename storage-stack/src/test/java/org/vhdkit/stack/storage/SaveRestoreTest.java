package org.vhdkit.stack.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.guest.workload.Workload;
import org.vhdkit.stack.storvsp.StorVsp;
import org.vhdkit.stack.protocol.storage.StorageProtocol;
import org.vhdkit.stack.testvm.TestVms;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmDevice;
import org.vhdkit.stack.vm.VmState;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.check.CheckReport;
import org.vhdkit.vhd.check.ImageCheck;

/** A VM saved in the middle of the workload resumes it, with the disk's data intact. */
class SaveRestoreTest {
    static final long SIZE = 32L << 20;
    static final long SEED = 1234;

    @TempDir
    Path dir;

    @Test
    void aSavedWorkloadResumesWithItsDataIntact() throws Exception {
        Path vhd = TestVms.dynamicVhd(dir, "a.vhd", SIZE);
        Workload w = new Workload(Workload.Plan.writeAndVerify(SEED).withRequests(4096, 4));
        try (Hypervisor h = TestVms.hypervisor(dir.resolve("vms"), SyntheticStorage.create())) {
            VirtualMachine vm = TestVms.vm(h, "vm", TestVms.scsi(0, 0, vhd));
            vm.start(w);
            long deadline = System.nanoTime() + TestVms.GUEST_WAIT.toNanos();
            while (vm.worker().orElseThrow().memory().getLong(Workload.PROGRESS + 16) < 50) {
                assertTrue(System.nanoTime() < deadline, "the workload does not get going");
                Thread.onSpinWait();
            }
            vm.save();
            assertEquals(VmState.SAVED, vm.state());
            assertTrue(w.reports().isEmpty(), "saved in the middle of the write phase: " + w.reports());
        }
        // a later hypervisor, as after a restart
        try (Hypervisor h = TestVms.hypervisor(dir.resolve("vms"), SyntheticStorage.create())) {
            VirtualMachine vm = h.get("vm");
            assertEquals(VmState.SAVED, vm.state());
            vm.start(w);
            TestVms.awaitFinished(w);
            List<Workload.Report> reports = w.reports();
            assertEquals(List.of("write", "verify", "flush"), reports.stream().map(Workload.Report::phase).toList());
            assertTrue(reports.stream().allMatch(Workload.Report::clean), reports.toString());
            assertTrue(reports.getFirst().bytes() < SIZE, "the write phase went on where it was: " + reports.getFirst());
            assertEquals(SIZE, reports.get(1).bytes(), "the whole disk verified");
            Controllers controllers = (Controllers) vm.worker().orElseThrow().devices().stream()
                    .filter(d -> d.name().equals(Controllers.NAME)).findFirst().map(VmDevice.class::cast).orElseThrow();
            assertEquals(Optional.of(new StorVsp.State(true, StorageProtocol.VERSION_THRESHOLD)),
                    controllers.restoredStates().getFirst(), "what the provider kept");
            vm.turnOff();
        }
        assertEquals(CheckReport.Status.CLEAN, ImageCheck.check(vhd, ProgressListener.NONE).status());
        try (VhdDisk d = Vhd.openReadOnly(vhd)) {
            GuestWritesTestPattern.assertPattern(d, SEED, 0, SIZE / 512, 61);
        }
    }
}
