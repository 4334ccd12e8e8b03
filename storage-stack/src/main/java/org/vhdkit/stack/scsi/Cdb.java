package org.vhdkit.stack.scsi;

/**
 * Big-endian field readers for CDBs (all multi-byte CDB and parameter fields are big-endian); the
 * operation codes are {@link org.vhdkit.stack.protocol.scsi.ScsiOpcodes}. Readers take the CDB
 * copy of a {@link ScsiCommand}, which is always 16 bytes.
 */
final class Cdb {
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
