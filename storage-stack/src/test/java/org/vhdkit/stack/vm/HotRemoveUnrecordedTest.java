package org.vhdkit.stack.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.storage.SyntheticStorage;
import org.vhdkit.stack.testvm.TestVms;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;

/** A hot remove whose new configuration cannot be written: the caller is told, and the disk is let go. */
@Timeout(60)
class HotRemoveUnrecordedTest {
    static final long SIZE = 4L << 20;

    @TempDir
    Path dir;

    @Test
    void aHotRemoveWhoseConfigurationCannotBeWrittenReportsItAndStillReleasesTheDisk() throws Exception {
        Path a = TestVms.dynamicVhd(dir, "a.vhd", SIZE);
        Path b = TestVms.dynamicVhd(dir, "b.vhd", SIZE);
        try (Hypervisor h = TestVms.hypervisor(dir.resolve("vms"), SyntheticStorage.create())) {
            VirtualMachine vm = TestVms.vm(h, "vm", TestVms.scsi(0, 0, a), TestVms.scsi(0, 1, b));
            vm.start(TestVms.counting());
            h.beforeRename((temp, target) -> {
                throw new IOException("no space left on device");
            });
            VmException refused = assertThrows(VmException.class, () -> SyntheticStorage.hotRemove(vm, Slot.scsi(0, 1)));
            assertTrue(refused.getMessage().contains("cannot write the configuration of 'vm'")
                    && refused.getMessage().contains("no space left on device"), refused.getMessage());
            h.beforeRename(AtomicFile.BeforeRename.NONE);
            assertEquals(VmState.RUNNING, vm.state(), "the VM runs on");
            try (VhdDisk d = Vhd.open(b, OpenOptions.READ_WRITE)) { // detached, flushed and closed all the same
                assertEquals(SIZE, d.size());
            }
            assertTrue(vm.configuration().attachment(Slot.scsi(0, 1)).isPresent(),
                    "the stored configuration still names the disk: nothing recorded the removal");
            vm.turnOff();
        }
    }
}
