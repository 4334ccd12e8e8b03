package org.vhdkit.stack.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.testvm.TestVms;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VmException;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;

/**
 * The controllers' own refusals, which guard them even when a caller skipped the configuration's
 * validation: a taken slot, a DVD drive on SCSI, an attach while the VM stops. None is offered to a
 * guest (no VMBus server is needed for a cold plug).
 */
class ControllersTest {
    static final long SIZE = 4L << 20;

    @TempDir
    Path dir;

    @Test
    void aTakenSlotRefusesASecondDiskNamingTheFirstAndLeavesTheSecondClosed() throws Exception {
        Path a = TestVms.dynamicVhd(dir, "a.vhd", SIZE);
        Path b = TestVms.dynamicVhd(dir, "b.vhd", SIZE);
        Controllers c = new Controllers("vm", UUID.randomUUID(), null);
        c.plug(TestVms.scsi(0, 0, a), false);
        VmException refused = assertThrows(VmException.class, () -> c.plug(TestVms.scsi(0, 0, b), false));
        assertTrue(refused.getMessage().contains("already holds") && refused.getMessage().contains(a.toString()),
                refused.getMessage());
        assertWritableElsewhere(b);
        assertTrue(c.unit(Slot.scsi(0, 0)).isPresent(), "the first disk stays at its slot");
        c.release();
        assertWritableElsewhere(a);
    }

    @Test
    void aDvdDriveIsRefusedOnScsi() throws Exception {
        Path iso = Files.write(dir.resolve("x.iso"), new byte[2048]);
        Controllers c = new Controllers("vm", UUID.randomUUID(), null);
        VmException refused = assertThrows(VmException.class,
                () -> c.plug(Attachment.dvd(Slot.scsi(0, 0), iso), false));
        assertTrue(refused.getMessage().contains("synthetic SCSI takes disks and pass-through disks only"),
                refused.getMessage());
        assertEquals(Optional.empty(), c.unit(Slot.scsi(0, 0)));
        c.release();
    }

    @Test
    void nothingAttachesOnceTheVmIsStoppingAndTheDiskIsNotOpened() throws Exception {
        Path a = TestVms.dynamicVhd(dir, "a.vhd", SIZE);
        Controllers c = new Controllers("vm", UUID.randomUUID(), null);
        c.release();
        VmException refused = assertThrows(VmException.class, () -> c.plug(TestVms.scsi(0, 0, a), false));
        assertTrue(refused.getMessage().contains("it is stopping"), refused.getMessage());
        assertWritableElsewhere(a);
        c.release(); // a second release is harmless
    }

    @Test
    void unpluggingWhereNoDiskIsReportsNothing() throws Exception {
        Path a = TestVms.dynamicVhd(dir, "a.vhd", SIZE);
        Controllers c = new Controllers("vm", UUID.randomUUID(), null);
        c.plug(TestVms.scsi(0, 0, a), false);
        assertEquals(Optional.empty(), c.unplug(Slot.scsi(0, 1)), "an empty LUN of a controller with a disk");
        assertEquals(Optional.empty(), c.unplug(Slot.scsi(1, 0)), "a controller with no disk");
        assertEquals(Optional.empty(), c.unit(Slot.scsi(1, 0)));
        assertEquals(Optional.empty(), c.vsp(1));
        assertTrue(c.vsp(0).isPresent());
        assertTrue(c.unit(Slot.scsi(0, 0)).isPresent(), "the disk that is there stays");
        c.release();
    }

    private static void assertWritableElsewhere(Path vhd) throws IOException {
        try (VhdDisk d = Vhd.open(vhd, OpenOptions.READ_WRITE)) {
            assertEquals(SIZE, d.size());
        }
    }
}
