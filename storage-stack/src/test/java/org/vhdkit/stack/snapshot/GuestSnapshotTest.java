package org.vhdkit.stack.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.guest.workload.Workload;
import org.vhdkit.stack.memory.GuestMemory;
import org.vhdkit.stack.partition.GuestProgram;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmState;

/** Snapshots with a real guest: its writes through the synthetic SCSI path, and a running VM's memory. */
@Timeout(60)
class GuestSnapshotTest {
    static final Duration WAIT = Duration.ofSeconds(20);
    static final long BLOCKS = 512; // 256 KiB at the start of the disk

    @TempDir
    Path dir;

    private static void runGuest(VirtualMachine vm, long seed, boolean write) throws Exception {
        Workload w = new Workload(Workload.Plan.writeAndVerify(seed).withRegion(0, BLOCKS).withRequests(16 * 1024, 4)
                .withPhases(write, true).withPowerOff(true));
        vm.start(w);
        assertTrue(w.awaitFinished(WAIT), "the workload did not finish: " + w.reports());
        assertTrue(vm.awaitState(VmState.OFF, WAIT), "the guest powered off");
        List<Workload.Report> reports = w.reports();
        assertTrue(reports.stream().anyMatch(r -> r.phase().equals("verify")), reports.toString());
        assertTrue(reports.stream().allMatch(Workload.Report::clean), "seed " + seed + ": " + reports);
    }

    @Test
    void aGuestSeesEachSnapshotsContentAfterApply() throws Exception {
        try (Hypervisor h = SnapshotVms.hypervisor(dir.resolve("vms"))) {
            VirtualMachine vm = SnapshotVms.vm(h, "vm");
            Snapshots tree = Snapshots.of(vm);
            runGuest(vm, 1, true); // pattern A
            tree.take("s1");
            runGuest(vm, 2, true); // pattern B
            tree.take("s2");
            runGuest(vm, 3, true); // pattern C
            tree.apply("s1", false);
            runGuest(vm, 1, false); // the guest reads A back
            runGuest(vm, 4, true); // pattern D, on a branch
            tree.take("s3");
            tree.apply("s2", false);
            runGuest(vm, 2, false);
            tree.apply("s3", false);
            runGuest(vm, 4, false);
            tree.delete("s2", false);
            tree.delete("s1", false);
            runGuest(vm, 4, false);
            tree.apply("s3", false);
            runGuest(vm, 4, false);
            assertTrue(tree.check().consistent(), tree.check().problems().toString());
            SnapshotVms.assertAllClean(vm);
        }
    }

    static final long MARK = 0x2000;
    static final long RESUMES = 0x2008;
    static final long HOST = 0x2010;

    /** Marks memory once, counts its resumes, and idles at safe points until stopped. */
    private static GuestProgram idler() {
        return g -> {
            GuestMemory m = g.memory();
            if (g.resumed()) {
                m.setLong(RESUMES, m.getLong(RESUMES) + 1);
            } else {
                m.setLong(MARK, 0xA11CEL);
            }
            while (true) {
                g.safePoint();
                Thread.sleep(1);
            }
        };
    }

    @Test
    void aRunningVmsSnapshotBringsItBackWithItsMemory() throws Exception {
        try (Hypervisor h = SnapshotVms.hypervisor(dir.resolve("vms"))) {
            VirtualMachine vm = SnapshotVms.vm(h, "vm");
            Snapshots tree = Snapshots.of(vm);
            vm.start(idler());
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (vm.worker().orElseThrow().memory().getLong(MARK) != 0xA11CEL) {
                assertTrue(System.nanoTime() < deadline, "the guest does not start");
                Thread.onSpinWait();
            }
            vm.worker().orElseThrow().memory().setLong(HOST, 1); // as the memory is when snapshotted
            Snapshot s = tree.take("running").snapshot().orElseThrow();
            assertTrue(s.savedState());
            assertEquals(VmState.RUNNING, vm.state(), "the VM runs on after the snapshot");
            GuestMemory m = vm.worker().orElseThrow().memory();
            assertEquals(1, m.getLong(HOST), "its memory came back from the saved state");
            m.setLong(HOST, 2); // changed after the snapshot

            vm.pause();
            tree.take("paused");
            assertEquals(VmState.PAUSED, vm.state(), "a paused VM stays paused");
            vm.resume();

            tree.apply("running", false);
            assertEquals(VmState.SAVED, vm.state(), "a running VM's snapshot leaves it Saved, as on Hyper-V");
            vm.start(idler());
            m = vm.worker().orElseThrow().memory();
            assertEquals(1, m.getLong(HOST), "the memory as it was when snapshotted");
            assertEquals(0xA11CEL, m.getLong(MARK));
            long deadline2 = System.nanoTime() + WAIT.toNanos();
            while (m.getLong(RESUMES) < 1) { // the guest re-entered its program over the restored memory
                assertTrue(System.nanoTime() < deadline2, "the guest does not resume");
                Thread.onSpinWait();
            }
            vm.turnOff();

            tree.apply("paused", false);
            assertEquals(VmState.SAVED, vm.state());
            vm.start(idler());
            assertEquals(2, vm.worker().orElseThrow().memory().getLong(HOST));
            vm.turnOff();
            tree.delete("running", false);
            tree.delete("paused", false);
            assertTrue(tree.check().consistent(), tree.check().problems().toString());
            assertEquals(List.of(), tree.list());
        }
    }

    @Test
    void aMergeIntoTheRunningVmsDiskWaitsUntilItStops() throws Exception {
        try (Hypervisor h = SnapshotVms.hypervisor(dir.resolve("vms"))) {
            VirtualMachine vm = SnapshotVms.vm(h, "vm");
            Snapshots tree = Snapshots.of(vm);
            byte[] model = new byte[(int) SnapshotVms.SIZE];
            SnapshotVms.write(vm, model, 'A');
            tree.take("s1");
            SnapshotVms.write(vm, model, 'B');
            tree.take("s2");
            Path s2Layer = tree.find("s2").layers().get(SnapshotVms.SLOT);
            vm.start(idler());
            Snapshots.Result r = tree.delete("s2", false);
            assertEquals(1, r.warnings().size(), r.warnings().toString());
            assertTrue(r.warnings().getFirst().contains("waits until 'vm' is off or saved"), r.warnings().toString());
            assertTrue(java.nio.file.Files.exists(s2Layer));
            assertTrue(tree.check().problems().stream().anyMatch(p -> p.startsWith("merge pending")),
                    tree.check().problems().toString());
            vm.turnOff();
            Snapshots.CheckResult repaired = tree.repair();
            assertTrue(repaired.consistent(), repaired.toString());
            assertTrue(!java.nio.file.Files.exists(s2Layer), "merged into Now's disk once the VM stopped");
            SnapshotVms.assertShows(SnapshotVms.disk(vm), model, "Now keeps B");
            SnapshotVms.assertAllClean(vm);
        }
    }
}
