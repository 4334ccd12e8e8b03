package org.vhdkit.stack.protocol.scsi;

/**
 * The SCSI operation codes vhdkit speaks (SPC, SBC and MMC): the first byte of every CDB. One table
 * for both ends of the wire: the parent's device models ({@code scsi.ScsiDisk}, {@code scsi.CdRom},
 * the ATAPI path of the emulated IDE, StorVSP) decode them; the guest's drivers (StorVSC, the IDE
 * driver's ATAPI packets) encode them.
 *
 * <p>Constants only; safe to use from any thread.
 */
public final class ScsiOpcodes {
    public static final int TEST_UNIT_READY = 0x00;
    public static final int REQUEST_SENSE = 0x03;
    public static final int READ_6 = 0x08;
    public static final int WRITE_6 = 0x0A;
    public static final int INQUIRY = 0x12;
    public static final int MODE_SENSE_6 = 0x1A;
    public static final int START_STOP_UNIT = 0x1B;
    public static final int PREVENT_ALLOW_MEDIUM_REMOVAL = 0x1E;
    public static final int READ_CAPACITY_10 = 0x25;
    public static final int READ_10 = 0x28;
    public static final int WRITE_10 = 0x2A;
    public static final int VERIFY_10 = 0x2F;
    public static final int SYNCHRONIZE_CACHE_10 = 0x35;
    public static final int WRITE_SAME_10 = 0x41;
    public static final int UNMAP = 0x42;
    public static final int READ_TOC = 0x43;
    public static final int GET_CONFIGURATION = 0x46;
    public static final int GET_EVENT_STATUS_NOTIFICATION = 0x4A;
    public static final int MODE_SENSE_10 = 0x5A;
    public static final int READ_16 = 0x88;
    public static final int WRITE_16 = 0x8A;
    public static final int VERIFY_16 = 0x8F;
    public static final int SYNCHRONIZE_CACHE_16 = 0x91;
    public static final int WRITE_SAME_16 = 0x93;
    public static final int SERVICE_ACTION_IN_16 = 0x9E;
    public static final int REPORT_LUNS = 0xA0;
    public static final int READ_12 = 0xA8;
    public static final int WRITE_12 = 0xAA;
    public static final int VERIFY_12 = 0xAF;

    /** The READ CAPACITY(16) service action of SERVICE ACTION IN(16) (CDB byte 1, low five bits). */
    public static final int READ_CAPACITY_16 = 0x10;

    private ScsiOpcodes() {
    }
}
