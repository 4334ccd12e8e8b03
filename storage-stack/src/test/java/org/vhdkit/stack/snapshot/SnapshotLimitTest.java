package org.vhdkit.stack.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.vm.HyperVLimits;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.VirtualMachine;

@Timeout(60)
class SnapshotLimitTest {
    @TempDir
    Path dir;

    @Test
    void fiftySnapshotsAndNoMore() throws Exception {
        try (Hypervisor h = SnapshotVms.hypervisor(dir.resolve("vms"))) {
            VirtualMachine vm = SnapshotVms.vm(h, "vm");
            Snapshots tree = Snapshots.of(vm);
            for (int i = 0; i < HyperVLimits.MAX_SNAPSHOTS; i++) {
                tree.take("n" + i);
            }
            SnapshotException e = assertThrows(SnapshotException.class, () -> tree.take("one too many"));
            assertEquals("cannot snapshot 'vm': it has 50 snapshots, the most a VM may have; delete some first",
                    e.getMessage());
            assertEquals(HyperVLimits.MAX_SNAPSHOTS, tree.list().size());
        }
    }

    @Test
    void aDamagedTreeFileIsRefusedNamingIt() throws Exception {
        try (Hypervisor h = SnapshotVms.hypervisor(dir.resolve("vms"))) {
            VirtualMachine vm = SnapshotVms.vm(h, "vm");
            Files.writeString(vm.folder().resolve("snapshots.json"), "{\"format\":1,\"nodes\":[{\"id\":\"x\"}]}");
            SnapshotException e = assertThrows(SnapshotException.class, () -> Snapshots.of(vm));
            assertTrue(e.getMessage().contains("snapshots.json"), e.getMessage());
            Files.writeString(vm.folder().resolve("snapshots.json"), "[1, 2");
            assertThrows(SnapshotException.class, () -> Snapshots.of(vm));
            Files.writeString(vm.folder().resolve("snapshots.json"), "{\"format\":7}");
            e = assertThrows(SnapshotException.class, () -> Snapshots.of(vm));
            assertTrue(e.getMessage().contains("format 1"), e.getMessage());
        }
    }

    @Test
    void aTreeNamingAFileOutsideTheVmFolderIsRefusedAndTheFileLeftAlone() throws Exception {
        try (Hypervisor h = SnapshotVms.hypervisor(dir.resolve("vms"))) {
            VirtualMachine vm = SnapshotVms.vm(h, "vm");
            Path victim = Files.writeString(dir.resolve("precious_00000000-0000-0000-0000-000000000000.avhd"), "mine");
            Files.writeString(vm.folder().resolve("snapshots.json"), "{\"format\":1,\"now\":null,\"nodes\":[],"
                    + "\"files\":[{\"path\":\"" + victim + "\",\"parent\":\"/x\"}],\"pending\":null}");
            SnapshotException e = assertThrows(SnapshotException.class, () -> Snapshots.of(vm));
            assertTrue(e.getMessage().contains("refusing a tree that would delete it"), e.getMessage());
            assertEquals("mine", Files.readString(victim));
        }
    }
}
