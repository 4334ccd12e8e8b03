package org.vhdkit.stack.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.testvm.TestVms;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmException;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;

/** What the synthetic storage provider refuses, and what it reports about a VM without it. */
@Timeout(60)
class SyntheticStorageRefusalsTest {
    static final long SIZE = 4L << 20;

    @TempDir
    Path dir;

    @Test
    void aNegativePollTimeIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SyntheticStorage.create(Duration.ofMillis(-1)));
        assertTrue(e.getMessage().contains("negative poll time"), e.getMessage());
        assertThrows(NullPointerException.class, () -> SyntheticStorage.create(null));
    }

    @Test
    void aRunningVmWithoutIntegrationComponentsHasNoSyntheticStorageToHotAddTo() throws Exception {
        Path a = TestVms.dynamicVhd(dir, "a.vhd", SIZE);
        try (Hypervisor h = TestVms.hypervisor(dir.resolve("vms"), SyntheticStorage.create())) {
            VirtualMachine vm = TestVms.ideVm(h, "noic");
            vm.start(TestVms.counting());
            VmException refused = assertThrows(VmException.class, () -> SyntheticStorage.hotAdd(vm, TestVms.scsi(0, 0, a)));
            assertTrue(refused.getMessage().contains("has no synthetic storage"), refused.getMessage());
            assertTrue(vm.configuration().attachments().isEmpty(), "nothing was recorded");
            assertEquals(Optional.empty(), SyntheticStorage.bus(vm), "no VMBus without integration components");
            assertEquals(Optional.empty(), SyntheticStorage.controller(vm, 0));
            try (VhdDisk d = Vhd.open(a, OpenOptions.READ_WRITE)) { // never opened
                assertEquals(SIZE, d.size());
            }
            vm.turnOff();
        }
    }

    @Test
    void anEmptyPassThroughFileRefusedOnANewControllerLeavesItUnheldAndTheControllerUsable() throws Exception {
        Path a = TestVms.dynamicVhd(dir, "a.vhd", SIZE);
        Path b = TestVms.dynamicVhd(dir, "b.vhd", SIZE);
        Path empty = Files.createFile(dir.resolve("empty.raw")); // zero sectors: no block for SCSI to address
        try (Hypervisor h = TestVms.hypervisor(dir.resolve("vms"), SyntheticStorage.create())) {
            VirtualMachine vm = TestVms.vm(h, "vm", TestVms.scsi(0, 0, a));
            vm.start(TestVms.counting());
            VmException refused = assertThrows(VmException.class,
                    () -> SyntheticStorage.hotAdd(vm, Attachment.passThrough(Slot.scsi(1, 0), empty, false)));
            assertTrue(refused.getMessage().contains("cannot attach") && refused.getMessage().contains("empty.raw"),
                    refused.getMessage());
            assertEquals(1, vm.configuration().attachments().size(), "nothing refused was recorded");
            try (FileChannel other = FileChannel.open(empty, StandardOpenOption.WRITE)) {
                assertTrue(other.tryLock() != null, "the refused file is not held open and locked");
            }
            SyntheticStorage.hotAdd(vm, TestVms.scsi(1, 0, b)); // the slot is free, and controller 1 is offered now
            assertEquals(2, vm.configuration().attachments().size());
            assertTrue(SyntheticStorage.controller(vm, 1).isPresent());
            vm.turnOff();
        }
    }

    @Test
    void aRunningVmWithSyntheticStorageShowsItsBusAndControllersUntilItStops() throws Exception {
        Path a = TestVms.dynamicVhd(dir, "a.vhd", SIZE);
        try (Hypervisor h = TestVms.hypervisor(dir.resolve("vms"), SyntheticStorage.create())) {
            VirtualMachine vm = TestVms.vm(h, "ic", TestVms.scsi(1, 0, a));
            vm.start(TestVms.counting());
            assertTrue(SyntheticStorage.bus(vm).isPresent());
            assertTrue(SyntheticStorage.controller(vm, 1).isPresent(), "controller 1 has a disk");
            assertEquals(Optional.empty(), SyntheticStorage.controller(vm, 0), "controller 0 has none");
            vm.turnOff();
            assertEquals(Optional.empty(), SyntheticStorage.bus(vm));
        }
    }
}
