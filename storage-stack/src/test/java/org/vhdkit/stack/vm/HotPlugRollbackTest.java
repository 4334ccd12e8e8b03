package org.vhdkit.stack.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.storage.SyntheticStorage;
import org.vhdkit.stack.testvm.TestVms;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;

/**
 * A hot add to a running VM that fails: the configuration cannot record a disk already plugged in,
 * or the disk is refused as it opens. Either way the disk is not held (another writer may open it),
 * the slot is free, the configuration unchanged, and the same slot takes a disk afterwards. (The
 * SCSI device itself refuses no disk that opened: every disk has at least one 512-byte block.)
 */
@Timeout(60)
class HotPlugRollbackTest {
    static final long SIZE = 4L << 20;

    @TempDir
    Path dir;

    @Test
    void aHotAddWhoseConfigurationCannotBeWrittenIsUnpluggedAgain() throws Exception {
        Path a = TestVms.dynamicVhd(dir, "a.vhd", SIZE);
        Path b = TestVms.dynamicVhd(dir, "b.vhd", SIZE);
        try (Hypervisor h = TestVms.hypervisor(dir.resolve("vms"), SyntheticStorage.create())) {
            VirtualMachine vm = TestVms.vm(h, "vm", TestVms.scsi(0, 0, a));
            vm.start(TestVms.counting());
            List<Attachment> before = vm.configuration().attachments();
            h.beforeRename((temp, target) -> {
                throw new IOException("no space left on device");
            });
            VmException refused = assertThrows(VmException.class, () -> SyntheticStorage.hotAdd(vm, TestVms.scsi(0, 1, b)));
            assertTrue(refused.getMessage().contains("cannot write the configuration of 'vm'")
                    && refused.getMessage().contains("no space left on device"), refused.getMessage());
            h.beforeRename(AtomicFile.BeforeRename.NONE);

            assertEquals(before, vm.configuration().attachments(), "the refused disk is not in the configuration");
            assertEquals(VmState.RUNNING, vm.state());
            assertWritableElsewhere(b);
            SyntheticStorage.hotAdd(vm, TestVms.scsi(0, 1, b)); // the slot is free again
            assertEquals(2, vm.configuration().attachments().size());
            vm.turnOff();
        }
    }

    @Test
    void aDiskRefusedAsItOpensIsNotHeldAndItsSlotStaysFree() throws Exception {
        Path a = TestVms.dynamicVhd(dir, "a.vhd", SIZE);
        Path b = TestVms.dynamicVhd(dir, "b.vhd", SIZE);
        Path tiny = dir.resolve("tiny.raw");
        Files.write(tiny, new byte[100]); // not a whole number of sectors: refused as it opens
        try (Hypervisor h = TestVms.hypervisor(dir.resolve("vms"), SyntheticStorage.create())) {
            VirtualMachine vm = TestVms.vm(h, "vm", TestVms.scsi(0, 0, a));
            vm.start(TestVms.counting());
            VmException refused = assertThrows(VmException.class,
                    () -> SyntheticStorage.hotAdd(vm, Attachment.passThrough(Slot.scsi(0, 1), tiny, false)));
            assertTrue(refused.getMessage().contains("tiny.raw"), refused.getMessage());
            assertEquals(1, vm.configuration().attachments().size(), "nothing refused was recorded");
            try (var other = java.nio.channels.FileChannel.open(tiny, java.nio.file.StandardOpenOption.WRITE)) {
                assertTrue(other.tryLock() != null, "the refused disk is held open and locked");
            }
            SyntheticStorage.hotAdd(vm, TestVms.scsi(0, 1, b));
            assertEquals(2, vm.configuration().attachments().size());
            vm.turnOff();
        }
    }

    /** Another writer can open {@code vhd}: nothing in this process holds it open. */
    private static void assertWritableElsewhere(Path vhd) throws IOException {
        try (VhdDisk d = Vhd.open(vhd, OpenOptions.READ_WRITE)) {
            assertEquals(SIZE, d.size());
        }
    }
}
