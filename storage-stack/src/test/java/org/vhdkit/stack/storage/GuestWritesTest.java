package org.vhdkit.stack.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.guest.workload.Workload;
import org.vhdkit.stack.testvm.TestVms;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.check.CheckReport;
import org.vhdkit.vhd.check.ImageCheck;
import org.vhdkit.vhd.testing.ExternalTools;
import org.vhdkit.vhd.testing.QemuImg;

/** A guest writes through the synthetic SCSI path; the VHD is then checked and read by other tools. */
class GuestWritesTest {
    static final long SEED = 42;
    static final long SIZE = 8L << 20;

    @TempDir
    Path dir;

    @Test
    void whatTheGuestWroteIsInTheVhdForEveryTool() throws Exception {
        Path vhd = TestVms.dynamicVhd(dir, "a.vhd", SIZE);
        try (Hypervisor h = TestVms.hypervisor(dir.resolve("vms"), SyntheticStorage.create())) {
            VirtualMachine vm = TestVms.vm(h, "vm", TestVms.scsi(0, 0, vhd));
            // the second half only, so the first half stays unallocated
            Workload w = new Workload(Workload.Plan.writeAndVerify(SEED).withRegion(SIZE / 1024, SIZE / 1024));
            vm.start(w);
            TestVms.awaitFinished(w);
            List<Workload.Report> reports = w.reports();
            assertEquals(List.of("write", "verify", "flush"), reports.stream().map(Workload.Report::phase).toList());
            assertTrue(reports.stream().allMatch(Workload.Report::clean), reports.toString());
            assertEquals(SIZE / 2, reports.getFirst().bytes());
            vm.turnOff();
        }
        assertEquals(CheckReport.Status.CLEAN, ImageCheck.check(vhd, ProgressListener.NONE).status());
        try (VhdDisk d = Vhd.openReadOnly(vhd)) {
            assertPattern(d, SIZE / 1024, SIZE / 512);
            byte[] zero = new byte[512];
            byte[] sector = new byte[512];
            d.read(0, sector);
            assertArrayEquals(zero, sector, "the guest did not write the first half");
        }
        // qemu maps data in exactly the blocks the guest's writes allocated: the second half only.
        assertEquals(QemuImg.describe(List.of(new long[] {SIZE / 2, SIZE})), QemuImg.describe(QemuImg.dataRanges(vhd)));
        QemuImg.assertMapsTheBlocksOurTableAllocates(vhd);
        QemuImg.assertReadsTheBytesWeRead(vhd, dir);
        try (ExternalTools.Mount m = ExternalTools.vhdimount(vhd, dir.resolve("mnt"))) {
            try (RandomAccessFile raw = new RandomAccessFile(m.disk().toFile(), "r")) {
                assertEquals(SIZE, raw.length());
                byte[] sector = new byte[512];
                for (long lba : new long[] {SIZE / 1024, SIZE / 1024 + 1, SIZE / 512 - 1, 12345}) {
                    raw.seek(lba * 512);
                    raw.readFully(sector);
                    assertArrayEquals(Workload.expectedSector(lba, SEED), sector, "LBA " + lba + " through vhdimount");
                }
            }
        }
    }

    static void assertPattern(VhdDisk d, long from, long to) throws IOException {
        byte[] sector = new byte[512];
        for (long lba = from; lba < to; lba++) {
            d.read(lba * 512, sector);
            assertArrayEquals(Workload.expectedSector(lba, SEED), sector, "LBA " + lba);
        }
    }
}
