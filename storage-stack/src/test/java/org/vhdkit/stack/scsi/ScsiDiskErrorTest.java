package org.vhdkit.stack.scsi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.stack.scsi.Scsi.hex;
import static org.vhdkit.stack.scsi.Scsi.in;
import static org.vhdkit.stack.scsi.Scsi.out;
import static org.vhdkit.stack.scsi.Scsi.run;

import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.vhdkit.stack.scsi.ScsiCommand.Direction;
import org.vhdkit.vhd.testing.HugeDisk;

/** Every refusal, with the exact sense bytes it reports, and what it leaves untouched. */
class ScsiDiskErrorTest {
    private static final UUID ID = UUID.fromString("0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0ff");
    private static final int BLOCKS = 2048;

    private final TestDisk disk = new TestDisk(BLOCKS * 512L);
    private final ScsiDisk unit = ScsiDisk.of(disk, ScsiDisk.Settings.of(ID));
    private final ScsiDisk unmapUnit = ScsiDisk.of(disk, ScsiDisk.Settings.of(ID).withUnmap(true));

    @AfterEach
    void close() {
        assertTrue(disk.outside.isEmpty(), () -> "touched outside the disk: " + disk.outside);
        disk.close();
    }

    /** The sense REQUEST SENSE returns next must be the one the command reported. */
    private void pendingIs(LogicalUnit u, String senseHex) {
        assertArrayEquals(hex(senseHex), in(u, Scsi.requestSense(18), 18).good(18).returned());
    }

    @ParameterizedTest
    @ValueSource(ints = {0x01, 0x04, 0x15, 0x1E, 0x55, 0x7F, 0x9F, 0xA0, 0xC0, 0xE5, 0xFF})
    void unknownOpcodesAreInvalidCommandOperationCode(int opcode) {
        byte[] cdb = new byte[16];
        cdb[0] = (byte) opcode;
        run(unit, cdb).check(Scsi.INVALID_OPCODE);
        pendingIs(unit, Scsi.INVALID_OPCODE);
    }

    @Test
    void unmapIsAnUnknownOpcodeWithoutUnmapSupport() {
        out(unit, Scsi.unmap(24), Scsi.unmapList(0, 1)).check(Scsi.INVALID_OPCODE);
        assertTrue(disk.discards.isEmpty());
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 17, 20, 255})
    void cdbLengthsOutsideOneToSixteenAreInvalidField(int length) {
        byte[] cdb = new byte[length];
        if (length > 0) {
            cdb[0] = 0x00; // TEST UNIT READY
        }
        run(unit, cdb).check(Scsi.INVALID_FIELD_IN_CDB);
    }

    @Test
    void cdbsShorterThanTheirOpcodeAreInvalidField() {
        run(unit, Scsi.cdb(0x00, 0, 0, 0, 0)).check(Scsi.INVALID_FIELD_IN_CDB); // TUR in 5 bytes
        in(unit, java.util.Arrays.copyOf(Scsi.read10(0, 1), 9), 512).check(Scsi.INVALID_FIELD_IN_CDB);
        in(unit, java.util.Arrays.copyOf(Scsi.rw12(false, 0, 1, 0), 10), 512).check(Scsi.INVALID_FIELD_IN_CDB);
        in(unit, java.util.Arrays.copyOf(Scsi.rw16(false, 0, 1, 0), 12), 512).check(Scsi.INVALID_FIELD_IN_CDB);
        in(unit, java.util.Arrays.copyOf(Scsi.readCapacity16(32), 15), 32).check(Scsi.INVALID_FIELD_IN_CDB);
        // A longer CDB than the opcode's is fine (the transport's CDB field is 16 bytes).
        in(unit, java.util.Arrays.copyOf(Scsi.read10(0, 1), 16), 512).good(512);
    }

    @Test
    void theNacaBitIsRefused() {
        byte[] cdb = Scsi.read10(0, 1);
        cdb[9] = 0x04;
        in(unit, cdb, 512).check(Scsi.INVALID_FIELD_IN_CDB);
        run(unit, Scsi.cdb(0x00, 0, 0, 0, 0, 0x04)).check(Scsi.INVALID_FIELD_IN_CDB);
    }

    @Test
    void protectionFieldsAndObsoleteBitsAreInvalidField() {
        in(unit, Scsi.rw10(false, 0, 1, 0x20), 512).check(Scsi.INVALID_FIELD_IN_CDB); // RDPROTECT
        out(unit, Scsi.rw16(true, 0, 1, 0x40), new byte[512]).check(Scsi.INVALID_FIELD_IN_CDB); // WRPROTECT
        in(unit, Scsi.rw12(false, 0, 1, 0x01), 512).check(Scsi.INVALID_FIELD_IN_CDB); // RELADR
        run(unit, Scsi.lba10(0x2F, 0x02, 0, 1)).check(Scsi.INVALID_FIELD_IN_CDB); // VERIFY BYTCHK
        run(unit, Scsi.lba10(0x35, 0x01, 0, 0)).check(Scsi.INVALID_FIELD_IN_CDB); // SYNC CACHE RELADR
        assertEquals(0, disk.writes.get());
        // DPO, FUA, RARC and FUA_NV are fine.
        in(unit, Scsi.rw10(false, 0, 1, 0x1E), 512).good(512);
    }

    @Test
    void lbaOutOfRangeForAnyBlockPastTheEnd() {
        in(unit, Scsi.read10(BLOCKS, 1), 512).check(Scsi.LBA_OUT_OF_RANGE);
        in(unit, Scsi.read10(BLOCKS - 1, 2), 1024).check(Scsi.LBA_OUT_OF_RANGE);
        out(unit, Scsi.write10(BLOCKS - 1, 2), new byte[1024]).check(Scsi.LBA_OUT_OF_RANGE);
        in(unit, Scsi.rw6(false, BLOCKS - 1, 2), 1024).check(Scsi.LBA_OUT_OF_RANGE);
        in(unit, Scsi.rw6(false, 0x1FFFFF, 1), 512).check(Scsi.LBA_OUT_OF_RANGE);
        in(unit, Scsi.rw6(false, BLOCKS - 255, 0), 256 * 512).check(Scsi.LBA_OUT_OF_RANGE); // 0 = 256 blocks
        in(unit, Scsi.rw12(false, 0xFFFF_FFFFL, 1, 0), 512).check(Scsi.LBA_OUT_OF_RANGE);
        in(unit, Scsi.rw12(false, 1, 0xFFFF_FFFFL, 0), 512).check(Scsi.LBA_OUT_OF_RANGE);
        pendingIs(unit, Scsi.LBA_OUT_OF_RANGE);
    }

    @Test
    void sixtyFourBitLbasNeverWrapAround() {
        long[] lbas = {-1L, Long.MIN_VALUE, Long.MAX_VALUE, -BLOCKS, -1L - 0xFFFF_FFFFL, 1L << 55, BLOCKS + 1L};
        long[] counts = {0, 1, 2, BLOCKS, 0xFFFF_FFFFL};
        for (long lba : lbas) {
            for (long count : counts) {
                in(unit, Scsi.rw16(false, lba, count, 0), 4096).check(Scsi.LBA_OUT_OF_RANGE);
                out(unit, Scsi.rw16(true, lba, count, 0), new byte[4096]).check(Scsi.LBA_OUT_OF_RANGE);
                run(unit, Scsi.lba16(0x8F, 0, lba, count)).check(Scsi.LBA_OUT_OF_RANGE);
                run(unit, Scsi.lba16(0x91, 0, lba, count)).check(Scsi.LBA_OUT_OF_RANGE);
                out(unmapUnit, Scsi.lba16(0x93, 0, lba, Math.max(count, 1)), new byte[512])
                        .check(Scsi.LBA_OUT_OF_RANGE);
                out(unmapUnit, Scsi.unmap(24), Scsi.unmapList(lba, count)).check(Scsi.LBA_OUT_OF_RANGE);
            }
        }
        assertEquals(0, disk.writes.get());
        assertTrue(disk.discards.isEmpty());
    }

    @Test
    void theLastBlockAndAnEmptyTransferAtTheEndAreFine() {
        in(unit, Scsi.rw16(false, BLOCKS - 1, 1, 0), 512).good(512);
        in(unit, Scsi.rw16(false, BLOCKS, 0, 0), 0).good(0);
        run(unit, Scsi.lba16(0x91, 0, BLOCKS, 0)).good(0);
    }

    @Test
    void transfersBeyondTheMaximumAreInvalidField() {
        in(unit, Scsi.read10(0, 513), 513 * 512).check(Scsi.INVALID_FIELD_IN_CDB);
        ScsiDisk small = ScsiDisk.of(disk, ScsiDisk.Settings.of(ID).withMaxTransferBytes(4096));
        in(small, Scsi.read10(0, 8), 4096).good(4096);
        in(small, Scsi.read10(0, 9), 8192).check(Scsi.INVALID_FIELD_IN_CDB);
        in(small, Scsi.rw6(false, 0, 0), 256 * 512).check(Scsi.INVALID_FIELD_IN_CDB);
    }

    @Test
    void aBufferShorterThanTheTransferIsRefusedWithoutTouchingIt() throws java.io.IOException {
        byte[] buffer = new byte[1023];
        java.util.Arrays.fill(buffer, (byte) 0x5A);
        disk.memory().write(0, new byte[1024]);
        Scsi.run(unit, Scsi.read10(0, 2), Direction.IN, buffer).check(Scsi.INVALID_FIELD_IN_CDB);
        for (byte b : buffer) {
            assertEquals(0x5A, b);
        }
        out(unit, Scsi.write10(0, 2), buffer).check(Scsi.INVALID_FIELD_IN_CDB);
        assertEquals(0, disk.writes.get());
        in(unit, Scsi.inquiry(false, 0, 96), 95).check(Scsi.INVALID_FIELD_IN_CDB);
        in(unit, Scsi.readCapacity10(), 7).check(Scsi.INVALID_FIELD_IN_CDB);
        in(unit, Scsi.readCapacity16(32), 31).check(Scsi.INVALID_FIELD_IN_CDB);
        in(unit, Scsi.modeSense6(0, 0x08, 24), 23).check(Scsi.INVALID_FIELD_IN_CDB);
        in(unit, Scsi.requestSense(18), 17).check(Scsi.INVALID_FIELD_IN_CDB);
    }

    @Test
    void aBufferGoingTheWrongWayIsRefused() {
        Scsi.run(unit, Scsi.read10(0, 1), Direction.OUT, new byte[512]).check(Scsi.INVALID_FIELD_IN_CDB);
        Scsi.run(unit, Scsi.read10(0, 1), Direction.NONE, new byte[512]).check(Scsi.INVALID_FIELD_IN_CDB);
        Scsi.run(unit, Scsi.write10(0, 1), Direction.IN, new byte[512]).check(Scsi.INVALID_FIELD_IN_CDB);
        Scsi.run(unit, Scsi.inquiry(false, 0, 36), Direction.OUT, new byte[36]).check(Scsi.INVALID_FIELD_IN_CDB);
        assertEquals(0, disk.writes.get());
    }

    @Test
    void writesToAReadOnlyUnitAreDataProtect() {
        TestDisk readOnlyDisk = new TestDisk(BLOCKS * 512L, true);
        LogicalUnit[] readOnly = {
            ScsiDisk.of(readOnlyDisk, ScsiDisk.Settings.of(ID).withUnmap(true)),
            ScsiDisk.of(disk, ScsiDisk.Settings.of(ID).withUnmap(true).withReadOnly(true)),
        };
        for (LogicalUnit u : readOnly) {
            out(u, Scsi.rw6(true, 0, 1), new byte[512]).check(Scsi.WRITE_PROTECTED);
            out(u, Scsi.write10(0, 1), new byte[512]).check(Scsi.WRITE_PROTECTED);
            out(u, Scsi.rw12(true, 0, 1, 0), new byte[512]).check(Scsi.WRITE_PROTECTED);
            out(u, Scsi.rw16(true, 0, 1, 0x08), new byte[512]).check(Scsi.WRITE_PROTECTED);
            out(u, Scsi.lba10(0x41, 0, 0, 4), new byte[512]).check(Scsi.WRITE_PROTECTED);
            out(u, Scsi.lba16(0x93, 0x08, 0, 4), new byte[512]).check(Scsi.WRITE_PROTECTED);
            out(u, Scsi.unmap(24), Scsi.unmapList(0, 4)).check(Scsi.WRITE_PROTECTED);
            pendingIs(u, Scsi.WRITE_PROTECTED);
            // Reads, flushes and range errors still answer as usual.
            in(u, Scsi.read10(0, 1), 512).good(512);
            run(u, Scsi.lba10(0x35, 0, 0, 0)).good(0);
            out(u, Scsi.write10(BLOCKS, 1), new byte[512]).check(Scsi.LBA_OUT_OF_RANGE);
        }
        assertEquals(0, disk.writes.get() + readOnlyDisk.writes.get());
        assertTrue(disk.discards.isEmpty() && readOnlyDisk.discards.isEmpty());
        readOnlyDisk.close();
    }

    @Test
    void hostReadFailureIsUnrecoveredReadError() {
        disk.failReads = true;
        in(unit, Scsi.read10(0, 8), 4096).check(Scsi.READ_ERROR);
        in(unit, Scsi.rw6(false, 1, 1), 512).check(Scsi.READ_ERROR);
        pendingIs(unit, Scsi.READ_ERROR);
    }

    @Test
    void hostWriteFlushAndDiscardFailuresAreWriteError() {
        disk.failWrites = true;
        out(unit, Scsi.write10(0, 1), new byte[512]).check(Scsi.WRITE_ERROR);
        out(unit, Scsi.lba10(0x41, 0, 0, 2), new byte[512]).check(Scsi.WRITE_ERROR);
        disk.failWrites = false;
        disk.failFlush = true;
        out(unit, Scsi.rw10(true, 0, 1, 0x08), new byte[512]).check(Scsi.WRITE_ERROR); // FUA write, flush fails
        run(unit, Scsi.lba10(0x35, 0, 0, 0)).check(Scsi.WRITE_ERROR);
        run(unit, Scsi.lba16(0x91, 0, 0, 0)).check(Scsi.WRITE_ERROR);
        disk.failDiscard = true;
        out(unmapUnit, Scsi.unmap(24), Scsi.unmapList(0, 8)).check(Scsi.WRITE_ERROR);
        out(unmapUnit, Scsi.lba16(0x93, 0x08, 0, 8), new byte[512]).check(Scsi.WRITE_ERROR);
        pendingIs(unmapUnit, Scsi.WRITE_ERROR);
    }

    @Test
    void inquiryFieldErrors() {
        in(unit, Scsi.inquiry(false, 0x80, 255), 255).check(Scsi.INVALID_FIELD_IN_CDB); // page without EVPD
        in(unit, Scsi.inquiry(true, 0x81, 255), 255).check(Scsi.INVALID_FIELD_IN_CDB); // unknown page
        in(unit, Scsi.inquiry(true, 0xC0, 255), 255).check(Scsi.INVALID_FIELD_IN_CDB);
        in(unit, Scsi.cdb(0x12, 0x02, 0, 0, 255, 0), 255).check(Scsi.INVALID_FIELD_IN_CDB); // CMDDT
    }

    @Test
    void modeSenseFieldErrors() {
        in(unit, Scsi.modeSense6(3, 0x08, 255), 255).check(Scsi.SAVING_NOT_SUPPORTED);
        in(unit, Scsi.modeSense10(3, 0x3F, 255), 255).check(Scsi.SAVING_NOT_SUPPORTED);
        in(unit, Scsi.modeSense6(0, 0x0A, 255), 255).check(Scsi.INVALID_FIELD_IN_CDB); // control page: not here
        in(unit, Scsi.modeSense10(0, 0x01, 255), 255).check(Scsi.INVALID_FIELD_IN_CDB);
        in(unit, Scsi.cdb(0x1A, 0, 0x08, 0x01, 255, 0), 255).check(Scsi.INVALID_FIELD_IN_CDB); // subpage 1
        in(unit, Scsi.cdb(0x1A, 0x10, 0x08, 0, 255, 0), 255).check(Scsi.INVALID_FIELD_IN_CDB); // LLBAA in (6)
    }

    @Test
    void readCapacityFieldErrors() {
        in(unit, Scsi.cdb(0x25, 0, 0, 0, 0, 1, 0, 0, 0, 0), 8).check(Scsi.INVALID_FIELD_IN_CDB); // LBA, PMI 0
        in(unit, Scsi.cdb(0x25, 0, 0, 0, 0, 1, 0, 0, 1, 0), 8).good(8); // LBA with PMI 1
        byte[] otherAction = Scsi.readCapacity16(32);
        otherAction[1] = 0x12; // GET LBA STATUS: not supported
        in(unit, otherAction, 32).check(Scsi.INVALID_FIELD_IN_CDB);
        byte[] lba = Scsi.readCapacity16(32);
        lba[9] = 1;
        in(unit, lba, 32).check(Scsi.INVALID_FIELD_IN_CDB);
    }

    @Test
    void writeSameFieldErrors() {
        out(unit, Scsi.lba10(0x41, 0, 0, 0), new byte[512]).check(Scsi.INVALID_FIELD_IN_CDB); // 0 blocks (WSNZ)
        out(unit, Scsi.lba10(0x41, 0x08, 0, 1), new byte[512]).check(Scsi.INVALID_FIELD_IN_CDB); // UNMAP bit, no unmap
        out(unmapUnit, Scsi.lba16(0x93, 0x10, 0, 1), new byte[512]).check(Scsi.INVALID_FIELD_IN_CDB); // ANCHOR
        out(unmapUnit, Scsi.lba16(0x93, 0x01, 0, 1), new byte[512]).check(Scsi.INVALID_FIELD_IN_CDB); // NDOB
        out(unit, Scsi.lba16(0x93, 0, 0, 513), new byte[512]).check(Scsi.INVALID_FIELD_IN_CDB); // over the limit
        out(unit, Scsi.lba16(0x93, 0, 0, 1), new byte[511]).check(Scsi.INVALID_FIELD_IN_CDB); // no whole block
        assertEquals(0, disk.writes.get());
        assertTrue(disk.discards.isEmpty());
    }

    @Test
    void unmapParameterListErrorsDiscardNothing() {
        out(unmapUnit, Scsi.unmap(7), new byte[7]).check(Scsi.LIST_LENGTH_ERROR);
        out(unmapUnit, Scsi.unmap(24), new byte[23]).check(Scsi.INVALID_FIELD_IN_CDB); // buffer short of the list
        out(unmapUnit, Scsi.cdb(0x42, 1, 0, 0, 0, 0, 0, 0, 24, 0), Scsi.unmapList(0, 1))
                .check(Scsi.INVALID_FIELD_IN_CDB); // ANCHOR
        // One bad descriptor among good ones: nothing is discarded.
        byte[] list = Scsi.unmapList(0, 8, 100, 8, BLOCKS - 4, 5);
        out(unmapUnit, Scsi.unmap(list.length), list).check(Scsi.LBA_OUT_OF_RANGE);
        // More than 256 descriptors.
        long[] many = new long[2 * 257];
        byte[] tooMany = Scsi.unmapList(many);
        out(unmapUnit, Scsi.unmap(tooMany.length), tooMany).check(Scsi.INVALID_FIELD_IN_LIST);
        assertTrue(disk.discards.isEmpty());
    }

    @Test
    void unmapOfMoreThanTwoToTheThirtyTwoBlocksInAllIsRefused() {
        ScsiDisk huge = ScsiDisk.of(new HugeDisk(1L << 45), ScsiDisk.Settings.of(ID).withUnmap(true));
        byte[] list = Scsi.unmapList(0, 0xFFFF_FFFFL, 1L << 33, 1);
        out(huge, Scsi.unmap(list.length), list).check(Scsi.INVALID_FIELD_IN_LIST);
    }

    @Test
    void requestSenseInDescriptorFormatIsRefused() {
        in(unit, Scsi.cdb(0x03, 0x01, 0, 0, 18, 0), 18).check(Scsi.INVALID_FIELD_IN_CDB);
    }

    @Test
    void aPostedUnitAttentionIsReportedOnceButNotOnInquiry() {
        unit.postUnitAttention(Sense.REPORTED_LUNS_DATA_CHANGED);
        unit.postUnitAttention(Sense.REPORTED_LUNS_DATA_CHANGED); // pending already: once
        in(unit, Scsi.inquiry(false, 0, 36), 36).good(36);
        run(unit, Scsi.testUnitReady()).check(Scsi.LUNS_CHANGED);
        run(unit, Scsi.testUnitReady()).good(0);
        // REQUEST SENSE returns and clears it.
        unit.postUnitAttention(Sense.REPORTED_LUNS_DATA_CHANGED);
        assertArrayEquals(hex(Scsi.LUNS_CHANGED), in(unit, Scsi.requestSense(18), 18).good(18).returned());
        run(unit, Scsi.testUnitReady()).good(0);
        // Cleared before it was reported: nothing.
        unit.postUnitAttention(Sense.REPORTED_LUNS_DATA_CHANGED);
        unit.clearUnitAttention(Sense.REPORTED_LUNS_DATA_CHANGED);
        run(unit, Scsi.testUnitReady()).good(0);
    }

    @Test
    void unitAttentionsComeOutOldestFirstAndPreemptOtherErrors() {
        unit.postUnitAttention(Sense.POWER_ON_RESET);
        unit.postUnitAttention(Sense.REPORTED_LUNS_DATA_CHANGED);
        run(unit, Scsi.cdb(0x01, 0, 0, 0, 0, 0)).check("70 00 06 00 00 00 00 0a 00 00 00 00 29 00 00 00 00 00");
        in(unit, Scsi.read10(BLOCKS, 1), 512).check(Scsi.LUNS_CHANGED);
        in(unit, Scsi.read10(BLOCKS, 1), 512).check(Scsi.LBA_OUT_OF_RANGE);
    }

    @Test
    void onlyUnitAttentionsCanBePosted() {
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> unit.postUnitAttention(Sense.WRITE_ERROR));
    }

    @Test
    void aResizedDiskReportsCapacityDataHasChangedOnce() {
        disk.resize(BLOCKS * 512L / 2);
        in(unit, Scsi.inquiry(false, 0, 36), 36).good(36); // INQUIRY does not report it
        in(unit, Scsi.readCapacity10(), 8).check(Scsi.CAPACITY_CHANGED);
        assertArrayEquals(hex("00 00 03 ff 00 00 02 00"), in(unit, Scsi.readCapacity10(), 8).good(8).returned());
        in(unit, Scsi.read10(BLOCKS / 2, 1), 512).check(Scsi.LBA_OUT_OF_RANGE);
        disk.resize(BLOCKS * 512L);
        in(unit, Scsi.read10(BLOCKS / 2, 1), 512).check(Scsi.CAPACITY_CHANGED);
        in(unit, Scsi.read10(BLOCKS / 2, 1), 512).good(512);
    }
}
