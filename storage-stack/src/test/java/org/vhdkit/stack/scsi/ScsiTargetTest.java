package org.vhdkit.stack.scsi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.stack.scsi.Scsi.hex;

import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.vhdkit.stack.scsi.ScsiCommand.Direction;

/** REPORT LUNS, LUNs with no unit, routing, and hot add and remove. */
class ScsiTargetTest {
    private final TestDisk disk0 = new TestDisk(1 << 20);
    private final TestDisk disk5 = new TestDisk(2 << 20);
    private final ScsiDisk unit0 = ScsiDisk.of(disk0, ScsiDisk.Settings.of(new UUID(0, 0)));
    private final ScsiDisk unit5 = ScsiDisk.of(disk5, ScsiDisk.Settings.of(new UUID(0, 5)));
    private final ScsiTarget target = new ScsiTarget("controller 0", 64);

    @AfterEach
    void close() {
        disk0.close();
        disk5.close();
    }

    private Scsi.Outcome in(int lun, byte[] cdb, int buffer) {
        return Scsi.run(target, lun, cdb, Direction.IN, new byte[buffer]);
    }

    @Test
    void reportLunsListsTheAttachedLunsFromAnyLun() {
        target.attach(0, unit0);
        target.attach(5, unit5);
        byte[] expected = hex("00 00 00 10 00 00 00 00 00 00 00 00 00 00 00 00 00 05 00 00 00 00 00 00");
        assertArrayEquals(expected, in(0, Scsi.reportLuns(0, 512), 512).good(24).returned());
        assertArrayEquals(expected, in(5, Scsi.reportLuns(2, 512), 512).good(24).returned());
        assertArrayEquals(expected, in(63, Scsi.reportLuns(0, 512), 512).good(24).returned()); // no unit there
        assertArrayEquals(expected, in(-7, Scsi.reportLuns(0, 512), 512).good(24).returned());
        // Well-known LUNs only: there are none.
        assertArrayEquals(hex("00 00 00 00 00 00 00 00"), in(0, Scsi.reportLuns(1, 512), 512).good(8).returned());
        // Cut to the allocation length.
        assertArrayEquals(hex("00 00 00 10 00 00 00 00 00 00"), in(0, Scsi.reportLuns(0, 10), 10).good(10)
                .returned());
    }

    @Test
    void reportLunsOfAnEmptyTargetAndItsErrors() {
        assertArrayEquals(hex("00 00 00 00 00 00 00 00"), in(0, Scsi.reportLuns(0, 16), 16).good(8).returned());
        in(0, Scsi.reportLuns(3, 16), 16).check(Scsi.INVALID_FIELD_IN_CDB);
        in(0, java.util.Arrays.copyOf(Scsi.reportLuns(0, 16), 10), 16).check(Scsi.INVALID_FIELD_IN_CDB);
        in(0, Scsi.reportLuns(0, 16), 7).check(Scsi.INVALID_FIELD_IN_CDB);
        Scsi.run(target, 0, Scsi.reportLuns(0, 16), Direction.OUT, new byte[16]).check(Scsi.INVALID_FIELD_IN_CDB);
    }

    @Test
    void aLunWithNoUnitAnswersAsSpcSays() {
        target.attach(0, unit0);
        // INQUIRY: peripheral qualifier 3, device type 0x1F.
        byte[] inquiry = in(1, Scsi.inquiry(false, 0, 36), 36).good(36).returned();
        assertArrayEquals(java.util.Arrays.copyOf(hex("7f 00 05 02 1f"), 36), inquiry);
        // REQUEST SENSE: LOGICAL UNIT NOT SUPPORTED as data.
        assertArrayEquals(hex(Scsi.LUN_NOT_SUPPORTED), in(1, Scsi.requestSense(18), 18).good(18).returned());
        // Anything else: CHECK CONDITION.
        for (int lun : new int[] {1, 63, 64, 255, -1, Integer.MIN_VALUE, Integer.MAX_VALUE}) {
            in(lun, Scsi.read10(0, 1), 512).check(Scsi.LUN_NOT_SUPPORTED);
            Scsi.run(target, lun, Scsi.testUnitReady(), Direction.NONE, new byte[0]).check(Scsi.LUN_NOT_SUPPORTED);
            in(lun, Scsi.inquiry(true, 0x83, 255), 255).check(Scsi.LUN_NOT_SUPPORTED);
            in(lun, new byte[0], 0).check(Scsi.LUN_NOT_SUPPORTED);
        }
    }

    @Test
    void commandsGoToTheUnitAtTheirLun() {
        target.attach(0, unit0);
        target.attach(5, unit5);
        assertArrayEquals(hex("00 00 07 ff 00 00 02 00"), in(0, Scsi.readCapacity10(), 8).good(8).returned());
        assertArrayEquals(hex("00 00 0f ff 00 00 02 00"), in(5, Scsi.readCapacity10(), 8).good(8).returned());
        assertTrue(target.isAttached(5));
        assertFalse(target.isAttached(4));
        assertFalse(target.isAttached(-1));
        assertFalse(target.isAttached(64));
        assertSame(unit5, target.unit(5).orElseThrow());
        assertTrue(target.unit(99).isEmpty());
        assertArrayEquals(new int[] {0, 5}, target.luns());
    }

    @Test
    void hotAddTellsTheOtherUnitsOnceAndReportLunsClearsIt() {
        target.attach(0, unit0);
        ScsiDisk unit7 = ScsiDisk.of(disk0, ScsiDisk.Settings.of(new UUID(0, 7)));
        target.attach(7, unit7);
        target.hotAdd(5, unit5);
        // The new unit has nothing to report; the others each report REPORTED LUNS DATA HAS CHANGED once.
        Scsi.run(target, 5, Scsi.testUnitReady(), Direction.NONE, new byte[0]).good(0);
        Scsi.run(target, 0, Scsi.testUnitReady(), Direction.NONE, new byte[0]).check(Scsi.LUNS_CHANGED);
        Scsi.run(target, 0, Scsi.testUnitReady(), Direction.NONE, new byte[0]).good(0);
        // On LUN 7, REPORT LUNS (what the rescan sends) clears it before anything reports it.
        in(7, Scsi.reportLuns(0, 512), 512).good(32);
        Scsi.run(target, 7, Scsi.testUnitReady(), Direction.NONE, new byte[0]).good(0);
    }

    @Test
    void hotRemoveTellsTheOthersAndTheLunGoesQuiet() {
        target.attach(0, unit0);
        target.attach(5, unit5);
        assertSame(unit5, target.hotRemove(5).orElseThrow());
        in(0, Scsi.read10(0, 1), 512).check(Scsi.LUNS_CHANGED);
        in(5, Scsi.read10(0, 1), 512).check(Scsi.LUN_NOT_SUPPORTED);
        assertTrue(target.hotRemove(5).isEmpty());
        in(0, Scsi.read10(0, 1), 512).good(512); // nothing removed, nothing announced
        // Quiet detach and attach announce nothing.
        assertSame(unit0, target.detach(0).orElseThrow());
        target.attach(0, unit0);
        target.attach(5, unit5);
        in(0, Scsi.read10(0, 1), 512).good(512);
    }

    @Test
    void attachingRefusesTakenAndImpossibleLuns() {
        target.attach(3, unit0);
        assertThrows(IllegalStateException.class, () -> target.attach(3, unit5));
        assertThrows(IllegalStateException.class, () -> target.hotAdd(3, unit5));
        assertThrows(IllegalArgumentException.class, () -> target.attach(64, unit5));
        assertThrows(IllegalArgumentException.class, () -> target.attach(-1, unit5));
        assertThrows(IllegalArgumentException.class, () -> target.detach(64));
        assertThrows(IllegalArgumentException.class, () -> new ScsiTarget("t", 0));
        assertThrows(IllegalArgumentException.class, () -> new ScsiTarget("t", 257));
        assertSame(unit0, target.unit(3).orElseThrow());
    }

    @Test
    void theFullRangeOfLunsReportsInPeripheralAddressing() {
        ScsiTarget big = new ScsiTarget("big", 256);
        big.attach(255, unit0);
        byte[] answer = Scsi.run(big, 0, Scsi.reportLuns(0, 64), Direction.IN, new byte[64]).good(16).returned();
        assertArrayEquals(hex("00 00 00 08 00 00 00 00 00 ff 00 00 00 00 00 00"), answer);
        assertEquals(256, big.lunCount());
    }
}
