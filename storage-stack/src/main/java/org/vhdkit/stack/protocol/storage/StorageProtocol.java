package org.vhdkit.stack.protocol.storage;

/**
 * The storage protocol both ends of a synthetic SCSI channel speak (StorVSC in the guest, StorVSP in
 * the parent), as the protocol notes and the Linux and openvmm drivers lay it out: the wire
 * constants, in one place, so that the two sides cannot disagree. The layouts themselves are
 * {@link PacketHeader}, {@link ProtocolVersion}, {@link ChannelProperties} and the SRB
 * ({@link Srb}, and {@link SrbView} for the per-request path); the field offsets are theirs alone.
 *
 * <h2>A packet</h2>
 * Every packet's payload starts with a 12-byte header {u32 operation, u32 flags, u32 status
 * (NTSTATUS)}, followed by a union whose meaning depends on the operation:
 * <ul>
 *   <li>{@link #QUERY_PROTOCOL_VERSION}: {u16 major << 8 | minor, u16 revision}.
 *   <li>{@link #QUERY_PROPERTIES} (answer): {u32 reserved, u16 max sub-channel count, u16 reserved,
 *       u32 flags, u32 max transfer bytes, u64 reserved}.
 *   <li>{@link #EXECUTE_SRB} and its {@link #COMPLETE_IO} answer: the SCSI request block (SRB) below.
 * </ul>
 *
 * <h2>The SRB ({@code vmscsi_request})</h2>
 * Its fields (length, SRB and SCSI status, port, path, target, LUN, CDB and sense lengths, data
 * direction, data transfer length, the 20-byte CDB / sense area, and from 5.1 on the queue, flag and
 * time-out fields) are laid out in {@link SrbView}.
 * An SRB is {@link #SRB_LENGTH_V1} (0x24) bytes before version 5.1 (Windows 8) and
 * {@link #SRB_LENGTH_V2} (0x34) from it on; the sense area holds 0x12 and 0x14 bytes respectively.
 * Data moves through the GPA-direct ranges of the packet carrying the SRB; their byte counts add up
 * to the data transfer length.
 *
 * <p>Thread-safety: constants only.
 */
public final class StorageProtocol {
    // ---- operations ----
    public static final int COMPLETE_IO = 1;
    public static final int REMOVE_DEVICE = 2;
    public static final int EXECUTE_SRB = 3;
    public static final int RESET_LUN = 4;
    public static final int RESET_ADAPTER = 5;
    public static final int RESET_BUS = 6;
    public static final int BEGIN_INITIALIZATION = 7;
    public static final int END_INITIALIZATION = 8;
    public static final int QUERY_PROTOCOL_VERSION = 9;
    public static final int QUERY_PROPERTIES = 10;
    public static final int ENUMERATE_BUS = 11;
    public static final int FC_HBA_DATA = 12;
    public static final int CREATE_SUB_CHANNELS = 13;

    /** Packet flag: the sender wants an answer (Linux sets it on every request). */
    public static final int REQUEST_COMPLETION_FLAG = 1;

    // ---- protocol versions, major << 8 | minor ----
    /** Windows Server 2008. */
    public static final int VERSION_WIN6 = 0x0200;
    /** Windows 7 / Server 2008 R2. */
    public static final int VERSION_WIN7 = 0x0402;
    /** Windows 8: the larger SRB with the extension fields, 20-byte sense. */
    public static final int VERSION_WIN8 = 0x0501;
    /** Windows 8.1. */
    public static final int VERSION_BLUE = 0x0600;
    /** Windows 10. */
    public static final int VERSION_THRESHOLD = 0x0602;
    /** Every version the parent accepts, highest first: the order a guest proposes them in. */
    public static final int[] VERSIONS = {VERSION_THRESHOLD, VERSION_BLUE, VERSION_WIN8, VERSION_WIN7, VERSION_WIN6};

    // ---- NTSTATUS values ----
    public static final int STATUS_SUCCESS = 0x0000_0000;
    public static final int STATUS_UNSUCCESSFUL = 0xC000_0001;
    public static final int STATUS_INVALID_PARAMETER = 0xC000_000D;
    public static final int STATUS_INVALID_DEVICE_REQUEST = 0xC000_0010;
    public static final int STATUS_REVISION_MISMATCH = 0xC000_0059;
    public static final int STATUS_DEVICE_DOES_NOT_EXIST = 0xC000_00C0;
    public static final int STATUS_INVALID_DEVICE_STATE = 0xC000_0184;
    public static final int STATUS_IO_DEVICE_ERROR = 0xC000_0185;

    // ---- SRB status values (srb.h) ----
    public static final int SRB_STATUS_SUCCESS = 0x01;
    public static final int SRB_STATUS_ABORTED = 0x02;
    public static final int SRB_STATUS_ERROR = 0x04;
    public static final int SRB_STATUS_INVALID_REQUEST = 0x06;
    public static final int SRB_STATUS_INVALID_PATH_ID = 0x07;
    public static final int SRB_STATUS_INVALID_LUN = 0x20;
    public static final int SRB_STATUS_INVALID_TARGET_ID = 0x21;
    /** Flag in the SRB status: the sense area holds sense data. */
    public static final int SRB_STATUS_AUTOSENSE_VALID = 0x80;

    // ---- data direction (the SRB's data-in byte) ----
    public static final int DATA_OUT = 0;
    public static final int DATA_IN = 1;
    public static final int DATA_UNKNOWN = 2;

    // ---- layout ----
    /** The packet header: operation, flags, status. */
    public static final int HEADER_LENGTH = 12;
    /** The SRB before version 5.1. */
    public static final int SRB_LENGTH_V1 = 0x24;
    /** The SRB from version 5.1 on. */
    public static final int SRB_LENGTH_V2 = 0x34;
    /** The longest packet payload: header and the larger SRB (0x40 bytes). */
    public static final int MAX_PACKET_LENGTH = HEADER_LENGTH + SRB_LENGTH_V2;
    /** The sense area before version 5.1. */
    public static final int SENSE_LENGTH_V1 = 0x12;
    /** The sense area from version 5.1 on. */
    public static final int SENSE_LENGTH_V2 = 0x14;
    /** The longest CDB an SRB carries. */
    public static final int MAX_CDB_LENGTH = 16;

    // ---- what this parent offers ----
    /** The largest transfer of one request: 256 KiB, as Hyper-V's. */
    public static final int MAX_TRANSFER_BYTES = 256 * 1024;
    /** The queue depth a channel is sized for (the guest should keep at most this many in flight). */
    public static final int DEFAULT_QUEUE_DEPTH = 256;
    /** Path ids on a controller: only 0. */
    public static final int PATHS = 1;
    /** Targets on a controller: only 0. */
    public static final int TARGETS = 1;

    private StorageProtocol() {
    }

    /** Whether the parent accepts {@code version}. */
    public static boolean isSupported(int version) {
        for (int v : VERSIONS) {
            if (v == version) {
                return true;
            }
        }
        return false;
    }

    /** The SRB length for {@code version}. */
    public static int srbLength(int version) {
        return SrbLayout.of(version).length();
    }

    /** The sense area length for {@code version}. */
    public static int senseLength(int version) {
        return SrbLayout.of(version).senseLength();
    }

    /** "5.1" for 0x0501. */
    public static String describeVersion(int version) {
        return (version >>> 8 & 0xFF) + "." + (version & 0xFF);
    }

    /** A name for an operation code, for messages. */
    public static String operationName(int operation) {
        return switch (operation) {
            case COMPLETE_IO -> "COMPLETE_IO";
            case REMOVE_DEVICE -> "REMOVE_DEVICE";
            case EXECUTE_SRB -> "EXECUTE_SRB";
            case RESET_LUN -> "RESET_LUN";
            case RESET_ADAPTER -> "RESET_ADAPTER";
            case RESET_BUS -> "RESET_BUS";
            case BEGIN_INITIALIZATION -> "BEGIN_INITIALIZATION";
            case END_INITIALIZATION -> "END_INITIALIZATION";
            case QUERY_PROTOCOL_VERSION -> "QUERY_PROTOCOL_VERSION";
            case QUERY_PROPERTIES -> "QUERY_PROPERTIES";
            case ENUMERATE_BUS -> "ENUMERATE_BUS";
            case FC_HBA_DATA -> "FC_HBA_DATA";
            case CREATE_SUB_CHANNELS -> "CREATE_SUB_CHANNELS";
            default -> "operation " + Integer.toUnsignedString(operation);
        };
    }
}
