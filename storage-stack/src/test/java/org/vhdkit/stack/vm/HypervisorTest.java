package org.vhdkit.stack.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.testvm.TestVms;

@Timeout(30)
class HypervisorTest {
    @TempDir
    Path root;

    private Hypervisor open() throws VmException {
        return Hypervisor.open(root, TestVms.options());
    }

    @Test
    void vmsAreListedAndReopenedByANewHypervisorOverTheSameFolder() throws Exception {
        VmConfiguration web = TestVms.config("web").withProcessors(2)
                .withAttachment(Attachment.disk(Slot.ide(0, 0), root.resolve("disks/web.vhd")));
        try (Hypervisor h = open()) {
            assertEquals(List.of(), h.virtualMachines());
            h.create(TestVms.config("db"));
            VirtualMachine vm = h.create(web);
            assertEquals(root.toAbsolutePath().resolve(web.id().toString()), vm.folder());
            assertEquals(List.of("db", "web"), h.virtualMachines().stream().map(VirtualMachine::name).toList());
            assertEquals(vm, h.get("WEB"), "names compare without regard to case");
        }
        try (Hypervisor h = open()) {
            assertEquals(List.of("db", "web"), h.virtualMachines().stream().map(VirtualMachine::name).toList());
            VirtualMachine vm = h.get("web");
            assertEquals(web, vm.configuration());
            assertEquals(VmState.OFF, vm.state());
            assertEquals(vm, h.find(web.id()).orElseThrow());
            assertEquals(List.of(), h.problems());
            assertFalse(Files.exists(root.resolve("disks")), "the configuration is declarative: no disk is made");
        }
    }

    @Test
    void namesAndIdsAreUniqueAndConfigurationsChecked() throws Exception {
        try (Hypervisor h = open()) {
            VirtualMachine a = h.create(TestVms.config("a"));
            VmConfigurationException dup = assertThrows(VmConfigurationException.class, () -> h.create(TestVms.config("A")));
            assertEquals("name: a VM named 'A' already exists", dup.getMessage());
            assertThrows(VmConfigurationException.class, () -> h.create(TestVms.config("b").withName("a")));
            VmConfiguration sameId = new VmConfiguration("c", a.id(), TestVms.MEMORY, 1, true, List.of(), List.of(),
                    GuestEngine.PROGRAMS);
            assertTrue(assertThrows(VmConfigurationException.class, () -> h.create(sameId)).getMessage()
                    .startsWith("id: a VM with id"));
            assertTrue(assertThrows(VmConfigurationException.class, () -> h.create(TestVms.config("m").withMemoryBytes(1)))
                    .getMessage().startsWith("memoryBytes: "));
            VirtualMachine b = h.create(TestVms.config("b"));
            assertEquals("name: a VM named 'a' already exists",
                    assertThrows(VmConfigurationException.class, () -> b.reconfigure(b.configuration().withName("a")))
                            .getMessage());
            b.reconfigure(b.configuration().withName("b2").withProcessors(3));
            assertEquals("b2", h.get("b2").name());
            assertTrue(assertThrows(VmConfigurationException.class,
                    () -> b.reconfigure(TestVms.config("b2"))).getMessage().startsWith("id: a VM's id cannot change"));
            assertEquals("no VM is named 'zz' in " + h.root(), assertThrows(VmException.class, () -> h.get("zz")).getMessage());
        }
        try (Hypervisor h = open()) {
            assertEquals(3, h.get("b2").configuration().processors());
        }
    }

    @Test
    void aCrashWhileReconfiguringLeavesTheOldConfigurationAndNoLeftovers() throws Exception {
        VmConfiguration original = TestVms.config("vm");
        try (Hypervisor h = open()) {
            VirtualMachine vm = h.create(original);
            h.beforeRename((temp, target) -> {
                throw new IOException("power lost");
            });
            VmException e = assertThrows(VmException.class, () -> vm.reconfigure(original.withProcessors(4)));
            assertTrue(e.getMessage().endsWith("power lost"), e.getMessage());
            assertEquals(original, vm.configuration());
            assertTrue(Files.exists(vm.folder().resolve(".config.json.tmp")));
        }
        try (Hypervisor h = open()) {
            VirtualMachine vm = h.get("vm");
            assertEquals(original, vm.configuration());
            assertFalse(Files.exists(vm.folder().resolve(".config.json.tmp")), "leftovers are removed on open");
        }
    }

    @Test
    void aFolderIsUsedByOneHypervisorAtATime() throws Exception {
        try (Hypervisor h = open()) {
            FolderInUseException e = assertThrows(FolderInUseException.class, this::open);
            assertEquals(h.root() + ": the VM folder is in use by another hypervisor", e.getMessage());
            assertEquals(h.root(), e.folder());
        }
        open().close();
    }

    @Test
    void deletingAVmRemovesItsFolderButNeverItsDisks() throws Exception {
        Path disk = Files.createFile(root.resolve("keep.vhd"));
        try (Hypervisor h = open()) {
            VirtualMachine vm = h.create(TestVms.config("gone").withAttachment(Attachment.disk(Slot.ide(0, 0), disk)));
            vm.start(TestVms.counting());
            VmStateException running = assertThrows(VmStateException.class, () -> h.delete("gone"));
            assertEquals("cannot delete 'gone': it is Running", running.getMessage());
            vm.turnOff();
            h.delete("gone");
            assertFalse(Files.exists(vm.folder()));
            assertTrue(Files.exists(disk));
            assertEquals(List.of(), h.virtualMachines());
            assertEquals("cannot start 'gone': it has been deleted",
                    assertThrows(VmException.class, () -> vm.start(TestVms.counting())).getMessage());
        }
        try (Hypervisor h = open()) {
            assertEquals(List.of(), h.virtualMachines());
        }
    }

    @Test
    void aDamagedVmFolderIsReportedAndTheOthersStayUsable() throws Exception {
        Path damaged;
        try (Hypervisor h = open()) {
            h.create(TestVms.config("good"));
            damaged = h.create(TestVms.config("bad")).folder().resolve(ConfigurationFile.NAME);
        }
        Files.writeString(damaged, Files.readString(damaged).replace("\"processors\" : 1", "\"processors\" : 12"));
        Files.createDirectory(root.resolve("not-a-vm"));
        Files.createDirectory(root.resolve("00000000-0000-0000-0000-000000000001")); // a cut-short creation
        try (Hypervisor h = open()) {
            assertEquals(List.of("good"), h.virtualMachines().stream().map(VirtualMachine::name).toList());
            assertEquals(List.of(root.toAbsolutePath().resolve("not-a-vm") + ": not a VM folder (its name is not a VM id);"
                            + " left alone", damaged.toAbsolutePath() + ": processors: 12 is more than the 4 virtual"
                            + " processors a VM may have"),
                    h.problems().stream().sorted().toList().reversed());
            assertFalse(Files.exists(root.resolve("00000000-0000-0000-0000-000000000001")));
        }
    }

    @Test
    void closingTurnsOffRunningVmsAndKeepsSavedOnesSaved() throws Exception {
        Hypervisor first = open();
        VirtualMachine run = first.create(TestVms.config("run"));
        VirtualMachine keep = first.create(TestVms.config("keep"));
        run.start(TestVms.counting());
        keep.start(TestVms.counting());
        keep.save();
        first.close();
        first.close(); // idempotent
        assertEquals(VmState.OFF, run.state());
        assertEquals("the hypervisor closed", run.lastStopReason().orElseThrow());
        assertEquals(List.of(), first.parent().children());
        assertThrows(VmException.class, () -> first.create(TestVms.config("late")));
        try (Hypervisor h = open()) {
            assertEquals(VmState.OFF, h.get("run").state());
            assertEquals(VmState.SAVED, h.get("keep").state());
        }
    }

    @Test
    void theDefaultRootIsUnderTheUsersDataFolder() {
        Path d = Hypervisor.defaultRoot();
        assertTrue(d.isAbsolute());
        assertTrue(d.endsWith(Path.of("vhdkit", "vms")), d.toString());
    }
}
