package org.vhdkit.stack.scsi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.HexFormat;
import org.vhdkit.stack.scsi.ScsiCommand.Direction;

/** CDBs and a runner for tests, written from SBC-3/SPC-3 field layouts, not from the code under test. */
final class Scsi {
    private Scsi() {
    }

    /** What a command came back with. */
    record Outcome(ScsiStatus status, long transferred, byte[] sense, byte[] data) {
        Outcome good(long expectedTransferred) {
            assertEquals(ScsiStatus.GOOD, status, () -> "sense " + HexFormat.ofDelimiter(" ").formatHex(sense));
            assertEquals(expectedTransferred, transferred);
            return this;
        }

        /** Asserts CHECK CONDITION with exactly these 18 bytes of sense. */
        Outcome check(String expectedSenseHex) {
            assertEquals(ScsiStatus.CHECK_CONDITION, status);
            assertEquals(0, transferred);
            assertArrayEquals(hex(expectedSenseHex), sense, () -> HexFormat.ofDelimiter(" ").formatHex(sense));
            return this;
        }

        /** The first {@code transferred} bytes of the buffer. */
        byte[] returned() {
            return java.util.Arrays.copyOf(data, (int) transferred);
        }
    }

    // The exact fixed-format sense bytes of every sense the package reports.
    static final String INVALID_OPCODE = "70 00 05 00 00 00 00 0a 00 00 00 00 20 00 00 00 00 00";
    static final String LBA_OUT_OF_RANGE = "70 00 05 00 00 00 00 0a 00 00 00 00 21 00 00 00 00 00";
    static final String INVALID_FIELD_IN_CDB = "70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 00 00 00";
    static final String LUN_NOT_SUPPORTED = "70 00 05 00 00 00 00 0a 00 00 00 00 25 00 00 00 00 00";
    static final String INVALID_FIELD_IN_LIST = "70 00 05 00 00 00 00 0a 00 00 00 00 26 00 00 00 00 00";
    static final String LIST_LENGTH_ERROR = "70 00 05 00 00 00 00 0a 00 00 00 00 1a 00 00 00 00 00";
    static final String SAVING_NOT_SUPPORTED = "70 00 05 00 00 00 00 0a 00 00 00 00 39 00 00 00 00 00";
    static final String WRITE_PROTECTED = "70 00 07 00 00 00 00 0a 00 00 00 00 27 00 00 00 00 00";
    static final String READ_ERROR = "70 00 03 00 00 00 00 0a 00 00 00 00 11 00 00 00 00 00";
    static final String WRITE_ERROR = "70 00 03 00 00 00 00 0a 00 00 00 00 0c 00 00 00 00 00";
    static final String CAPACITY_CHANGED = "70 00 06 00 00 00 00 0a 00 00 00 00 2a 09 00 00 00 00";
    static final String LUNS_CHANGED = "70 00 06 00 00 00 00 0a 00 00 00 00 3f 0e 00 00 00 00";
    static final String NO_SENSE = "70 00 00 00 00 00 00 0a 00 00 00 00 00 00 00 00 00 00";

    static byte[] hex(String s) {
        return HexFormat.ofDelimiter(" ").parseHex(s.strip().replaceAll("\\s+", " "));
    }

    static String hex(byte[] b) {
        return HexFormat.ofDelimiter(" ").formatHex(b);
    }

    static byte[] ascii(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }

    static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] all = new byte[n];
        int i = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, all, i, p.length);
            i += p.length;
        }
        return all;
    }

    static Outcome run(LogicalUnit unit, byte[] cdb) {
        return run(unit, cdb, Direction.NONE, new byte[0]);
    }

    static Outcome in(LogicalUnit unit, byte[] cdb, int bufferLength) {
        return run(unit, cdb, Direction.IN, new byte[bufferLength]);
    }

    static Outcome out(LogicalUnit unit, byte[] cdb, byte[] data) {
        return run(unit, cdb, Direction.OUT, data);
    }

    static Outcome run(LogicalUnit unit, byte[] cdb, Direction direction, byte[] buffer) {
        ScsiCommand c = new ScsiCommand().cdb(cdb).data(MemorySegment.ofArray(buffer), direction);
        unit.execute(c);
        return outcome(c, buffer);
    }

    static Outcome run(ScsiTarget target, int lun, byte[] cdb, Direction direction, byte[] buffer) {
        ScsiCommand c = new ScsiCommand().cdb(cdb).data(MemorySegment.ofArray(buffer), direction);
        target.execute(lun, c);
        return outcome(c, buffer);
    }

    static Outcome outcome(ScsiCommand c, byte[] buffer) {
        assertTrue(c.isComplete());
        byte[] sense = c.sense().map(Sense::toFixed).orElse(new byte[0]);
        assertEquals(c.status() == ScsiStatus.CHECK_CONDITION, sense.length == Sense.FIXED_LENGTH);
        return new Outcome(c.status(), c.transferred(), sense, buffer);
    }

    // ---- CDBs ----

    static byte[] cdb(int... bytes) {
        byte[] b = new byte[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            b[i] = (byte) bytes[i];
        }
        return b;
    }

    static byte[] testUnitReady() {
        return cdb(0x00, 0, 0, 0, 0, 0);
    }

    static byte[] requestSense(int allocation) {
        return cdb(0x03, 0, 0, 0, allocation, 0);
    }

    static byte[] inquiry(boolean evpd, int page, int allocation) {
        return cdb(0x12, evpd ? 1 : 0, page, allocation >>> 8, allocation, 0);
    }

    static byte[] modeSense6(int pageControl, int page, int allocation) {
        return cdb(0x1A, 0, pageControl << 6 | page, 0, allocation, 0);
    }

    static byte[] modeSense10(int pageControl, int page, int allocation) {
        return cdb(0x5A, 0, pageControl << 6 | page, 0, 0, 0, 0, allocation >>> 8, allocation, 0);
    }

    static byte[] readCapacity10() {
        return cdb(0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    }

    static byte[] readCapacity16(int allocation) {
        byte[] b = new byte[16];
        b[0] = (byte) 0x9E;
        b[1] = 0x10;
        put(b, 10, 4, allocation);
        return b;
    }

    static byte[] rw6(boolean write, long lba, int blocks) {
        return cdb(write ? 0x0A : 0x08, (int) (lba >>> 16) & 0x1F, (int) (lba >>> 8), (int) lba, blocks, 0);
    }

    static byte[] rw10(boolean write, long lba, int blocks, int flags) {
        byte[] b = new byte[10];
        b[0] = (byte) (write ? 0x2A : 0x28);
        b[1] = (byte) flags;
        put(b, 2, 4, lba);
        put(b, 7, 2, blocks);
        return b;
    }

    static byte[] rw12(boolean write, long lba, long blocks, int flags) {
        byte[] b = new byte[12];
        b[0] = (byte) (write ? 0xAA : 0xA8);
        b[1] = (byte) flags;
        put(b, 2, 4, lba);
        put(b, 6, 4, blocks);
        return b;
    }

    static byte[] rw16(boolean write, long lba, long blocks, int flags) {
        byte[] b = new byte[16];
        b[0] = (byte) (write ? 0x8A : 0x88);
        b[1] = (byte) flags;
        put(b, 2, 8, lba);
        put(b, 10, 4, blocks);
        return b;
    }

    static byte[] read10(long lba, int blocks) {
        return rw10(false, lba, blocks, 0);
    }

    static byte[] write10(long lba, int blocks) {
        return rw10(true, lba, blocks, 0);
    }

    /** A 10-byte CDB of the LBA-and-count shape (VERIFY(10), SYNCHRONIZE CACHE(10), WRITE SAME(10)). */
    static byte[] lba10(int opcode, int flags, long lba, int blocks) {
        byte[] b = new byte[10];
        b[0] = (byte) opcode;
        b[1] = (byte) flags;
        put(b, 2, 4, lba);
        put(b, 7, 2, blocks);
        return b;
    }

    /** A 16-byte CDB of the LBA-and-count shape (VERIFY(16), SYNCHRONIZE CACHE(16), WRITE SAME(16)). */
    static byte[] lba16(int opcode, int flags, long lba, long blocks) {
        byte[] b = new byte[16];
        b[0] = (byte) opcode;
        b[1] = (byte) flags;
        put(b, 2, 8, lba);
        put(b, 10, 4, blocks);
        return b;
    }

    static byte[] unmap(int listLength) {
        return cdb(0x42, 0, 0, 0, 0, 0, 0, listLength >>> 8, listLength, 0);
    }

    /** An UNMAP parameter list: header then one descriptor per (lba, blocks) pair. */
    static byte[] unmapList(long... lbaBlocks) {
        int n = lbaBlocks.length / 2;
        byte[] b = new byte[8 + 16 * n];
        put(b, 0, 2, 6 + 16 * n);
        put(b, 2, 2, 16 * n);
        for (int i = 0; i < n; i++) {
            put(b, 8 + 16 * i, 8, lbaBlocks[2 * i]);
            put(b, 8 + 16 * i + 8, 4, lbaBlocks[2 * i + 1]);
        }
        return b;
    }

    static byte[] reportLuns(int select, int allocation) {
        byte[] b = new byte[12];
        b[0] = (byte) 0xA0;
        b[2] = (byte) select;
        put(b, 6, 4, allocation);
        return b;
    }

    /** Writes the low {@code n} bytes of {@code v} big-endian at {@code at}. */
    static void put(byte[] b, int at, int n, long v) {
        for (int i = 0; i < n; i++) {
            b[at + i] = (byte) (v >>> (8 * (n - 1 - i)));
        }
    }
}
