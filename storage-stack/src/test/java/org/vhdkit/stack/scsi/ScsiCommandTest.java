package org.vhdkit.stack.scsi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;
import org.vhdkit.stack.scsi.ScsiCommand.Direction;

/** The command slot itself: the CDB copy, the ranges, the outcome and its rules; and fixed sense. */
class ScsiCommandTest {
    @Test
    void theCdbIsCopiedAtMostSixteenBytesAndTheClaimedLengthKept() {
        byte[] source = new byte[40];
        for (int i = 0; i < source.length; i++) {
            source[i] = (byte) (i + 1);
        }
        ScsiCommand c = new ScsiCommand().cdb(MemorySegment.ofArray(source), 4, 30);
        assertEquals(30, c.cdbLength());
        assertEquals(5, c.cdbByte(0));
        assertEquals(20, c.cdbByte(15));
        source[4] = 99; // the guest changes its request: the copy does not
        assertEquals(5, c.cdbByte(0));
        c.cdb(new byte[] {(byte) 0xAA, 0x01});
        assertEquals(2, c.cdbLength());
        assertEquals(0xAA, c.cdbByte(0));
        assertEquals(0, c.cdbByte(2)); // past what was supplied: zero, not the last CDB's bytes
        assertThrows(IllegalArgumentException.class, () -> c.cdb(MemorySegment.ofArray(source), 0, -1));
        assertThrows(IndexOutOfBoundsException.class, () -> c.cdb(MemorySegment.ofArray(source), 35, 10));
    }

    @Test
    void rangesMustLieInsideTheMemoryAndFitTheSlot() {
        MemorySegment memory = MemorySegment.ofArray(new byte[100]);
        ScsiCommand c = new ScsiCommand(2).scatter(memory, Direction.IN);
        assertThrows(IndexOutOfBoundsException.class, () -> c.addRange(90, 11));
        assertThrows(IndexOutOfBoundsException.class, () -> c.addRange(-1, 1));
        assertThrows(IndexOutOfBoundsException.class, () -> c.addRange(1, Long.MAX_VALUE));
        c.addRange(0, 10).addRange(50, 0).addRange(90, 10);
        assertEquals(20, c.dataLength());
        assertThrows(IllegalStateException.class, () -> c.addRange(20, 1));
        assertThrows(IllegalArgumentException.class, () -> new ScsiCommand(0));
        c.noData();
        assertEquals(0, c.dataLength());
        assertEquals(Direction.NONE, c.direction());
    }

    @Test
    void putAndGetFollowTheRangesInOrder() {
        byte[] memory = new byte[20];
        ScsiCommand c = new ScsiCommand().scatter(MemorySegment.ofArray(memory), Direction.IN)
                .addRange(15, 3).addRange(2, 4);
        c.put(new byte[] {1, 2, 3, 4, 5, 6, 7}, 7);
        assertArrayEquals(new byte[] {0, 0, 4, 5, 6, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0}, memory);
        byte[] back = new byte[5];
        c.get(back, 5);
        assertArrayEquals(new byte[] {1, 2, 3, 4, 5}, back);
        assertThrows(IllegalArgumentException.class, () -> c.put(new byte[8], 8));
    }

    @Test
    void theOutcomeIsClearedByANewCdbAndKeepsItsRules() {
        ScsiCommand c = new ScsiCommand().cdb(new byte[6]).data(MemorySegment.ofArray(new byte[10]), Direction.IN);
        assertFalse(c.isComplete());
        assertThrows(IllegalStateException.class, c::status);
        c.good(4);
        assertEquals(ScsiStatus.GOOD, c.status());
        assertEquals(4, c.transferred());
        assertEquals(6, c.residual());
        assertTrue(c.sense().isEmpty());
        c.checkCondition(Sense.WRITE_ERROR);
        assertEquals(0, c.transferred());
        assertEquals(Sense.WRITE_ERROR, c.sense().orElseThrow());
        c.cdb(new byte[6]);
        assertFalse(c.isComplete());
        assertThrows(IllegalArgumentException.class, () -> c.good(11));
        assertThrows(IllegalArgumentException.class, () -> c.complete(ScsiStatus.GOOD, 0, Sense.WRITE_ERROR));
        assertThrows(IllegalArgumentException.class, () -> c.complete(ScsiStatus.CHECK_CONDITION, 0, null));
        c.complete(ScsiStatus.BUSY, 0, null);
        assertEquals(0x08, c.status().code());
    }

    @Test
    void senseIsWrittenInFixedFormatUpToTheRoomThereIs() {
        byte[] area = new byte[20];
        java.util.Arrays.fill(area, (byte) 0x77);
        ScsiCommand c = new ScsiCommand().cdb(new byte[6]).noData();
        c.checkCondition(Sense.CAPACITY_DATA_CHANGED);
        assertEquals(14, c.writeSense(MemorySegment.ofArray(area), 1, 14));
        assertArrayEquals(Scsi.concat(new byte[] {0x77}, Scsi.hex("70 00 06 00 00 00 00 0a 00 00 00 00 2a 09"),
                new byte[] {0x77, 0x77, 0x77, 0x77, 0x77}), area);
        assertEquals(18, c.writeSense(MemorySegment.ofArray(area), 0, 100));
        assertEquals(0, c.writeSense(MemorySegment.ofArray(area), 0, -5));
        c.good(0);
        assertEquals(0, c.writeSense(MemorySegment.ofArray(area), 0, 18));
    }

    @Test
    void senseValues() {
        assertArrayEquals(Scsi.hex("70 00 07 00 00 00 00 0a 00 00 00 00 27 00 00 00 00 00"),
                Sense.WRITE_PROTECTED.toFixed());
        assertArrayEquals(Scsi.hex("70 00 02 00 00 00 00 0a 00 00 00 00 3a 00 00 00 00 00"),
                Sense.MEDIUM_NOT_PRESENT.toFixed());
        assertEquals("ILLEGAL_REQUEST 21/00 (logical block address out of range)", Sense.LBA_OUT_OF_RANGE.toString());
        assertEquals(new Sense(Sense.Key.ILLEGAL_REQUEST, 0x24, 0), Sense.INVALID_FIELD_IN_CDB);
        assertThrows(IllegalArgumentException.class, () -> new Sense(Sense.Key.NO_SENSE, 256, 0));
        assertThrows(IndexOutOfBoundsException.class, () -> Sense.NO_SENSE.fixedByte(18));
    }
}
