package org.vhdkit.stack.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.io.IOException;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.stack.guest.workload.Workload;

/** Checks the workload's pattern on a disk from outside the guest. */
final class GuestWritesTestPattern {
    private GuestWritesTestPattern() {
    }

    /** Every {@code step}-th sector of {@code [from, to)} and the last one. */
    static void assertPattern(VirtualDisk d, long seed, long from, long to, long step) throws IOException {
        byte[] sector = new byte[512];
        for (long lba = from; lba < to; lba = lba + step < to || lba == to - 1 ? lba + step : to - 1) {
            d.read(lba * 512, sector);
            assertArrayEquals(Workload.expectedSector(lba, seed), sector, "LBA " + lba);
        }
    }
}
