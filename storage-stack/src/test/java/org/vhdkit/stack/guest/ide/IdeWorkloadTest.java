package org.vhdkit.stack.guest.ide;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
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
import org.vhdkit.stack.vm.VmState;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.check.CheckReport;
import org.vhdkit.vhd.check.ImageCheck;

/** The guest workload on an IDE disk: the built-in pattern written and verified by DMA and by PIO. */
@Timeout(60)
class IdeWorkloadTest {
    @TempDir
    Path dir;

    @Test
    void theWorkloadWritesAndVerifiesThePatternByDmaAndPio() throws Exception {
        Path vhd = TestVms.dynamicVhd(dir, "w.vhd", 2L << 20);
        try (Hypervisor h = TestVms.hypervisor(dir.resolve("vms"), EmulatedIde.create())) {
            VirtualMachine vm = TestVms.ideVm(h, "w", Attachment.disk(Slot.ide(0, 1), vhd));
            IdeWorkload dma = new IdeWorkload(IdeWorkload.Plan.writeAndVerify(IdeDriver.Mode.DMA, 5).withDisk(0, 1)
                    .withPowerOff(true));
            vm.start(dma);
            assertTrue(dma.awaitFinished(Duration.ofSeconds(20)));
            assertTrue(vm.awaitState(VmState.OFF, Duration.ofSeconds(10)), "the guest powered off");
            List<Workload.Report> reports = dma.reports().stream().map(r -> r.withIntercepts(vm.intercepts())).toList();
            assertEquals(List.of("write", "verify", "flush"), reports.stream().map(Workload.Report::phase).toList());
            assertTrue(reports.stream().allMatch(Workload.Report::clean), reports.toString());
            assertEquals(32, reports.get(0).requests(), "2 MiB in 64 KiB requests");
            IdeWorkload pio = new IdeWorkload(IdeWorkload.Plan.writeAndVerify(IdeDriver.Mode.PIO_MULTIPLE, 5)
                    .withDisk(0, 1).withRegion(100, 40).withPhases(false, true));
            vm.start(pio);
            assertTrue(pio.awaitFinished(Duration.ofSeconds(20)));
            assertTrue(pio.reports().stream().allMatch(Workload.Report::clean), pio.reports().toString());
            vm.turnOff();
            // The random mix, as the synthetic workload runs it: reads checked, writes of the same pattern.
            IdeWorkload mix = new IdeWorkload(IdeWorkload.Plan.writeAndVerify(IdeDriver.Mode.DMA, 5).withDisk(0, 1)
                    .withPhases(false, true).withBlockSize(4096).withMix(300, 50, Duration.ZERO));
            vm.start(mix);
            assertTrue(mix.awaitFinished(Duration.ofSeconds(20)));
            List<Workload.Report> mixed = mix.reports();
            assertEquals(List.of("verify", "mix", "flush"), mixed.stream().map(Workload.Report::phase).toList());
            assertEquals(300, mixed.get(1).requests());
            assertEquals(300L * 4096, mixed.get(1).bytes());
            assertTrue(mixed.stream().allMatch(Workload.Report::clean), mixed.toString());
            vm.turnOff();
        }
        assertEquals(CheckReport.Status.CLEAN, ImageCheck.check(vhd, ProgressListener.NONE).status());
        try (VhdDisk d = Vhd.openReadOnly(vhd)) {
            byte[] sector = new byte[512];
            for (long lba : new long[] {0, 1234, 4095}) {
                d.read(lba * 512, MemorySegment.ofArray(sector), 0, 512);
                assertArrayEquals(Workload.expectedSector(lba, 5), sector, "sector " + lba);
            }
        }
    }
}
