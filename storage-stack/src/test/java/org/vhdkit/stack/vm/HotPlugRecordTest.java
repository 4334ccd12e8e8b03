package org.vhdkit.stack.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.testvm.TestVms;

/** VirtualMachine.recordHotPlug: the seam through which hot add and remove reach the stored configuration. */
class HotPlugRecordTest {
    @TempDir
    Path root;

    @Test
    void aRunningVmRecordsScsiChangesAndDvdMediaOnly() throws Exception {
        Attachment disk = Attachment.disk(Slot.scsi(0, 1), root.resolve("b.vhd"));
        try (Hypervisor h = Hypervisor.open(root, TestVms.options())) {
            VirtualMachine vm = h.create(TestVms.config("vm"));
            VmStateException off = assertThrows(VmStateException.class,
                    () -> vm.recordHotPlug(vm.configuration().withAttachment(disk)));
            assertEquals("cannot hot-plug a disk into 'vm': it is Off", off.getMessage());
            vm.start(TestVms.counting());
            VmConfigurationException memory = assertThrows(VmConfigurationException.class,
                    () -> vm.recordHotPlug(vm.configuration().withMemoryBytes(2 * TestVms.MEMORY)));
            assertTrue(memory.getMessage().contains("only in its SCSI attachments"), memory.getMessage());
            assertThrows(VmConfigurationException.class, () -> vm.recordHotPlug(
                    vm.configuration().withAttachment(Attachment.disk(Slot.ide(0, 0), root.resolve("c.vhd")))));
            assertThrows(VmConfigurationException.class, () -> vm.recordHotPlug(
                    vm.configuration().withAttachment(Attachment.disk(Slot.scsi(0, 1), Path.of("relative.vhd")))));
            vm.recordHotPlug(vm.configuration().withAttachment(disk));
            assertEquals(List.of(disk), vm.configuration().attachments());
            assertEquals(VmState.RUNNING, vm.state());
            vm.pause();
            vm.recordHotPlug(vm.configuration().withoutAttachment(disk.slot()).withAttachment(disk));
            assertEquals(VmState.PAUSED, vm.state());
            vm.turnOff();
        }
        try (Hypervisor h = Hypervisor.open(root, TestVms.options())) {
            assertEquals(List.of(disk), h.get("vm").configuration().attachments(), "stored in the VM's folder");
        }
    }

    /** A DVD drive's medium may change while the VM runs; the drive itself, and its place at boot, may not. */
    @Test
    void aDvdDrivesMediumChangesInPlace() throws Exception {
        Slot dvd = Slot.ide(1, 0);
        Attachment boot = Attachment.disk(Slot.ide(0, 0), root.resolve("boot.vhd"));
        try (Hypervisor h = Hypervisor.open(root, TestVms.options())) {
            VirtualMachine vm = h.create(TestVms.config("vm").withAttachment(boot)
                    .withAttachment(Attachment.emptyDvd(dvd)).withBootOrder(List.of(dvd, boot.slot())));
            vm.start(TestVms.counting());
            Path iso = root.resolve("tools.iso");
            vm.recordHotPlug(c -> c.withMedia(dvd, iso));
            assertEquals(List.of(boot, Attachment.dvd(dvd, iso)), vm.configuration().attachments());
            assertEquals(List.of(dvd, boot.slot()), vm.configuration().bootOrder(), "the boot order stays");
            assertThrows(VmConfigurationException.class, () -> vm.recordHotPlug(c -> c.withoutAttachment(dvd)
                    .withAttachment(Attachment.emptyDvd(Slot.ide(1, 1)))), "a drive does not move while running");
            assertThrows(IllegalArgumentException.class, () -> vm.configuration().withMedia(boot.slot(), iso));
            vm.turnOff();
        }
        try (Hypervisor h = Hypervisor.open(root, TestVms.options())) {
            assertEquals(java.util.Optional.of(root.resolve("tools.iso")),
                    h.get("vm").configuration().attachment(dvd).flatMap(Attachment::media));
        }
    }
}
