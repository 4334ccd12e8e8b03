package org.vhdkit.stack.scsi;

/**
 * Operation codes and big-endian field readers for CDBs (all multi-byte CDB and parameter fields
 * are big-endian). Readers take the CDB copy of a {@link ScsiCommand}, which is always 16 bytes.
 */
final class Cdb {
    static final int TEST_UNIT_READY = 0x00;
    static final int REQUEST_SENSE = 0x03;
    static final int READ_6 = 0x08;
    static final int WRITE_6 = 0x0A;
    static final int INQUIRY = 0x12;
    static final int MODE_SENSE_6 = 0x1A;
    static final int START_STOP_UNIT = 0x1B;
    static final int READ_CAPACITY_10 = 0x25;
    static final int READ_10 = 0x28;
    static final int WRITE_10 = 0x2A;
    static final int VERIFY_10 = 0x2F;
    static final int SYNCHRONIZE_CACHE_10 = 0x35;
    static final int WRITE_SAME_10 = 0x41;
    static final int UNMAP = 0x42;
    static final int MODE_SENSE_10 = 0x5A;
    static final int READ_16 = 0x88;
    static final int WRITE_16 = 0x8A;
    static final int VERIFY_16 = 0x8F;
    static final int SYNCHRONIZE_CACHE_16 = 0x91;
    static final int WRITE_SAME_16 = 0x93;
    static final int SERVICE_ACTION_IN_16 = 0x9E;
    static final int REPORT_LUNS = 0xA0;
    static final int READ_12 = 0xA8;
    static final int WRITE_12 = 0xAA;
    static final int VERIFY_12 = 0xAF;

    /** The READ CAPACITY(16) service action of SERVICE ACTION IN(16). */
    static final int READ_CAPACITY_16 = 0x10;

    /** The NACA bit of the CONTROL byte (the last byte of every CDB): we support no ACA. */
    static final int NACA = 0x04;

    private Cdb() {
    }

    /**
     * The length of the CDBs of {@code opcode}'s group (SPC: 6 bytes for group 0, 10 for groups 1
     * and 2, 16 for group 4, 12 for group 5); 0 for the reserved and vendor-specific groups.
     */
    static int groupLength(int opcode) {
        return switch (opcode >>> 5) {
            case 0 -> 6;
            case 1, 2 -> 10;
            case 4 -> 16;
            case 5 -> 12;
            default -> 0;
        };
    }

    static int u8(byte[] b, int i) {
        return b[i] & 0xFF;
    }

    static int u16(byte[] b, int i) {
        return (b[i] & 0xFF) << 8 | (b[i + 1] & 0xFF);
    }

    static int u24(byte[] b, int i) {
        return (b[i] & 0xFF) << 16 | (b[i + 1] & 0xFF) << 8 | (b[i + 2] & 0xFF);
    }

    /** An unsigned 32-bit field. */
    static long u32(byte[] b, int i) {
        return ((long) u16(b, i) << 16) | u16(b, i + 2);
    }

    /** A 64-bit field; unsigned in meaning, so compare it with {@link Long#compareUnsigned}. */
    static long u64(byte[] b, int i) {
        return (u32(b, i) << 32) | u32(b, i + 4);
    }

    static void put16(byte[] b, int i, int v) {
        b[i] = (byte) (v >>> 8);
        b[i + 1] = (byte) v;
    }

    static void put32(byte[] b, int i, long v) {
        put16(b, i, (int) (v >>> 16));
        put16(b, i + 2, (int) v);
    }

    static void put64(byte[] b, int i, long v) {
        put32(b, i, v >>> 32);
        put32(b, i + 4, v);
    }

    static void putAscii(byte[] b, int i, String s) {
        for (int k = 0; k < s.length(); k++) {
            b[i + k] = (byte) s.charAt(k);
        }
    }
}
