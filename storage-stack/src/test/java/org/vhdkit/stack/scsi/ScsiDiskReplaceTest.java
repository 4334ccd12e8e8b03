package org.vhdkit.stack.scsi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Duration;
import java.util.Arrays;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.vhdkit.stack.scsi.ScsiCommand.Direction;

/**
 * A unit's disk replaced under a target, as a VM's host does when a running guest's SCSI disk moves
 * onto a new differencing disk: the guest sees the new disk's bytes and nothing else change (the
 * same identifiers, serial number, capacity and LUN inventory; no unit attention on the unit or its
 * neighbours), commands wait while the unit is held, and a disk that does not fit is refused.
 */
@Timeout(60)
class ScsiDiskReplaceTest {
    private final TestDisk old = new TestDisk(1 << 20);
    private final TestDisk next = new TestDisk(1 << 20);
    private final TestDisk neighbour = new TestDisk(1 << 20);
    private final ScsiDisk unit = ScsiDisk.of(old, ScsiDisk.Settings.of(new UUID(7, 7)));
    private final ScsiTarget target = new ScsiTarget("controller 0", 64);

    @AfterEach
    void close() {
        old.close();
        next.close();
        neighbour.close();
    }

    private Scsi.Outcome in(int lun, byte[] cdb, int buffer) {
        return Scsi.run(target, lun, cdb, Direction.IN, new byte[buffer]);
    }

    @Test
    void theGuestReadsTheNewDiskAndSeesNothingElseChange() throws IOException {
        target.attach(0, unit);
        target.attach(1, ScsiDisk.of(neighbour, ScsiDisk.Settings.of(new UUID(1, 1))));
        byte[] oldBlock = new byte[512];
        Arrays.fill(oldBlock, (byte) 0x11);
        old.write(0, oldBlock);
        byte[] newBlock = new byte[512];
        Arrays.fill(newBlock, (byte) 0x22);
        next.write(0, newBlock);
        byte[] serial = in(0, Scsi.inquiry(true, 0x80, 255), 255).good(36).returned();
        byte[] ids = in(0, Scsi.inquiry(true, 0x83, 255), 255).data();
        byte[] capacity = in(0, Scsi.readCapacity10(), 8).good(8).returned();
        byte[] luns = in(0, Scsi.reportLuns(0, 512), 512).good(24).returned();
        assertArrayEquals(oldBlock, in(0, Scsi.read10(0, 1), 512).good(512).returned());

        try (ScsiDisk.Hold h = unit.hold(Duration.ofSeconds(5))) {
            assertSame(old, h.disk());
            h.replace(next);
        }

        assertSame(next, unit.disk());
        // The first command after the replace is GOOD, on both units: no unit attention of any kind.
        Scsi.run(target, 0, Scsi.testUnitReady(), Direction.NONE, new byte[0]).good(0);
        Scsi.run(target, 1, Scsi.testUnitReady(), Direction.NONE, new byte[0]).good(0);
        assertArrayEquals(newBlock, in(0, Scsi.read10(0, 1), 512).good(512).returned(), "the new disk's bytes");
        assertArrayEquals(serial, in(0, Scsi.inquiry(true, 0x80, 255), 255).good(36).returned(), "the same serial");
        assertArrayEquals(ids, in(0, Scsi.inquiry(true, 0x83, 255), 255).data(), "the same identifiers");
        assertArrayEquals(capacity, in(0, Scsi.readCapacity10(), 8).good(8).returned(), "the same capacity");
        assertArrayEquals(luns, in(0, Scsi.reportLuns(0, 512), 512).good(24).returned(), "the same LUNs");
        byte[] written = new byte[512];
        Arrays.fill(written, (byte) 0x33);
        Scsi.run(target, 0, Scsi.write10(1, 1), Direction.OUT, written).good(512);
        byte[] inOld = new byte[512];
        old.read(512, inOld);
        assertFalse(Arrays.equals(written, inOld), "a write after the replace does not reach the old disk");
        byte[] inNew = new byte[512];
        next.read(512, inNew);
        assertArrayEquals(written, inNew, "it lands in the new one");
    }

    @Test
    void commandsWaitWhileTheUnitIsHeld() throws Exception {
        target.attach(0, unit);
        CompletableFuture<Scsi.Outcome> read;
        try (ScsiDisk.Hold h = unit.hold(Duration.ofSeconds(5))) {
            read = CompletableFuture.supplyAsync(() -> in(0, Scsi.read10(0, 1), 512));
            Thread.sleep(200);
            assertFalse(read.isDone(), "a command waits for the hold");
            h.replace(next);
        }
        read.get(10, TimeUnit.SECONDS).good(512);
        assertEquals(0, old.writes.get() + old.flushes.get());
    }

    @Test
    void aDiskOfAnotherSizeOrWritabilityIsRefused() throws IOException {
        try (TestDisk bigger = new TestDisk(2 << 20); TestDisk readOnly = new TestDisk(1 << 20, true);
                ScsiDisk.Hold h = unit.hold(Duration.ofSeconds(5))) {
            assertTrue(assertThrows(IllegalArgumentException.class, () -> h.replace(bigger)).getMessage()
                    .contains("2097152 bytes"));
            assertThrows(IllegalArgumentException.class, () -> h.replace(readOnly));
            assertSame(old, h.disk());
        }
    }
}
