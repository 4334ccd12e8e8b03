package org.vhdkit.stack.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.stack.snapshot.SnapshotVms.assertShows;
import static org.vhdkit.stack.snapshot.SnapshotVms.disk;
import static org.vhdkit.stack.snapshot.SnapshotVms.write;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmException;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;

/**
 * Check and repair of a tree whose files were damaged behind its back: a lost layer, a lost saved
 * state, AVHD files and saved states nothing names; and the rollback of a take or apply that fails
 * in this process.
 */
@Timeout(60)
class TreeRepairTest {
    @TempDir
    Path dir;

    /**
     * s1 on the base, s2 on s1, Now applied back to s1: s2's layer is then a file only s2 uses.
     * Deleting it by hand loses s2; check names it, repair drops it and leaves s1 and Now working.
     */
    @Test
    void aSnapshotWhoseLayerIsGoneIsReportedAndDroppedByRepair() throws Exception {
        try (Hypervisor h = SnapshotVms.hypervisor(dir.resolve("vms"))) {
            VirtualMachine vm = SnapshotVms.vm(h, "vm");
            Snapshots tree = Snapshots.of(vm);
            byte[] model = new byte[(int) SnapshotVms.SIZE];
            write(vm, model, 'A');
            byte[] s1Shows = model.clone();
            tree.take("s1");
            write(vm, model, 'B');
            tree.take("s2");
            tree.apply("s1", false);
            Path s2Layer = tree.find("s2").layers().get(SnapshotVms.SLOT);
            assertTrue(tree.check().consistent(), tree.check().problems().toString());

            Files.delete(s2Layer);
            Snapshots.CheckResult found = tree.check();
            assertFalse(found.consistent());
            assertTrue(found.problems().stream().anyMatch(p -> p.contains("snapshot 's2'") && p.contains(s2Layer + " is missing")),
                    found.problems().toString());
            assertTrue(found.repairs().isEmpty(), "check changes nothing");
            assertEquals(2, tree.list().size(), "check changes nothing");

            Snapshots.CheckResult repaired = tree.repair();
            assertTrue(repaired.consistent(), repaired.toString());
            assertTrue(repaired.repairs().stream().anyMatch(r -> r.startsWith("dropped snapshot 's2'")), repaired.toString());
            assertEquals(List.of("s1"), tree.list().stream().map(Snapshot::name).toList());
            assertEquals(Optional.of("s1"), tree.now().map(Snapshot::name));
            assertShows(disk(vm), s1Shows, "Now still shows s1");
            assertThrows(SnapshotException.class, () -> tree.find("s2"));
        }
    }

    /** An AVHD file of the tree's naming and a saved-state folder that nothing names are orphans: reported, then deleted. */
    @Test
    void orphanFilesAndSavedStatesAreReportedAndDeletedByRepair() throws Exception {
        try (Hypervisor h = SnapshotVms.hypervisor(dir.resolve("vms"))) {
            VirtualMachine vm = SnapshotVms.vm(h, "vm");
            Snapshots tree = Snapshots.of(vm);
            tree.take("s1");
            Path orphanDisk = vm.folder().resolve("base_" + UUID.randomUUID() + ".avhd");
            try (VhdDisk d = Vhd.create(orphanDisk, CreateOptions.differencing(vm.folder().resolve("base.vhd")))) {
                d.flush();
            }
            Path orphanState = vm.folder().resolve(SnapshotFolder.STATES).resolve(UUID.randomUUID().toString());
            Files.createDirectories(orphanState);
            Files.writeString(orphanState.resolve("saved-state.json"), "{}");
            Path userFile = vm.folder().resolve("notes.avhd"); // not of the tree's naming: the user's, never touched
            Files.writeString(userFile, "mine");

            Snapshots.CheckResult found = tree.check();
            assertTrue(found.problems().contains("orphan AVHD file " + orphanDisk
                    + ": no snapshot, disk or file of the tree uses it"), found.problems().toString());
            assertTrue(found.problems().contains("orphan saved state " + orphanState), found.problems().toString());
            assertEquals(2, found.problems().size(), found.problems().toString());

            Snapshots.CheckResult repaired = tree.repair();
            assertTrue(repaired.consistent(), repaired.toString());
            assertFalse(Files.exists(orphanDisk));
            assertFalse(Files.exists(orphanState));
            assertTrue(Files.exists(userFile), "repair deleted a file it did not make");
            assertTrue(Files.exists(tree.find("s1").layers().get(SnapshotVms.SLOT)));
            assertTrue(Files.exists(disk(vm)));
        }
    }

    /**
     * A snapshot that says it holds a saved state whose folder is gone: check reports it, and repair
     * keeps the snapshot's disks but makes it an Off snapshot, so that the tree is consistent again
     * and applying it leaves the VM Off with the snapshot's disks.
     */
    @Test
    void aSnapshotWhoseSavedStateIsGoneIsReportedAndRepairKeepsItsDisks() throws Exception {
        byte[] model = new byte[(int) SnapshotVms.SIZE];
        try (Hypervisor h = SnapshotVms.hypervisor(dir.resolve("vms"))) {
            VirtualMachine vm = SnapshotVms.vm(h, "vm");
            write(vm, model, 'A');
            Snapshots.of(vm).take("s1");
            // As a take of a saved VM records it, with the saved state deleted since.
            Path treeFile = vm.folder().resolve(TreeState.FILE);
            String json = Files.readString(treeFile);
            String edited = json.replaceAll("\"savedState\"\\s*:\\s*false", "\"savedState\":true");
            assertFalse(json.equals(edited), json);
            Files.writeString(treeFile, edited);
        }
        try (Hypervisor h = SnapshotVms.hypervisor(dir.resolve("vms"))) {
            VirtualMachine vm = h.get("vm");
            Snapshots tree = Snapshots.of(vm);
            UUID id = tree.find("s1").id();
            Snapshots.CheckResult found = tree.check();
            assertEquals(List.of("snapshot 's1' (" + id + "): its saved state is missing"), found.problems());

            Snapshots.CheckResult repaired = tree.repair();
            assertTrue(repaired.consistent(), repaired.toString());
            assertTrue(repaired.repairs().stream().anyMatch(r -> r.contains("'s1'") && r.contains("saved state")),
                    repaired.toString());
            assertFalse(tree.find("s1").savedState());
            write(vm, model.clone(), 'C');
            tree.apply("s1", false);
            assertEquals(org.vhdkit.stack.vm.VmState.OFF, vm.state());
            assertShows(disk(vm), model, "s1's disk content survives");
        }
    }

    /**
     * A take or apply that fails between its steps in this process is rolled back at once: no new
     * snapshot or file, nothing under way, the VM on the disk it had, the tree consistent.
     */
    @ParameterizedTest(name = "fails at {0}")
    @ValueSource(strings = {"take: recorded", "take: created", "apply: recorded", "apply: created"})
    void aTakeOrApplyThatFailsInThisProcessIsRolledBack(String step) throws Exception {
        try (Hypervisor h = SnapshotVms.hypervisor(dir.resolve("vms"))) {
            VirtualMachine vm = SnapshotVms.vm(h, "vm");
            Snapshots tree = Snapshots.of(vm);
            byte[] model = new byte[(int) SnapshotVms.SIZE];
            write(vm, model, 'A');
            tree.take("s1");
            write(vm, model, 'B');
            Path diskBefore = disk(vm);
            List<Path> filesBefore = avhdFiles(vm);
            tree.checkpoint(reached -> {
                if (reached.startsWith(step)) {
                    throw new IOException("no space left on device (at " + reached + ")");
                }
            });
            VmException failed = assertThrows(VmException.class,
                    () -> {
                        if (step.startsWith("take")) {
                            tree.take("s2");
                        } else {
                            tree.apply("s1", false);
                        }
                    });
            assertTrue(failed.getMessage().contains(step.startsWith("take") ? "cannot snapshot" : "cannot apply 's1'"),
                    failed.getMessage());
            tree.checkpoint(Snapshots.Checkpoint.NONE);

            assertEquals(List.of("s1"), tree.list().stream().map(Snapshot::name).toList());
            assertEquals(Optional.of("s1"), tree.now().map(Snapshot::name));
            assertEquals(diskBefore, disk(vm), "the VM runs on the disk it had");
            assertEquals(filesBefore, avhdFiles(vm), "the failed operation's new files are gone");
            assertShows(disk(vm), model, "Now keeps its writes");
            assertTrue(tree.check().consistent(), tree.check().problems().toString());
            assertTrue(Files.readString(vm.folder().resolve(TreeState.FILE)).contains("s1"));
        }
        try (Hypervisor h = SnapshotVms.hypervisor(dir.resolve("vms"))) { // the record on disk agrees
            Snapshots tree = Snapshots.of(h.get("vm"));
            assertTrue(tree.check().consistent(), tree.check().problems().toString());
            assertEquals(List.of("s1"), tree.list().stream().map(Snapshot::name).toList());
        }
    }

    private static List<Path> avhdFiles(VirtualMachine vm) throws IOException {
        try (var files = Files.list(vm.folder())) {
            return files.filter(p -> p.toString().endsWith(".avhd")).sorted().toList();
        }
    }
}
