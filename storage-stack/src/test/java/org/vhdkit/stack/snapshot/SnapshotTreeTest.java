package org.vhdkit.stack.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.stack.snapshot.SnapshotVms.assertShows;
import static org.vhdkit.stack.snapshot.SnapshotVms.disk;
import static org.vhdkit.stack.snapshot.SnapshotVms.write;

import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.HyperVLimits;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmState;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.check.CheckReport;
import org.vhdkit.vhd.check.ImageCheck;
import org.vhdkit.vhd.testing.ExternalTools;

/** The tree of a stopped VM: take, apply, branch, delete in either order, every node keeps its content. */
@Timeout(60)
class SnapshotTreeTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "s1 deleted first: {0}")
    @ValueSource(booleans = {true, false})
    void everyNodeKeepsItsContentThroughApplyBranchAndDelete(boolean s1First) throws Exception {
        Map<String, byte[]> shows = new LinkedHashMap<>();
        byte[] model = new byte[(int) SnapshotVms.SIZE];
        UUID s1;
        UUID s2;
        UUID s3;
        UUID s4;
        try (Hypervisor h = SnapshotVms.hypervisor(dir.resolve("vms"))) {
            VirtualMachine vm = SnapshotVms.vm(h, "vm");
            Snapshots tree = Snapshots.of(vm);
            write(vm, model, 'A');
            shows.put("s1", model.clone());
            s1 = tree.take("s1").snapshot().orElseThrow().id();
            assertEquals(vm.folder().resolve("base.vhd"), tree.find("s1").layers().get(SnapshotVms.SLOT));
            assertTrue(disk(vm).getFileName().toString().matches("base_[0-9a-f-]{36}\\.avhd"), disk(vm).toString());
            write(vm, model, 'B');
            shows.put("s2", model.clone());
            s2 = tree.take("s2").snapshot().orElseThrow().id();
            write(vm, model, 'C');

            tree.apply("s1", false);
            assertEquals(VmState.OFF, vm.state());
            assertShows(disk(vm), shows.get("s1"), "apply s1 shows A");
            model = shows.get("s1").clone();
            write(vm, model, 'D');
            shows.put("s3", model.clone());
            s3 = tree.take("s3").snapshot().orElseThrow().id();
            assertEquals(Optional.of(s1), tree.find("s3").parent(), "s3 is a branch under s1");

            tree.apply("s2", false);
            assertShows(disk(vm), shows.get("s2"), "apply s2 shows B");
            model = shows.get("s2").clone();
            write(vm, model, 'E');
            shows.put("s4", model.clone());
            s4 = tree.take("s4").snapshot().orElseThrow().id();

            tree.apply("s3", false);
            assertShows(disk(vm), shows.get("s3"), "apply s3 shows D");
            model = shows.get("s3").clone();
            write(vm, model, 'F');
            shows.put("now", model.clone());

            assertEquals(List.of(s1, s2, s4, s3), tree.list().stream().map(Snapshot::id).toList(), "depth first, oldest first");
            assertEquals(Optional.of(s3), tree.now().map(Snapshot::id));
            assertEquals(new SnapshotTree("vm", tree.list(), Optional.of(s3)), tree.tree(), "the tree as data");
            assertAllShow(tree, vm, shows);

            Path s2Layer = tree.find("s2").layers().get(SnapshotVms.SLOT);
            for (String victim : s1First ? List.of("s1", "s2") : List.of("s2", "s1")) {
                assertTrue(tree.delete(victim, false).warnings().isEmpty());
                shows.remove(victim);
                assertAllShow(tree, vm, shows);
                assertTrue(tree.check().consistent(), tree.check().problems().toString());
            }
            assertFalse(Files.exists(s2Layer), "s2's layer was merged into s4's and deleted");
            assertTrue(Files.exists(vm.folder().resolve("base.vhd")), "the base VHD is never deleted");
            assertEquals(List.of(s3, s4), tree.list().stream().map(Snapshot::id).sorted(
                    (a, b) -> List.of(s3, s4).indexOf(a) - List.of(s3, s4).indexOf(b)).toList());
            assertTrue(tree.list().stream().allMatch(s -> s.parent().isEmpty()), "both were re-pointed to the root");
            SnapshotVms.assertAllClean(vm);
            assertEquals(3, avhdCount(vm), "s3's and s4's layers and Now's disk: " + tree.tree());
        }
        try (Hypervisor h = SnapshotVms.hypervisor(dir.resolve("vms"))) { // a later hypervisor reads the same tree
            VirtualMachine vm = h.get("vm");
            Snapshots tree = Snapshots.of(vm);
            assertEquals(Optional.of(s3), tree.now().map(Snapshot::id));
            assertAllShow(tree, vm, shows);
            assertVhdimountReads(tree, vm, shows);

            tree.apply(s4.toString(), false);
            assertShows(disk(vm), shows.get("s4"), "apply s4 shows E");
            tree.delete("s3", false);
            tree.delete("s4", false); // its layer merges into Now's disk, its one dependent
            assertShows(disk(vm), shows.get("s4"), "Now still shows E");
            assertEquals(List.of(), tree.list());
            assertEquals(1, avhdCount(vm), "only Now's disk is left");
            assertThrows(SnapshotException.class, tree::revert);
            assertTrue(tree.check().consistent(), tree.check().problems().toString());
            SnapshotVms.assertAllClean(vm);
        }
    }

    private static void assertAllShow(Snapshots tree, VirtualMachine vm, Map<String, byte[]> shows) throws Exception {
        for (Map.Entry<String, byte[]> e : shows.entrySet()) {
            Path file = e.getKey().equals("now") ? disk(vm) : tree.find(e.getKey()).layers().get(SnapshotVms.SLOT);
            assertShows(file, e.getValue(), e.getKey());
        }
    }

    private static void assertVhdimountReads(Snapshots tree, VirtualMachine vm, Map<String, byte[]> shows)
            throws Exception {
        ExternalTools.assumeAvailable("vhdimount");
        int i = 0;
        for (Map.Entry<String, byte[]> e : shows.entrySet()) {
            Path file = e.getKey().equals("now") ? disk(vm) : tree.find(e.getKey()).layers().get(SnapshotVms.SLOT);
            try (ExternalTools.Mount m = ExternalTools.vhdimount(file, vm.folder().getParent().resolve(".mnt" + i++))) {
                byte[] read = Files.readAllBytes(m.disk());
                org.junit.jupiter.api.Assertions.assertArrayEquals(e.getValue(), read, "vhdimount of " + e.getKey());
            }
        }
    }

    private static int avhdCount(VirtualMachine vm) throws Exception {
        int n = 0;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(vm.folder(), "*.avhd")) {
            for (Path ignored : ds) {
                n++;
            }
        }
        return n;
    }

    @Test
    void deleteSubtreeRenameAndRevert() throws Exception {
        try (Hypervisor h = SnapshotVms.hypervisor(dir.resolve("vms"))) {
            VirtualMachine vm = SnapshotVms.vm(h, "vm");
            Snapshots tree = Snapshots.of(vm);
            byte[] model = new byte[(int) SnapshotVms.SIZE];
            write(vm, model, 'A');
            byte[] a = model.clone();
            tree.take("a");
            write(vm, model, 'B');
            tree.take("b");
            tree.take("c");
            write(vm, model, 'C');
            tree.revert(); // back to c, which shows B
            assertShows(disk(vm), withB(a), "revert discards C");
            tree.rename("b", "bee");
            assertEquals("bee", tree.find("bee").name());
            assertThrows(SnapshotException.class, () -> tree.find("b"));
            tree.delete("bee", true);
            assertEquals(List.of("a"), tree.list().stream().map(Snapshot::name).toList());
            assertEquals("a", tree.now().orElseThrow().name(), "Now moved up to the surviving ancestor");
            assertShows(disk(vm), withB(a), "what the VM shows does not change");
            assertTrue(tree.check().consistent(), tree.check().problems().toString());
            tree.revert();
            assertShows(disk(vm), a, "revert to a");
            assertEquals(1, avhdCount(vm), "every layer of the deleted subtree is gone: " + tree.tree());

        }
    }

    private static byte[] withB(byte[] a) {
        byte[] m = a.clone();
        byte[] region = new byte[SnapshotVms.REGION];
        java.util.Arrays.fill(region, (byte) 'B');
        System.arraycopy(region, 0, m, SnapshotVms.REGION + 4096, SnapshotVms.REGION);
        System.arraycopy(region, 0, m, 0, 512);
        return m;
    }

    @Test
    void passThroughDisksAreSkippedWithAWarningAndExportFlattensAChain() throws Exception {
        try (Hypervisor h = SnapshotVms.hypervisor(dir.resolve("vms"))) {
            VirtualMachine vm = SnapshotVms.vm(h, "vm");
            Path raw = dir.resolve("raw.img");
            Files.write(raw, new byte[1 << 20]);
            vm.reconfigure(vm.configuration().withAttachment(Attachment.passThrough(Slot.scsi(0, 1), raw, false)));
            Snapshots tree = Snapshots.of(vm);
            byte[] model = new byte[(int) SnapshotVms.SIZE];
            write(vm, model, 'A');
            tree.take("a");
            write(vm, model, 'B');
            Snapshots.Result r = tree.take("b");
            assertEquals(1, r.warnings().size(), r.warnings().toString());
            assertTrue(r.warnings().getFirst().contains("pass-through"), r.warnings().toString());
            assertEquals(raw, vm.configuration().attachment(Slot.scsi(0, 1)).orElseThrow().path());
            assertEquals(List.of(SnapshotVms.SLOT), List.copyOf(r.snapshot().orElseThrow().layers().keySet()));
            write(vm, model, 'C');

            Path out = Files.createDirectories(dir.resolve("export"));
            Map<Slot, Path> exported = tree.export("b", out);
            Path file = exported.get(SnapshotVms.SLOT);
            assertEquals(out.resolve("b-scsi_0_0.vhd"), file);
            try (VhdDisk d = Vhd.openReadOnly(file)) {
                assertTrue(d.parent().isEmpty(), "a standalone VHD");
            }
            assertShows(file, withB(aOnly()), "the export shows b's content");
            assertEquals(CheckReport.Status.CLEAN, ImageCheck.check(file, ProgressListener.NONE).status());
            assertThrows(SnapshotException.class, () -> tree.export("b", out), "refused: the file exists");
        }
    }

    private static byte[] aOnly() {
        byte[] m = new byte[(int) SnapshotVms.SIZE];
        byte[] region = new byte[SnapshotVms.REGION];
        java.util.Arrays.fill(region, (byte) 'A');
        System.arraycopy(region, 0, m, 4096, SnapshotVms.REGION);
        return m;
    }

    @Test
    void names() throws Exception {
        try (Hypervisor h = SnapshotVms.hypervisor(dir.resolve("vms"))) {
            VirtualMachine vm = SnapshotVms.vm(h, "vm");
            Snapshots tree = Snapshots.of(vm);
            Snapshot s = tree.take(null).snapshot().orElseThrow();
            assertTrue(s.name().startsWith("vm - ("), s.name());
            tree.take("x");
            tree.take("x");
            SnapshotException e = assertThrows(SnapshotException.class, () -> tree.find("x"));
            assertTrue(e.getMessage().contains("2 snapshots named 'x'"), e.getMessage());
            assertThrows(SnapshotException.class, () -> tree.rename(s.id().toString(), " "));
            assertThrows(SnapshotException.class, () -> tree.apply("nope", false));
            List<String> ids = new ArrayList<>();
            tree.list().forEach(n -> ids.add(n.id().toString()));
            assertEquals(3, ids.size());
        }
    }
}
