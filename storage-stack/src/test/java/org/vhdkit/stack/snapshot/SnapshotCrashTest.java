package org.vhdkit.stack.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.stack.snapshot.SnapshotVms.assertShows;
import static org.vhdkit.stack.snapshot.SnapshotVms.disk;
import static org.vhdkit.stack.snapshot.SnapshotVms.write;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.VirtualMachine;

/**
 * The process stopped between two steps of a take, an apply or a delete (a test hook throws where
 * the crash would be, and the hypervisor is dropped): reopened, the tree is consistent (after
 * {@code repair} at most deleted files nothing names) and no snapshot's content is lost.
 */
@Timeout(60)
class SnapshotCrashTest {
    @TempDir
    Path dir;

    static final class Crash extends RuntimeException {
        Crash(String step) {
            super("crashed at " + step);
        }
    }

    private static Snapshots.Checkpoint crashAt(String prefix) {
        return step -> {
            if (step.startsWith(prefix)) {
                throw new Crash(step);
            }
        };
    }

    private static void assertConsistentAfterRepair(Snapshots tree, VirtualMachine vm) throws Exception {
        Snapshots.CheckResult repaired = tree.repair();
        assertTrue(repaired.consistent(), repaired.problems() + " after " + repaired.repairs());
        assertTrue(tree.check().consistent(), tree.check().problems().toString());
        SnapshotVms.assertAllClean(vm);
    }

    @ParameterizedTest
    @ValueSource(strings = {"take: recorded", "take: created", "take: disks switched", "take: done"})
    void aTakeCutShort(String step) throws Exception {
        byte[] model = new byte[(int) SnapshotVms.SIZE];
        byte[] a;
        try (Hypervisor h = SnapshotVms.hypervisor(dir.resolve("vms"))) {
            VirtualMachine vm = SnapshotVms.vm(h, "vm");
            Snapshots tree = Snapshots.of(vm);
            write(vm, model, 'A');
            a = model.clone();
            tree.take("s1");
            write(vm, model, 'B');
            tree.checkpoint(crashAt(step));
            assertThrows(Crash.class, () -> tree.take("s2"));
        }
        try (Hypervisor h = SnapshotVms.hypervisor(dir.resolve("vms"))) {
            VirtualMachine vm = h.get("vm");
            Snapshots tree = Snapshots.of(vm);
            boolean committed = !step.equals("take: recorded") && !step.equals("take: created");
            assertEquals(committed ? List.of("s1", "s2") : List.of("s1"), tree.list().stream().map(Snapshot::name).toList());
            assertShows(tree.find("s1").layers().get(SnapshotVms.SLOT), a, "s1");
            if (committed) {
                assertShows(tree.find("s2").layers().get(SnapshotVms.SLOT), model, "s2");
                assertEquals(Optional.of("s2"), tree.now().map(Snapshot::name));
            }
            assertShows(disk(vm), model, "Now");
            assertConsistentAfterRepair(tree, vm);
            write(vm, model, 'C');
            tree.take("after");
            assertShows(disk(vm), model, "Now goes on");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"apply: recorded", "apply: created", "apply: state restored", "apply: done", "merge: recorded"})
    void anApplyCutShort(String step) throws Exception {
        byte[] model = new byte[(int) SnapshotVms.SIZE];
        byte[] a;
        byte[] b;
        try (Hypervisor h = SnapshotVms.hypervisor(dir.resolve("vms"))) {
            VirtualMachine vm = SnapshotVms.vm(h, "vm");
            Snapshots tree = Snapshots.of(vm);
            write(vm, model, 'A');
            a = model.clone();
            tree.take("s1");
            write(vm, model, 'B');
            b = model.clone();
            tree.take("s2");
            write(vm, model, 'C');
            tree.checkpoint(crashAt(step));
            assertThrows(Crash.class, () -> tree.apply("s1", false));
        }
        try (Hypervisor h = SnapshotVms.hypervisor(dir.resolve("vms"))) {
            VirtualMachine vm = h.get("vm");
            Snapshots tree = Snapshots.of(vm);
            assertShows(tree.find("s1").layers().get(SnapshotVms.SLOT), a, "s1");
            assertShows(tree.find("s2").layers().get(SnapshotVms.SLOT), b, "s2");
            boolean committed = !step.equals("apply: recorded") && !step.equals("apply: created");
            assertShows(disk(vm), committed ? a : model, "Now");
            assertEquals(Optional.of(committed ? "s1" : "s2"), tree.now().map(Snapshot::name));
            assertConsistentAfterRepair(tree, vm);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"delete: recorded", "merge: rebased", "merge: recorded"})
    void aDeleteCutShortInItsMerge(String step) throws Exception {
        byte[] model = new byte[(int) SnapshotVms.SIZE];
        byte[] a;
        byte[] b;
        Path s2Layer;
        try (Hypervisor h = SnapshotVms.hypervisor(dir.resolve("vms"))) {
            VirtualMachine vm = SnapshotVms.vm(h, "vm");
            Snapshots tree = Snapshots.of(vm);
            write(vm, model, 'A');
            a = model.clone();
            tree.take("s1");
            write(vm, model, 'B');
            b = model.clone();
            tree.take("s2");
            write(vm, model, 'C');
            tree.take("s3"); // s2's layer has one dependent: s3's layer, which the merge rebases
            write(vm, model, 'D');
            s2Layer = tree.find("s2").layers().get(SnapshotVms.SLOT);
            tree.checkpoint(crashAt(step));
            assertThrows(Crash.class, () -> tree.delete("s2", false));
        }
        try (Hypervisor h = SnapshotVms.hypervisor(dir.resolve("vms"))) {
            VirtualMachine vm = h.get("vm");
            Snapshots tree = Snapshots.of(vm); // the merge is redone on open
            assertEquals(List.of("s1", "s3"), tree.list().stream().map(Snapshot::name).toList());
            assertEquals(Optional.of(tree.find("s1").id()), tree.find("s3").parent());
            assertShows(tree.find("s1").layers().get(SnapshotVms.SLOT), a, "s1");
            assertShows(disk(vm), model, "Now");
            assertTrue(!java.nio.file.Files.exists(s2Layer) || tree.check().problems().stream()
                    .anyMatch(p -> p.contains(s2Layer.getFileName().toString())), "s2's layer is merged, or reported");
            assertConsistentAfterRepair(tree, vm);
            assertTrue(!java.nio.file.Files.exists(s2Layer), "s2's layer is gone");
            tree.apply("s3", false);
            byte[] s3 = b.clone();
            byte[] region = new byte[SnapshotVms.REGION];
            java.util.Arrays.fill(region, (byte) 'C');
            System.arraycopy(region, 0, s3, 2 * SnapshotVms.REGION + 4096, SnapshotVms.REGION);
            System.arraycopy(region, 0, s3, 0, 512);
            assertShows(disk(vm), s3, "s3 still shows C over B over A");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"take: saved state copied", "take: disks switched"})
    void aRunningTakeCutShort(String step) throws Exception {
        try (Hypervisor h = SnapshotVms.hypervisor(dir.resolve("vms"))) {
            VirtualMachine vm = SnapshotVms.vm(h, "vm");
            Snapshots tree = Snapshots.of(vm);
            vm.start(g -> {
                while (true) {
                    g.safePoint();
                    Thread.sleep(1);
                }
            });
            tree.checkpoint(crashAt(step));
            assertThrows(Crash.class, () -> tree.take("running"));
        }
        try (Hypervisor h = SnapshotVms.hypervisor(dir.resolve("vms"))) {
            VirtualMachine vm = h.get("vm");
            Snapshots tree = Snapshots.of(vm);
            assertEquals(org.vhdkit.stack.vm.VmState.SAVED, vm.state(), "saved before the crash, and still");
            boolean committed = step.equals("take: disks switched");
            assertEquals(committed ? List.of("running") : List.of(), tree.list().stream().map(Snapshot::name).toList());
            assertConsistentAfterRepair(tree, vm);
            if (committed) {
                assertTrue(tree.find("running").savedState());
                vm.deleteSavedState();
                tree.apply("running", false);
                assertEquals(org.vhdkit.stack.vm.VmState.SAVED, vm.state(), "the snapshot's saved state came back");
            } else {
                assertTrue(java.nio.file.Files.notExists(vm.folder().resolve("snapshots")) || java.nio.file.Files
                        .list(vm.folder().resolve("snapshots")).findAny().isEmpty(), "no saved state left behind");
            }
        }
    }
}
