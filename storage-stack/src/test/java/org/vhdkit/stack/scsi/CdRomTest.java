package org.vhdkit.stack.scsi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.vhdkit.stack.scsi.ScsiCommand.Direction;
import org.vhdkit.vhd.disk.Extent;
import org.vhdkit.vhd.disk.MemoryDisk;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.testing.HugeDisk;

/** The CD/DVD logical unit, command by command, from MMC/SPC field layouts. */
class CdRomTest {
    private static final String NOT_PRESENT = "70 00 02 00 00 00 00 0a 00 00 00 00 3a 00 00 00 00 00";
    private static final String MAY_HAVE_CHANGED = "70 00 06 00 00 00 00 0a 00 00 00 00 28 00 00 00 00 00";
    private static final String REMOVAL_PREVENTED = "70 00 05 00 00 00 00 0a 00 00 00 00 53 02 00 00 00 00";

    private final List<VirtualDisk> ejected = new ArrayList<>();
    private final CdRom cd = new CdRom("dvd", ejected::add);

    /** A read-only view of a disk, as RawDisk.open(iso, true) gives. */
    private record ReadOnly(VirtualDisk disk) implements VirtualDisk {
        public String name() {
            return disk.name();
        }

        public long size() {
            return disk.size();
        }

        public boolean isReadOnly() {
            return true;
        }

        public void read(long o, MemorySegment d, long off, long n) throws java.io.IOException {
            disk.read(o, d, off, n);
        }

        public void write(long o, MemorySegment s, long off, long n) throws java.io.IOException {
            throw new java.io.IOException("read-only");
        }

        public void flush() {
        }

        public List<Extent> extents(long o, long n) throws java.io.IOException {
            return disk.extents(o, n);
        }

        public void close() {
        }
    }

    private static VirtualDisk medium(long size, long seed) throws Exception {
        MemoryDisk d = MemoryDisk.create("iso" + seed, size);
        byte[] b = new byte[(int) Math.min(size, 1 << 20)];
        new Random(seed).nextBytes(b);
        d.write(0, MemorySegment.ofArray(b), 0, b.length);
        return new ReadOnly(d);
    }

    private Scsi.Outcome run(int allocation, int... cdb) {
        byte[] bytes = new byte[cdb.length];
        for (int i = 0; i < cdb.length; i++) {
            bytes[i] = (byte) cdb[i];
        }
        byte[] data = new byte[allocation];
        ScsiCommand c = new ScsiCommand().cdb(bytes);
        if (allocation > 0) {
            c.data(MemorySegment.ofArray(data), Direction.IN);
        } else {
            c.noData();
        }
        cd.execute(c);
        assertTrue(c.isComplete());
        byte[] sense = c.sense().map(Sense::toFixed).orElse(new byte[0]);
        return new Scsi.Outcome(c.status(), c.transferred(), sense, data);
    }

    private Scsi.Outcome testUnitReady() {
        return run(0, 0x00, 0, 0, 0, 0, 0);
    }

    @Test
    void anEmptyDriveIsNotReadyThenAnInsertIsAUnitAttentionOnceThenData() throws Exception {
        testUnitReady().check(NOT_PRESENT);
        assertArrayEquals(Scsi.hex(NOT_PRESENT), run(18, 0x03, 0, 0, 0, 18, 0).good(18).returned(),
                "REQUEST SENSE returns the last error");
        run(8, 0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0).check(NOT_PRESENT);
        run(2048, 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0).check(NOT_PRESENT);
        VirtualDisk iso = medium(40 * 2048, 1);
        cd.insert(iso);
        run(36, 0x12, 0, 0, 0, 36, 0).good(36); // INQUIRY passes a unit attention
        testUnitReady().check(MAY_HAVE_CHANGED);
        testUnitReady().good(0);
        byte[] block = run(2048, 0x28, 0, 0, 0, 0, 7, 0, 0, 1, 0).good(2048).returned();
        byte[] expected = new byte[2048];
        iso.read(7 * 2048, MemorySegment.ofArray(expected), 0, 2048);
        assertArrayEquals(expected, block);
        assertSame(iso, cd.eject().orElseThrow());
        testUnitReady().check(NOT_PRESENT);
        assertTrue(cd.eject().isEmpty());
    }

    @Test
    void anInsertTheGuestNeverSawIsForgottenOnEject() throws Exception {
        cd.insert(medium(20 * 2048, 2));
        cd.eject();
        testUnitReady().check(NOT_PRESENT);
        assertThrows(IllegalArgumentException.class, () -> cd.insert(MemoryDisk.create("rw", 4096)));
        cd.insert(medium(20 * 2048, 3));
        assertThrows(IllegalStateException.class, () -> cd.insert(medium(2048, 4)));
    }

    @Test
    void inquiryCapacityTocAndModeSenseAnswerAsADvdDrive() throws Exception {
        cd.insert(medium(40 * 2048, 5));
        testUnitReady();
        byte[] inquiry = run(36, 0x12, 0, 0, 0, 36, 0).good(36).returned();
        assertEquals(0x05, inquiry[0], "peripheral device type 5");
        assertEquals((byte) 0x80, inquiry[1], "removable");
        assertEquals("Virtual DVD-ROM ", new String(inquiry, 16, 16));
        run(36, 0x12, 1, 0x80, 0, 36, 0).check(Scsi.INVALID_FIELD_IN_CDB);
        assertArrayEquals(Scsi.hex("00 00 00 27 00 00 08 00"), run(8, 0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0).good(8).returned());
        byte[] toc = run(100, 0x43, 0, 0, 0, 0, 0, 0, 0, 100, 0).good(20).returned();
        assertArrayEquals(Scsi.hex("00 12 01 01 00 14 01 00 00 00 00 00 00 14 aa 00 00 00 00 28"), toc);
        byte[] msf = run(100, 0x43, 2, 0, 0, 0, 0, 0, 0, 100, 0).good(20).returned();
        assertEquals(2, msf[4 + 6], "track 1 starts at 00:02:00");
        assertEquals(12, run(100, 0x43, 0, 1, 0, 0, 0, 0, 0, 100, 0).good(12).returned().length, "session info");
        run(100, 0x43, 0, 2, 0, 0, 0, 0, 0, 100, 0).check(Scsi.INVALID_FIELD_IN_CDB);
        byte[] mode = run(64, 0x5A, 0, 0x2A, 0, 0, 0, 0, 0, 64, 0).good(36).returned();
        assertEquals(0x2A, mode[8]);
        run(64, 0x5A, 0, 0x01, 0, 0, 0, 0, 0, 64, 0).check(Scsi.INVALID_FIELD_IN_CDB);
        run(64, 0x5A, 0, 0xEA, 0, 0, 0, 0, 0, 64, 0).check(Scsi.SAVING_NOT_SUPPORTED);
        run(0, 0x2A, 0, 0, 0, 0, 0, 0, 0, 1, 0).check(Scsi.INVALID_OPCODE);
        run(2048, 0x28, 0, 0, 0, 0, 40, 0, 0, 1, 0).check(Scsi.LBA_OUT_OF_RANGE);
        run(2048, 0xA8, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 2, 0, 0).check(Scsi.LBA_OUT_OF_RANGE);
        run(2048, 0x28, 0, 0, 0, 0, 0, 0, 0, 2, 0).check(Scsi.INVALID_FIELD_IN_CDB); // buffer too small
        run(0, 0x28, 0, 0, 0, 0, 39, 0, 0, 0, 0).good(0);
    }

    @Test
    void theCurrentProfileFollowsTheMediumsSize() throws Exception {
        byte[] none = run(64, 0x46, 0, 0, 0, 0, 0, 0, 0, 64, 0).good(32).returned();
        assertEquals(0x0000, (none[6] & 0xFF) << 8 | none[7] & 0xFF);
        cd.insert(medium(40 * 2048, 6)); // GET CONFIGURATION passes the unit attention
        byte[] small = run(64, 0x46, 0, 0, 0, 0, 0, 0, 0, 64, 0).good(32).returned();
        assertEquals(CdRom.PROFILE_CD_ROM, (small[6] & 0xFF) << 8 | small[7] & 0xFF);
        assertEquals(1, small[8 + 4 + 6], "CD-ROM is the current profile in the list");
        cd.eject();
        cd.insert(new ReadOnly(new HugeDisk(CdRom.CD_MAX_BYTES + 2048)));
        byte[] big = run(64, 0x46, 2, 0, 1, 0, 0, 0, 0, 64, 0).good(20).returned(); // RT 2: the core feature only
        assertEquals(CdRom.PROFILE_DVD_ROM, (big[6] & 0xFF) << 8 | big[7] & 0xFF);
        assertEquals(1, big[9], "the core feature");
        run(64, 0x46, 3, 0, 0, 0, 0, 0, 0, 64, 0).check(Scsi.INVALID_FIELD_IN_CDB);
    }

    @Test
    void mediaEventsAreReportedOnceAndPreventStopsTheGuestsEject() throws Exception {
        run(8, 0x4A, 0, 0, 0, 0x10, 0, 0, 0, 8, 0).check(Scsi.INVALID_FIELD_IN_CDB); // asynchronous
        cd.insert(medium(20 * 2048, 7));
        assertEquals(2, run(8, 0x4A, 1, 0, 0, 0x10, 0, 0, 0, 8, 0).good(8).returned()[4], "new media");
        byte[] again = run(8, 0x4A, 1, 0, 0, 0x10, 0, 0, 0, 8, 0).good(8).returned();
        assertEquals(0, again[4], "reported once");
        assertEquals(2, again[5], "media present");
        assertEquals((byte) 0x80, run(8, 0x4A, 1, 0, 0, 0x02, 0, 0, 0, 8, 0).good(4).returned()[2], "no event class");
        testUnitReady(); // the unit attention
        run(0, 0x1E, 0, 0, 0, 1, 0).good(0);
        assertTrue(cd.removalPrevented());
        run(0, 0x1B, 0, 0, 0, 2, 0).check(REMOVAL_PREVENTED);
        run(0, 0x1E, 0, 0, 0, 0, 0).good(0);
        run(0, 0x1B, 0, 0, 0, 2, 0).good(0);
        assertEquals(1, ejected.size(), "the guest's eject handed the medium back");
        testUnitReady().check(NOT_PRESENT);
        run(0, 0x1B, 0, 0, 0, 0x20, 0).check(Scsi.INVALID_FIELD_IN_CDB);
    }

    @Test
    void randomCdbsNeverThrow() throws Exception {
        cd.insert(medium(64 * 2048, 9));
        Random r = new Random(11);
        for (int i = 0; i < 20_000; i++) {
            byte[] cdb = new byte[1 + r.nextInt(16)];
            r.nextBytes(cdb);
            if (r.nextBoolean()) {
                cdb[0] = (byte) new int[] {0x00, 0x03, 0x12, 0x1B, 0x1E, 0x25, 0x28, 0x43, 0x46, 0x4A, 0x5A, 0xA8}[r.nextInt(12)];
            }
            byte[] data = new byte[r.nextInt(3) * 4096];
            ScsiCommand c = new ScsiCommand().cdb(cdb);
            if (data.length > 0) {
                c.data(MemorySegment.ofArray(data), Direction.IN);
            } else {
                c.noData();
            }
            cd.execute(c);
            assertTrue(c.isComplete());
            if (cd.medium().isEmpty()) {
                cd.insert(medium(64 * 2048, i));
            }
        }
    }
}
