package org.vhdkit.stack.guest.ide;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.guest.workload.Workload;
import org.vhdkit.stack.ide.EmulatedIde;
import org.vhdkit.stack.testvm.TestVms;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VirtualMachine;

/** What the IDE workload refuses up front, and what it reports when its plan does not fit the VM's drive. */
@Timeout(60)
class IdeWorkloadRefusalsTest {
    @TempDir
    Path dir;

    @Test
    void aPlanOutsideWhatIdeAndTheMixAllowIsRefusedNamingWhatIsWrong() {
        IdeWorkload.Plan p = IdeWorkload.Plan.writeAndVerify(IdeDriver.Mode.DMA, 1);
        IllegalArgumentException mix = assertThrows(IllegalArgumentException.class,
                () -> p.withMix(10, 101, Duration.ZERO));
        assertTrue(mix.getMessage().contains("101% reads"), mix.getMessage());
        assertThrows(IllegalArgumentException.class, () -> p.withMix(-1, 50, Duration.ZERO));
        IllegalArgumentException device = assertThrows(IllegalArgumentException.class, () -> p.withDisk(2, 0));
        assertTrue(device.getMessage().contains("no such IDE device or region: 2:0"), device.getMessage());
        assertThrows(IllegalArgumentException.class, () -> p.withRegion(-1, 8));
        IllegalArgumentException block = assertThrows(IllegalArgumentException.class, () -> p.withBlockSize(1000));
        assertTrue(block.getMessage().contains("not 1000"), block.getMessage());
        assertThrows(IllegalArgumentException.class, () -> p.withBlockSize(512 * 1024));
    }

    @Test
    void aWorkloadAimedAtADvdDriveReportsThatItIsNoDisk() throws Exception {
        try (Hypervisor h = TestVms.hypervisor(dir.resolve("vms"), EmulatedIde.create())) {
            VirtualMachine vm = TestVms.ideVm(h, "dvd", Attachment.emptyDvd(Slot.ide(1, 0)));
            IdeWorkload w = new IdeWorkload(IdeWorkload.Plan.writeAndVerify(IdeDriver.Mode.DMA, 1).withDisk(1, 0));
            vm.start(w);
            assertTrue(w.awaitFinished(Duration.ofSeconds(20)));
            List<Workload.Report> reports = w.reports();
            assertEquals(1, reports.size(), reports.toString());
            assertTrue(reports.get(0).phase().startsWith("failed: IDE 1:0 is a DVD drive, not a disk"),
                    reports.get(0).phase());
            assertEquals(1, reports.get(0).failed());
            vm.turnOff();
        }
    }

    @Test
    void aRegionPastTheEndOfTheDiskIsReportedAndNothingIsWritten() throws Exception {
        Path vhd = TestVms.dynamicVhd(dir, "small.vhd", 2L << 20); // 4096 sectors
        try (Hypervisor h = TestVms.hypervisor(dir.resolve("vms"), EmulatedIde.create())) {
            VirtualMachine vm = TestVms.ideVm(h, "small", Attachment.disk(Slot.ide(0, 0), vhd));
            IdeWorkload w = new IdeWorkload(IdeWorkload.Plan.writeAndVerify(IdeDriver.Mode.DMA, 1)
                    .withRegion(4000, 200));
            vm.start(w);
            assertTrue(w.awaitFinished(Duration.ofSeconds(20)));
            List<Workload.Report> reports = w.reports();
            assertEquals(1, reports.size(), "no write, verify or flush phase ran: " + reports);
            assertTrue(reports.get(0).phase().startsWith("failed: the region 4000+200 is not on a disk of 4096 sectors"),
                    reports.get(0).phase());
            vm.turnOff();
        }
    }
}
