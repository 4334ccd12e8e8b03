package org.vhdkit.stack.protocol.vhostuser;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The virtio-scsi structures (the virtio specification's SCSI host device): the layouts of the
 * request queues' command request and response, the control queue's task management and
 * asynchronous notification requests, the event queue's events, the 8-byte LUN field, and the
 * device configuration space. Offsets are within each structure; all little-endian. The request
 * and response sizes are those of the default {@code cdb_size} (32) and {@code sense_size} (96),
 * which qemu's vhost-user-scsi device does not let a driver change.
 *
 * <p>Thread-safety: constants and stateless functions.
 */
public final class VirtioScsi {
    /** The virtio device id of a SCSI host. */
    public static final int DEVICE_ID = 8;

    // ---- feature bits ----
    public static final int F_INOUT = 0;
    public static final int F_HOTPLUG = 1;
    public static final int F_CHANGE = 2;

    // ---- queues ----
    public static final int CONTROL_QUEUE = 0;
    public static final int EVENT_QUEUE = 1;
    /** The first request queue. */
    public static final int FIRST_REQUEST_QUEUE = 2;

    // ---- struct virtio_scsi_cmd_req ----
    public static final int CDB_SIZE = 32;
    public static final int SENSE_SIZE = 96;
    public static final int REQ_LUN = 0;
    public static final int REQ_TAG = 8;
    public static final int REQ_TASK_ATTR = 16;
    public static final int REQ_CDB = 19;
    /** The request header's length: lun, tag, task_attr, prio, crn, cdb[32]. */
    public static final int REQUEST_LENGTH = REQ_CDB + CDB_SIZE;

    // ---- struct virtio_scsi_cmd_resp ----
    public static final int RESP_SENSE_LEN = 0;
    public static final int RESP_RESID = 4;
    public static final int RESP_STATUS_QUALIFIER = 8;
    public static final int RESP_STATUS = 10;
    public static final int RESP_RESPONSE = 11;
    public static final int RESP_SENSE = 12;
    /** The response's length: sense_len, resid, status_qualifier, status, response, sense[96]. */
    public static final int RESPONSE_LENGTH = RESP_SENSE + SENSE_SIZE;

    // ---- response codes ----
    public static final int S_OK = 0;
    public static final int S_OVERRUN = 1;
    public static final int S_ABORTED = 2;
    public static final int S_BAD_TARGET = 3;
    public static final int S_RESET = 4;
    public static final int S_BUSY = 5;
    public static final int S_TRANSPORT_FAILURE = 6;
    public static final int S_TARGET_FAILURE = 7;
    public static final int S_NEXUS_FAILURE = 8;
    public static final int S_FAILURE = 9;
    public static final int S_FUNCTION_SUCCEEDED = 10;
    public static final int S_FUNCTION_REJECTED = 11;
    public static final int S_INCORRECT_LUN = 12;
    /** A task management function completed (the same value as OK). */
    public static final int S_FUNCTION_COMPLETE = 0;

    // ---- control queue ----
    public static final int T_TMF = 0;
    public static final int T_AN_QUERY = 1;
    public static final int T_AN_SUBSCRIBE = 2;
    public static final int TMF_ABORT_TASK = 0;
    public static final int TMF_ABORT_TASK_SET = 1;
    public static final int TMF_CLEAR_ACA = 2;
    public static final int TMF_CLEAR_TASK_SET = 3;
    public static final int TMF_I_T_NEXUS_RESET = 4;
    public static final int TMF_LOGICAL_UNIT_RESET = 5;
    public static final int TMF_QUERY_TASK = 6;
    public static final int TMF_QUERY_TASK_SET = 7;
    /** struct virtio_scsi_ctrl_tmf_req: type, subtype, lun[8], tag. */
    public static final int TMF_REQUEST_LENGTH = 24;
    public static final int TMF_LUN = 8;
    /** struct virtio_scsi_ctrl_tmf_resp: response. */
    public static final int TMF_RESPONSE_LENGTH = 1;
    /** struct virtio_scsi_ctrl_an_req: type, lun[8], event_requested. */
    public static final int AN_REQUEST_LENGTH = 16;
    public static final int AN_LUN = 4;
    /** struct virtio_scsi_ctrl_an_resp: event_actual, response. */
    public static final int AN_RESPONSE_LENGTH = 5;

    // ---- event queue ----
    public static final int T_NO_EVENT = 0;
    public static final int T_TRANSPORT_RESET = 1;
    public static final int T_ASYNC_NOTIFY = 2;
    public static final int T_PARAM_CHANGE = 3;
    public static final int T_EVENTS_MISSED = 0x8000_0000;
    public static final int EVT_RESET_HARD = 0;
    public static final int EVT_RESET_RESCAN = 1;
    public static final int EVT_RESET_REMOVED = 2;
    /** struct virtio_scsi_event: event, lun[8], reason. */
    public static final int EVENT_LENGTH = 16;

    /** The most LUNs the 14-bit flat LUN of the LUN field names. */
    public static final int MAX_LUNS = 16384;

    /** The length of the configuration space. */
    public static final int CONFIG_LENGTH = 36;

    private static final ValueLayout.OfInt U32 = MessageHeader.U32;
    private static final ValueLayout.OfShort U16 =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    private VirtioScsi() {
    }

    /**
     * The LUN that the 8-byte LUN field at {@code offset} of {@code src} addresses on target 0, or -1
     * when it addresses nothing here: byte 0 is not 1, another target (byte 1), a LUN format other
     * than peripheral (byte 2 zero) or flat (0x40 to 0x7F), or a second level (bytes 4 to 7 not zero).
     * Allocates nothing.
     */
    public static int lun(MemorySegment src, long offset) {
        int b0 = src.get(ValueLayout.JAVA_BYTE, offset) & 0xFF;
        int target = src.get(ValueLayout.JAVA_BYTE, offset + 1) & 0xFF;
        int b2 = src.get(ValueLayout.JAVA_BYTE, offset + 2) & 0xFF;
        int b3 = src.get(ValueLayout.JAVA_BYTE, offset + 3) & 0xFF;
        int rest = src.get(U32, offset + 4);
        if (b0 != 1 || target != 0 || rest != 0 || (b2 != 0 && (b2 < 0x40 || b2 > 0x7F))) {
            return -1;
        }
        return ((b2 << 8) | b3) & 0x3FFF;
    }

    /**
     * Writes the LUN field for {@code lun} on target 0 at {@code offset} of {@code dst} as qemu's
     * virtio-scsi writes an event's: peripheral addressing (byte 2 zero) below 256, flat above.
     * Linux's virtio_scsi takes an event's bytes 2 and 3 as the LUN number without removing the flat
     * format's 0x40, so flat addressing for LUN 5 made it scan LUN 16389 (0x4005) on a hot add.
     */
    public static void putLun(MemorySegment dst, long offset, int lun) {
        if (lun < 0 || lun >= MAX_LUNS) {
            throw new IllegalArgumentException("LUN " + lun);
        }
        dst.set(ValueLayout.JAVA_BYTE, offset, (byte) 1);
        dst.set(ValueLayout.JAVA_BYTE, offset + 1, (byte) 0);
        dst.set(ValueLayout.JAVA_BYTE, offset + 2, (byte) (lun >= 256 ? (lun >> 8) | 0x40 : 0));
        dst.set(ValueLayout.JAVA_BYTE, offset + 3, (byte) lun);
        dst.set(U32, offset + 4, 0);
    }

    /**
     * The length of a CDB whose operation code is {@code opcode}, from its group code (SPC): 6, 10,
     * 12 or 16 bytes; 16 for the reserved and vendor-specific groups, whose commands a unit refuses
     * as unknown anyway. virtio-scsi carries no CDB length, only the 32-byte field.
     */
    public static int cdbLength(int opcode) {
        return switch ((opcode >> 5) & 7) {
            case 0 -> 6;
            case 1, 2 -> 10;
            case 5 -> 12;
            default -> 16;
        };
    }

    /**
     * The device configuration space (struct virtio_scsi_config).
     *
     * @param numQueues    request queues
     * @param segMax       the most data segments in one command
     * @param maxSectors   the largest transfer, in 512-byte sectors
     * @param cmdPerLun    commands a LUN may have queued
     * @param maxLun       the largest LUN
     */
    public record Config(int numQueues, int segMax, int maxSectors, int cmdPerLun, int maxLun) {
        /** Writes the 36 bytes at {@code offset} of {@code dst}. */
        public void encode(MemorySegment dst, long offset) {
            dst.set(U32, offset, numQueues);
            dst.set(U32, offset + 4, segMax);
            dst.set(U32, offset + 8, maxSectors);
            dst.set(U32, offset + 12, cmdPerLun);
            dst.set(U32, offset + 16, EVENT_LENGTH);
            dst.set(U32, offset + 20, SENSE_SIZE);
            dst.set(U32, offset + 24, CDB_SIZE);
            dst.set(U16, offset + 28, (short) 0);
            dst.set(U16, offset + 30, (short) 0);
            dst.set(U32, offset + 32, maxLun);
        }
    }
}
