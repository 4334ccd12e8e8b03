package org.vhdkit.stack.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.partition.GuestProgram;
import org.vhdkit.stack.testvm.TestVms;

/** The seams the snapshot tree uses: switchDisks, restoreState, copySavedStateTo and program(). */
@Timeout(60)
class StoredStateTest {
    @TempDir
    Path root;

    private static final long MARK = 0x3000;

    private static GuestProgram idle() {
        return g -> {
            while (true) {
                g.safePoint();
                Thread.sleep(1);
            }
        };
    }

    @Test
    void switchDisksChangesOnlyDiskPathsAndIsAllowedWhenSaved() throws Exception {
        try (Hypervisor h = Hypervisor.open(root, TestVms.options())) {
            Path a = root.resolve("a.vhd");
            Path b = root.resolve("b.vhd");
            VirtualMachine vm = h.create(TestVms.config("vm").withAttachment(Attachment.disk(Slot.scsi(0, 0), a)));
            VmConfiguration moved = vm.configuration().withoutAttachment(Slot.scsi(0, 0))
                    .withAttachment(Attachment.disk(Slot.scsi(0, 0), b));
            vm.switchDisks(moved);
            assertEquals(b, vm.configuration().attachment(Slot.scsi(0, 0)).orElseThrow().path());
            VmConfigurationException e = assertThrows(VmConfigurationException.class,
                    () -> vm.switchDisks(vm.configuration().withProcessors(2)));
            assertTrue(e.getMessage().contains("only the paths of the disks"), e.getMessage());
            assertThrows(VmConfigurationException.class, () -> vm.switchDisks(vm.configuration()
                    .withoutAttachment(Slot.scsi(0, 0)).withAttachment(Attachment.disk(Slot.scsi(0, 1), a))));

            GuestProgram program = idle();
            vm.start(program);
            assertEquals(Optional.of(program), vm.program());
            assertThrows(VmStateException.class, () -> vm.switchDisks(moved), "not while running");
            vm.save();
            vm.switchDisks(moved.withoutAttachment(Slot.scsi(0, 0)).withAttachment(Attachment.disk(Slot.scsi(0, 0), a)));
            assertEquals(VmState.SAVED, vm.state());
            assertEquals(a, vm.configuration().attachment(Slot.scsi(0, 0)).orElseThrow().path());
        }
        try (Hypervisor h = Hypervisor.open(root, TestVms.options())) {
            assertEquals(root.resolve("a.vhd"), h.get("vm").configuration().attachments().getFirst().path(), "durable");
        }
    }

    /** The bytes the file system has allocated for {@code file} (stat's blocks of 512 bytes). */
    private static long allocated(Path file) throws Exception {
        Process stat = new ProcessBuilder("stat", "-c", "%b", file.toString()).redirectErrorStream(true).start();
        String out = new String(stat.getInputStream().readAllBytes()).strip();
        assertEquals(0, stat.waitFor(), out);
        return Long.parseLong(out) * 512;
    }

    /**
     * An idle VM's memory is mostly zeros: its saved state, and a snapshot's copy of it, leave those
     * as holes rather than writing (and forcing to disk) every byte; it reads back the same.
     */
    @Test
    void savedMemoryLeavesItsZerosAsHoles() throws Exception {
        try (Hypervisor h = Hypervisor.open(root, TestVms.options())) {
            VirtualMachine vm = h.create(TestVms.config("vm"));
            vm.start(idle());
            long size = vm.configuration().memoryBytes();
            TestVms.memory(vm).setLong(MARK, 1234);
            TestVms.memory(vm).setLong(size - 8, 5678); // the last chunk holds data too
            vm.save();
            Path saved = vm.folder().resolve(SavedState.MEMORY);
            assertEquals(size, Files.size(saved));
            assertTrue(allocated(saved) < size / 2, "memory.bin takes " + allocated(saved) + " of " + size + " bytes");
            Path copy = Files.createDirectory(root.resolve(".copy"));
            vm.copySavedStateTo(copy);
            assertEquals(size, Files.size(copy.resolve(SavedState.MEMORY)));
            assertTrue(allocated(copy.resolve(SavedState.MEMORY)) < size / 2, "the copy is sparse too");
            vm.restoreState(vm.configuration(), Optional.of(copy));
            vm.start(idle());
            assertEquals(1234, TestVms.memory(vm).getLong(MARK));
            assertEquals(5678, TestVms.memory(vm).getLong(size - 8));
            vm.turnOff();
        }
    }

    @Test
    void aCopiedSavedStateRestoresTheMemoryItHeld() throws Exception {
        try (Hypervisor h = Hypervisor.open(root, TestVms.options())) {
            VirtualMachine vm = h.create(TestVms.config("vm"));
            vm.start(idle());
            TestVms.memory(vm).setLong(MARK, 1234);
            vm.save();
            Path copy = Files.createDirectory(root.resolve(".copy"));
            vm.copySavedStateTo(copy);
            assertTrue(Files.exists(copy.resolve(SavedState.MANIFEST)));
            assertEquals(VmState.SAVED, vm.state());
            vm.start(idle());
            TestVms.memory(vm).setLong(MARK, 99);
            vm.turnOff();

            vm.restoreState(vm.configuration().withName("renamed"), Optional.of(copy));
            assertEquals(VmState.SAVED, vm.state());
            assertEquals("renamed", vm.name());
            vm.start(idle());
            assertEquals(1234, TestVms.memory(vm).getLong(MARK));
            vm.save();
            vm.restoreState(vm.configuration(), Optional.empty());
            assertEquals(VmState.OFF, vm.state(), "no saved state given: Off, the old one discarded");
            assertFalse(SavedState.exists(vm.folder()));

            Files.write(copy.resolve(SavedState.MEMORY), new byte[] {1, 2, 3});
            VmException e = assertThrows(VmException.class, () -> vm.restoreState(vm.configuration(), Optional.of(copy)));
            assertTrue(e.getMessage().contains("memory.bin"), e.getMessage());
            assertEquals(VmState.OFF, vm.state(), "a damaged saved state is refused; the VM is Off");
            assertThrows(VmConfigurationException.class, () -> vm.restoreState(TestVms.config("other"), Optional.empty()),
                    "another VM's id");
        }
    }
}
