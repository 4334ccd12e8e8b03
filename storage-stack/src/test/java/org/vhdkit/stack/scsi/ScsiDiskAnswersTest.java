package org.vhdkit.stack.scsi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.vhdkit.stack.scsi.Scsi.ascii;
import static org.vhdkit.stack.scsi.Scsi.concat;
import static org.vhdkit.stack.scsi.Scsi.hex;
import static org.vhdkit.stack.scsi.Scsi.in;

import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.vhdkit.vhd.testing.HugeDisk;

/**
 * The data-in answers byte for byte against the SPC-3 / SBC-3 layouts: standard INQUIRY, every VPD
 * page, READ CAPACITY(10) and (16), MODE SENSE(6) and (10), REQUEST SENSE.
 */
class ScsiDiskAnswersTest {
    private static final UUID ID = UUID.fromString("0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0ff");
    private static final long MIB = 1 << 20;

    private final TestDisk disk = new TestDisk(MIB);
    private final ScsiDisk unit = ScsiDisk.of(disk, ScsiDisk.Settings.of(ID));
    private final ScsiDisk unmapUnit = ScsiDisk.of(disk,
            ScsiDisk.Settings.of(ID).withUnmap(true).withUnmapGranularityBlocks(4096));

    @AfterEach
    void close() {
        disk.close();
    }

    private static byte[] zeros(int n) {
        return new byte[n];
    }

    @Test
    void standardInquiryIsHyperVsVirtualDisk() {
        byte[] expected = concat(hex("00 00 05 02 5b 00 00 02"), ascii("Msft    "), ascii("Virtual Disk    "),
                ascii("1.0 "), zeros(60));
        assertEquals(96, expected.length);
        assertArrayEquals(expected, in(unit, Scsi.inquiry(false, 0, 255), 255).good(96).returned());
        // The allocation length cuts the answer short; it is not an error.
        assertArrayEquals(java.util.Arrays.copyOf(expected, 36), in(unit, Scsi.inquiry(false, 0, 36), 36).good(36)
                .returned());
        assertArrayEquals(java.util.Arrays.copyOf(expected, 5), in(unit, Scsi.inquiry(false, 0, 5), 96).good(5)
                .returned());
        in(unit, Scsi.inquiry(false, 0, 0), 0).good(0);
        // A buffer larger than the answer is fine: the residual says how much was left.
        assertEquals(300 - 96, residual(Scsi.inquiry(false, 0, 300), 300));
    }

    private long residual(byte[] cdb, int bufferLength) {
        ScsiCommand c = new ScsiCommand().cdb(cdb)
                .data(java.lang.foreign.MemorySegment.ofArray(new byte[bufferLength]), ScsiCommand.Direction.IN);
        unit.execute(c);
        return c.residual();
    }

    @Test
    void supportedVpdPagesListProvisioningOnlyWithUnmap() {
        assertArrayEquals(hex("00 00 00 05 00 80 83 b0 b1"), in(unit, Scsi.inquiry(true, 0x00, 255), 255).good(9)
                .returned());
        assertArrayEquals(hex("00 00 00 06 00 80 83 b0 b1 b2"), in(unmapUnit, Scsi.inquiry(true, 0x00, 255), 255)
                .good(10).returned());
    }

    @Test
    void unitSerialNumberIsTheDiskIdInHexUnlessGiven() {
        assertArrayEquals(concat(hex("00 80 00 20"), ascii("0F1E2D3C4B5A49788695A4B3C2D1E0FF")),
                in(unit, Scsi.inquiry(true, 0x80, 255), 255).good(36).returned());
        ScsiDisk named = ScsiDisk.of(disk, ScsiDisk.Settings.of(ID).withSerialNumber("SN-42"));
        assertArrayEquals(concat(hex("00 80 00 05"), ascii("SN-42")),
                in(named, Scsi.inquiry(true, 0x80, 255), 255).good(9).returned());
    }

    @Test
    void deviceIdentificationHoldsT10VendorAndNaaDesignatorsFromTheDiskId() {
        byte[] expected = concat(hex("00 83 00 40"),
                hex("02 01 00 28"), ascii("Msft    "), ascii("0F1E2D3C4B5A49788695A4B3C2D1E0FF"),
                hex("01 03 00 10 60 02 24 80 0f 1e 2d 3c 4b 5a a4 b3 c2 d1 e0 ff"));
        assertArrayEquals(expected, in(unit, Scsi.inquiry(true, 0x83, 255), 255).good(68).returned());
        // Stable: another unit over the same id says the same.
        ScsiDisk again = ScsiDisk.of(new HugeDisk(MIB), ScsiDisk.Settings.of(ID));
        assertArrayEquals(expected, in(again, Scsi.inquiry(true, 0x83, 255), 255).good(68).returned());
    }

    @Test
    void blockLimitsWithoutUnmap() {
        byte[] expected = concat(hex("00 b0 00 3c"),
                hex("01 00 00 08"), // WSNZ; max COMPARE AND WRITE 0; optimal granularity 8 blocks (4 KiB)
                hex("00 00 02 00"), // maximum transfer length: 512 blocks = 256 KiB
                hex("00 00 00 00"), // optimal transfer length: not reported
                hex("00 00 00 00"), // maximum prefetch length
                hex("00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"), // no unmap
                hex("00 00 00 00 00 00 02 00"), // maximum WRITE SAME length: 512 blocks
                zeros(20));
        assertEquals(64, expected.length);
        assertArrayEquals(expected, in(unit, Scsi.inquiry(true, 0xB0, 255), 255).good(64).returned());
    }

    @Test
    void blockLimitsWithUnmap() {
        byte[] expected = concat(hex("00 b0 00 3c 01 00 00 08 00 00 02 00 00 00 00 00 00 00 00 00"),
                hex("ff ff ff ff"), // maximum unmap LBA count: no limit
                hex("00 00 01 00"), // maximum unmap block descriptor count: 256
                hex("00 00 10 00"), // optimal unmap granularity: 4096 blocks (a 2 MiB VHD block)
                hex("80 00 00 00"), // UGAVALID, alignment 0
                hex("00 00 00 00 00 00 02 00"), zeros(20));
        assertArrayEquals(expected, in(unmapUnit, Scsi.inquiry(true, 0xB0, 255), 255).good(64).returned());
    }

    @Test
    void blockDeviceCharacteristicsSayNonRotating() {
        assertArrayEquals(concat(hex("00 b1 00 3c 00 01"), zeros(58)),
                in(unit, Scsi.inquiry(true, 0xB1, 255), 255).good(64).returned());
    }

    @Test
    void logicalBlockProvisioningOnlyWithUnmap() {
        // Threshold exponent 1, LBPU LBPWS LBPWS10, LBPRZ clear, provisioning type 2 (thin).
        assertArrayEquals(hex("00 b2 00 04 01 e0 02 00"),
                in(unmapUnit, Scsi.inquiry(true, 0xB2, 255), 255).good(8).returned());
        in(unit, Scsi.inquiry(true, 0xB2, 255), 255).check(Scsi.INVALID_FIELD_IN_CDB);
        // On a disk of more than 2^32 blocks the threshold exponent grows so the count fits 32 bits.
        ScsiDisk huge = ScsiDisk.of(new HugeDisk(((1L << 33) + 1) * 512), ScsiDisk.Settings.of(ID).withUnmap(true));
        assertArrayEquals(hex("00 b2 00 04 02 e0 02 00"), in(huge, Scsi.inquiry(true, 0xB2, 255), 255).good(8)
                .returned());
    }

    @Test
    void vpdPagesAreCutToTheAllocationLength() {
        assertArrayEquals(hex("00 83 00"), in(unit, Scsi.inquiry(true, 0x83, 3), 3).good(3).returned());
        in(unit, Scsi.inquiry(true, 0x83, 0), 0).good(0);
    }

    @Test
    void readCapacity10() {
        assertArrayEquals(hex("00 00 07 ff 00 00 02 00"), in(unit, Scsi.readCapacity10(), 8).good(8).returned());
        // Whatever the buffer, 8 bytes.
        assertEquals(8, in(unit, Scsi.readCapacity10(), 64).good(8).transferred());
    }

    @Test
    void readCapacity10SaysFfffffffWhenTheLastLbaDoesNotFit() {
        assertArrayEquals(hex("ff ff ff fe 00 00 02 00"), capacity10(((1L << 32) - 1) * 512));
        assertArrayEquals(hex("ff ff ff ff 00 00 02 00"), capacity10((1L << 32) * 512));
        assertArrayEquals(hex("ff ff ff ff 00 00 02 00"), capacity10(((1L << 32) + 5) * 512));
    }

    private static byte[] capacity10(long size) {
        return in(ScsiDisk.of(new HugeDisk(size), ScsiDisk.Settings.of(ID)), Scsi.readCapacity10(), 8).good(8)
                .returned();
    }

    @Test
    void readCapacity16() {
        assertArrayEquals(concat(hex("00 00 00 00 00 00 07 ff 00 00 02 00 00 00 00 00"), zeros(16)),
                in(unit, Scsi.readCapacity16(32), 32).good(32).returned());
        // LBPME with unmap.
        assertArrayEquals(concat(hex("00 00 00 00 00 00 07 ff 00 00 02 00 00 00 80 00"), zeros(16)),
                in(unmapUnit, Scsi.readCapacity16(32), 32).good(32).returned());
        ScsiDisk huge = ScsiDisk.of(new HugeDisk(((1L << 32) + 5) * 512), ScsiDisk.Settings.of(ID));
        assertArrayEquals(concat(hex("00 00 00 01 00 00 00 04 00 00 02 00 00 00 00 00"), zeros(16)),
                in(huge, Scsi.readCapacity16(32), 32).good(32).returned());
        assertArrayEquals(hex("00 00 00 00 00 00 07 ff 00 00 02 00"),
                in(unit, Scsi.readCapacity16(12), 12).good(12).returned());
    }

    @Test
    void modeSense6CachingPageWithWriteCacheEnabled() {
        byte[] expected = concat(hex("17 00 10 00"), // length 23, medium type 0, DPOFUA, no block descriptors
                hex("08 12 04 00"), zeros(16)); // caching page: WCE
        assertArrayEquals(expected, in(unit, Scsi.modeSense6(0, 0x08, 255), 255).good(24).returned());
        assertArrayEquals(expected, in(unit, Scsi.modeSense6(0, 0x3F, 255), 255).good(24).returned());
        assertArrayEquals(expected, in(unit, Scsi.modeSense6(2, 0x08, 255), 255).good(24).returned()); // default
        assertArrayEquals(concat(hex("17 00 10 00 08 12 00 00"), zeros(16)),
                in(unit, Scsi.modeSense6(1, 0x08, 255), 255).good(24).returned()); // changeable: nothing
        assertArrayEquals(hex("17 00 10 00"), in(unit, Scsi.modeSense6(0, 0x3F, 4), 4).good(4).returned());
    }

    @Test
    void modeSense10CachingPage() {
        byte[] expected = concat(hex("00 1a 00 10 00 00 00 00"), hex("08 12 04 00"), zeros(16));
        assertArrayEquals(expected, in(unit, Scsi.modeSense10(0, 0x08, 255), 255).good(28).returned());
        assertArrayEquals(expected, in(unit, Scsi.modeSense10(0, 0x3F, 255), 255).good(28).returned());
        // All pages and subpages (subpage 0xFF) is the same answer.
        byte[] cdb = Scsi.modeSense10(0, 0x3F, 255);
        cdb[3] = (byte) 0xFF;
        assertArrayEquals(expected, in(unit, cdb, 255).good(28).returned());
    }

    @Test
    void modeSenseSetsWriteProtectOnAReadOnlyUnit() {
        TestDisk readOnlyDisk = new TestDisk(MIB, true);
        ScsiDisk fromDisk = ScsiDisk.of(readOnlyDisk, ScsiDisk.Settings.of(ID));
        ScsiDisk fromAttachment = ScsiDisk.of(disk, ScsiDisk.Settings.of(ID).withReadOnly(true));
        for (ScsiDisk readOnly : new ScsiDisk[] {fromDisk, fromAttachment}) {
            assertArrayEquals(concat(hex("17 00 90 00 08 12 04 00"), zeros(16)),
                    in(readOnly, Scsi.modeSense6(0, 0x08, 255), 255).good(24).returned());
            assertArrayEquals(concat(hex("00 1a 00 90 00 00 00 00 08 12 04 00"), zeros(16)),
                    in(readOnly, Scsi.modeSense10(0, 0x08, 255), 255).good(28).returned());
        }
        readOnlyDisk.close();
    }

    @Test
    void requestSenseReturnsTheLastErrorOnceThenNoSense() {
        Scsi.run(unit, Scsi.cdb(0x01, 0, 0, 0, 0, 0)).check(Scsi.INVALID_OPCODE);
        assertArrayEquals(hex(Scsi.INVALID_OPCODE), in(unit, Scsi.requestSense(18), 18).good(18).returned());
        assertArrayEquals(hex(Scsi.NO_SENSE), in(unit, Scsi.requestSense(18), 18).good(18).returned());
        // Allocation lengths other than 18.
        Scsi.run(unit, Scsi.cdb(0x01, 0, 0, 0, 0, 0));
        assertArrayEquals(hex("70 00 05 00 00 00 00 0a"), in(unit, Scsi.requestSense(8), 8).good(8).returned());
        assertEquals(18, in(unit, Scsi.requestSense(252), 252).good(18).transferred());
    }

    @Test
    void anyOtherCommandClearsThePendingSense() {
        Scsi.run(unit, Scsi.cdb(0x01, 0, 0, 0, 0, 0)).check(Scsi.INVALID_OPCODE);
        Scsi.run(unit, Scsi.testUnitReady()).good(0);
        assertArrayEquals(hex(Scsi.NO_SENSE), in(unit, Scsi.requestSense(18), 18).good(18).returned());
    }

    @Test
    void testUnitReadyStartStopAndVerifyAreGood() {
        Scsi.run(unit, Scsi.testUnitReady()).good(0);
        Scsi.run(unit, Scsi.cdb(0x1B, 0, 0, 0, 0x01, 0)).good(0); // START
        Scsi.run(unit, Scsi.cdb(0x1B, 1, 0, 0, 0x00, 0)).good(0); // STOP, IMMED
        Scsi.run(unit, Scsi.lba10(0x2F, 0, 0, 2048)).good(0); // VERIFY(10) of the whole disk
        Scsi.run(unit, Scsi.cdb(0xAF, 0, 0, 0, 0, 0, 0, 0, 0x08, 0, 0, 0)).good(0); // VERIFY(12)
        Scsi.run(unit, Scsi.lba16(0x8F, 0x10, 2047, 1)).good(0); // VERIFY(16), DPO
    }
}
