package org.vhdkit.stack.scsi;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * What a logical unit tells an initiator about a command it did not complete with GOOD status: a
 * sense key and an additional sense code and qualifier (ASC, ASCQ), as SPC defines them.
 *
 * <p>On the wire it is always fixed-format sense data, 18 bytes ({@link #writeFixed}): response code
 * 0x70 (current error, VALID clear: no INFORMATION field), the sense key in byte 2, additional
 * sense length 10 in byte 7, ASC in byte 12, ASCQ in byte 13, every other byte zero. The
 * constants here are every sense this package reports; a logical unit uses them so that reporting
 * an error allocates nothing.
 *
 * <p>Thread-safety: immutable.
 *
 * @param key  the sense key
 * @param asc  the additional sense code, 0 to 255
 * @param ascq the additional sense code qualifier, 0 to 255
 */
public record Sense(Key key, int asc, int ascq) {
    /** The length of fixed-format sense data. */
    public static final int FIXED_LENGTH = 18;
    /** Response code of fixed-format sense data for the current command. */
    public static final int CURRENT_FIXED = 0x70;

    /** No sense: what REQUEST SENSE returns when nothing is pending. */
    public static final Sense NO_SENSE = new Sense(Key.NO_SENSE, 0x00, 0x00);
    /** ILLEGAL REQUEST / INVALID COMMAND OPERATION CODE (0x20/0x00): an opcode the unit does not know. */
    public static final Sense INVALID_COMMAND_OPERATION_CODE = new Sense(Key.ILLEGAL_REQUEST, 0x20, 0x00);
    /** ILLEGAL REQUEST / LOGICAL BLOCK ADDRESS OUT OF RANGE (0x21/0x00). */
    public static final Sense LBA_OUT_OF_RANGE = new Sense(Key.ILLEGAL_REQUEST, 0x21, 0x00);
    /**
     * ILLEGAL REQUEST / INVALID FIELD IN CDB (0x24/0x00): a field the unit does not support, a CDB
     * shorter than its opcode needs, or a data buffer that does not fit the command.
     */
    public static final Sense INVALID_FIELD_IN_CDB = new Sense(Key.ILLEGAL_REQUEST, 0x24, 0x00);
    /** ILLEGAL REQUEST / LOGICAL UNIT NOT SUPPORTED (0x25/0x00): no unit at the addressed LUN. */
    public static final Sense LOGICAL_UNIT_NOT_SUPPORTED = new Sense(Key.ILLEGAL_REQUEST, 0x25, 0x00);
    /** ILLEGAL REQUEST / INVALID FIELD IN PARAMETER LIST (0x26/0x00). */
    public static final Sense INVALID_FIELD_IN_PARAMETER_LIST = new Sense(Key.ILLEGAL_REQUEST, 0x26, 0x00);
    /** ILLEGAL REQUEST / PARAMETER LIST LENGTH ERROR (0x1A/0x00). */
    public static final Sense PARAMETER_LIST_LENGTH_ERROR = new Sense(Key.ILLEGAL_REQUEST, 0x1A, 0x00);
    /** ILLEGAL REQUEST / SAVING PARAMETERS NOT SUPPORTED (0x39/0x00): MODE SENSE of saved values. */
    public static final Sense SAVING_PARAMETERS_NOT_SUPPORTED = new Sense(Key.ILLEGAL_REQUEST, 0x39, 0x00);
    /** DATA PROTECT / WRITE PROTECTED (0x27/0x00): a write to a read-only unit. */
    public static final Sense WRITE_PROTECTED = new Sense(Key.DATA_PROTECT, 0x27, 0x00);
    /** MEDIUM ERROR / UNRECOVERED READ ERROR (0x11/0x00): the host failed to read. */
    public static final Sense UNRECOVERED_READ_ERROR = new Sense(Key.MEDIUM_ERROR, 0x11, 0x00);
    /** MEDIUM ERROR / WRITE ERROR (0x0C/0x00): the host failed to write, flush or discard. */
    public static final Sense WRITE_ERROR = new Sense(Key.MEDIUM_ERROR, 0x0C, 0x00);
    /** UNIT ATTENTION / POWER ON, RESET, OR BUS DEVICE RESET OCCURRED (0x29/0x00). */
    public static final Sense POWER_ON_RESET = new Sense(Key.UNIT_ATTENTION, 0x29, 0x00);
    /** UNIT ATTENTION / CAPACITY DATA HAS CHANGED (0x2A/0x09): the disk was resized. */
    public static final Sense CAPACITY_DATA_CHANGED = new Sense(Key.UNIT_ATTENTION, 0x2A, 0x09);
    /** UNIT ATTENTION / REPORTED LUNS DATA HAS CHANGED (0x3F/0x0E): a unit was added or removed. */
    public static final Sense REPORTED_LUNS_DATA_CHANGED = new Sense(Key.UNIT_ATTENTION, 0x3F, 0x0E);
    /** UNIT ATTENTION / NOT READY TO READY CHANGE, MEDIUM MAY HAVE CHANGED (0x28/0x00). */
    public static final Sense MEDIUM_MAY_HAVE_CHANGED = new Sense(Key.UNIT_ATTENTION, 0x28, 0x00);
    /** NOT READY / MEDIUM NOT PRESENT (0x3A/0x00): an empty drive. */
    public static final Sense MEDIUM_NOT_PRESENT = new Sense(Key.NOT_READY, 0x3A, 0x00);

    /** The sense keys of SPC. */
    public enum Key {
        NO_SENSE(0x0),
        RECOVERED_ERROR(0x1),
        NOT_READY(0x2),
        MEDIUM_ERROR(0x3),
        HARDWARE_ERROR(0x4),
        ILLEGAL_REQUEST(0x5),
        UNIT_ATTENTION(0x6),
        DATA_PROTECT(0x7),
        BLANK_CHECK(0x8),
        VENDOR_SPECIFIC(0x9),
        COPY_ABORTED(0xA),
        ABORTED_COMMAND(0xB),
        VOLUME_OVERFLOW(0xD),
        MISCOMPARE(0xE);

        private final int code;

        Key(int code) {
            this.code = code;
        }

        /** The 4-bit code. */
        public int code() {
            return code;
        }
    }

    public Sense {
        Objects.requireNonNull(key, "key");
        if (asc < 0 || asc > 0xFF || ascq < 0 || ascq > 0xFF) {
            throw new IllegalArgumentException("ASC and ASCQ are bytes, not 0x" + Integer.toHexString(asc)
                    + "/0x" + Integer.toHexString(ascq));
        }
    }

    /** Byte {@code index} (0 to 17) of the fixed-format sense data. */
    public int fixedByte(int index) {
        return switch (index) {
            case 0 -> CURRENT_FIXED;
            case 2 -> key.code();
            case 7 -> FIXED_LENGTH - 8;
            case 12 -> asc;
            case 13 -> ascq;
            default -> {
                if (index < 0 || index >= FIXED_LENGTH) {
                    throw new IndexOutOfBoundsException(index);
                }
                yield 0;
            }
        };
    }

    /**
     * Writes the first {@code min(maxLength, 18)} bytes of the fixed-format sense data to
     * {@code dst} at {@code offset} (the sense area of a request, which may be shorter than 18
     * bytes); returns how many. Allocates nothing.
     */
    public int writeFixed(MemorySegment dst, long offset, int maxLength) {
        int n = Math.max(0, Math.min(maxLength, FIXED_LENGTH));
        for (int i = 0; i < n; i++) {
            dst.set(ValueLayout.JAVA_BYTE, offset + i, (byte) fixedByte(i));
        }
        return n;
    }

    /** The 18 bytes of fixed-format sense data. */
    public byte[] toFixed() {
        byte[] bytes = new byte[FIXED_LENGTH];
        writeFixed(MemorySegment.ofArray(bytes), 0, FIXED_LENGTH);
        return bytes;
    }

    @Override
    public String toString() {
        return key + String.format(" %02X/%02X", asc, ascq) + describe();
    }

    private String describe() {
        return switch ((asc << 8) | ascq) {
            case 0x2000 -> " (invalid command operation code)";
            case 0x2100 -> " (logical block address out of range)";
            case 0x2400 -> " (invalid field in CDB)";
            case 0x2500 -> " (logical unit not supported)";
            case 0x2600 -> " (invalid field in parameter list)";
            case 0x1A00 -> " (parameter list length error)";
            case 0x3900 -> " (saving parameters not supported)";
            case 0x2700 -> " (write protected)";
            case 0x1100 -> " (unrecovered read error)";
            case 0x0C00 -> " (write error)";
            case 0x2900 -> " (power on, reset, or bus device reset occurred)";
            case 0x2A09 -> " (capacity data has changed)";
            case 0x3F0E -> " (reported LUNs data has changed)";
            case 0x2800 -> " (not ready to ready change, medium may have changed)";
            case 0x3A00 -> " (medium not present)";
            default -> "";
        };
    }
}
