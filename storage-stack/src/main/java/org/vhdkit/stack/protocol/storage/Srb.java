package org.vhdkit.stack.protocol.storage;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Objects;
import org.vhdkit.stack.protocol.ProtocolException;

/**
 * A SCSI request block ({@code vmscsi_request}) as a value, in either {@link SrbLayout}: what an
 * EXECUTE_SRB request carries and its COMPLETE_IO answer echoes with the statuses, the bytes moved
 * and the sense data. For the layout see {@link SrbView}, which this record is decoded and encoded
 * through; the per-request paths use the view, this record is for everything that wants a whole
 * SRB at once (tests, tools, diagnostics).
 *
 * <p>Immutable; safe to share between threads ({@link #cdbOrSense()} returns a copy).
 *
 * @param layout             which layout the SRB is encoded in; its length goes in the length field
 * @param srbStatus          the SRB status (answer), with {@link StorageProtocol#SRB_STATUS_AUTOSENSE_VALID}
 * @param scsiStatus         the SCSI status (answer)
 * @param port               the port number
 * @param pathId             the path id
 * @param targetId           the target id
 * @param lun                the logical unit number
 * @param cdbLength          the CDB's length, at most {@link StorageProtocol#MAX_CDB_LENGTH}
 * @param senseInfoLength    the sense bytes wanted (request) or given (answer), at most the layout's sense area
 * @param dataIn             {@link StorageProtocol#DATA_OUT}, {@code DATA_IN} or {@code DATA_UNKNOWN}
 * @param dataTransferLength bytes to move (request) or moved (answer), a u32
 * @param cdbOrSense         the 20-byte CDB / sense area
 * @param queueTag           layout V2: the queue tag (0 in V1)
 * @param queueAction        layout V2: the queue action (0 in V1)
 * @param srbFlags           layout V2: the SRB flags (0 in V1)
 * @param timeOutValue       layout V2: the time-out in seconds (0 in V1)
 * @param queueSortKey       layout V2: the queue sort key (0 in V1)
 */
public record Srb(SrbLayout layout, int srbStatus, int scsiStatus, int port, int pathId, int targetId, int lun,
        int cdbLength, int senseInfoLength, int dataIn, long dataTransferLength, byte[] cdbOrSense, int queueTag,
        int queueAction, int srbFlags, int timeOutValue, int queueSortKey) {

    public Srb {
        Objects.requireNonNull(layout, "layout");
        for (int b : new int[] {srbStatus, scsiStatus, port, pathId, targetId, lun, queueTag, queueAction}) {
            if (b < 0 || b > 0xFF) {
                throw new IllegalArgumentException("an SRB byte field holds " + b);
            }
        }
        if (cdbLength < 0 || cdbLength > StorageProtocol.MAX_CDB_LENGTH) {
            throw new IllegalArgumentException("CDB length " + cdbLength);
        }
        if (senseInfoLength < 0 || senseInfoLength > layout.senseLength()) {
            throw new IllegalArgumentException("sense info length " + senseInfoLength + " in layout " + layout);
        }
        if (dataIn < StorageProtocol.DATA_OUT || dataIn > StorageProtocol.DATA_UNKNOWN) {
            throw new IllegalArgumentException("data direction " + dataIn);
        }
        if (dataTransferLength < 0 || dataTransferLength > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("data transfer length " + dataTransferLength + " is not a u32");
        }
        if (cdbOrSense.length != SrbView.CDB_SENSE_AREA) {
            throw new IllegalArgumentException("a CDB / sense area of " + SrbView.CDB_SENSE_AREA + " bytes, not "
                    + cdbOrSense.length);
        }
        if (!layout.extended() && (queueTag | queueAction | srbFlags | timeOutValue | queueSortKey) != 0) {
            throw new IllegalArgumentException("layout V1 has no queue, flag or time-out fields");
        }
        cdbOrSense = cdbOrSense.clone();
    }

    /** A request SRB in {@code layout}: statuses and V2 extension fields zero, the CDB padded to 20 bytes. Thread-safe. */
    public static Srb request(SrbLayout layout, int lun, byte[] cdb, int senseInfoLength, int dataIn,
            long dataTransferLength) {
        if (cdb.length > StorageProtocol.MAX_CDB_LENGTH) {
            throw new IllegalArgumentException("a CDB of " + cdb.length + " bytes");
        }
        return new Srb(layout, 0, 0, 0, 0, 0, lun, cdb.length, senseInfoLength, dataIn, dataTransferLength,
                Arrays.copyOf(cdb, SrbView.CDB_SENSE_AREA), 0, 0, 0, 0, 0);
    }

    @Override
    public byte[] cdbOrSense() {
        return cdbOrSense.clone();
    }

    /**
     * The SRB in exactly {@code length} bytes at {@code offset} of {@code segment}, in
     * {@code layout}. Refuses a length other than the layout's, a length field naming neither
     * layout, a CDB longer than 16 bytes, more sense than the layout's sense area and a data
     * direction outside 0 to 2. Thread-safe.
     *
     * @throws ProtocolException when the bytes are not such an SRB; the message names the field
     */
    public static Srb decode(MemorySegment segment, long offset, long length, SrbLayout layout)
            throws ProtocolException {
        Objects.requireNonNull(layout, "layout");
        Wire.require(segment, offset, length, layout.length(), "SRB (layout " + layout + ")");
        if (length > layout.length()) {
            throw new ProtocolException(Wire.PROTOCOL, "SRB (layout " + layout + ")", -1,
                    length + " bytes; it takes " + layout.length());
        }
        MemorySegment copy = MemorySegment.ofArray(new byte[SrbLayout.V2.length()]);
        MemorySegment.copy(segment, offset, copy, 0, length);
        SrbView v = new SrbView(copy, 0);
        if (v.length() != SrbLayout.V1.length() && v.length() != SrbLayout.V2.length()) {
            throw refused("SRB length", 0, "0x" + Integer.toHexString(v.length()) + "; an SRB is 0x24 or 0x34 bytes");
        }
        if (v.cdbLength() > StorageProtocol.MAX_CDB_LENGTH) {
            throw refused("SRB CDB length", 8, v.cdbLength() + " bytes; at most " + StorageProtocol.MAX_CDB_LENGTH);
        }
        if (v.senseInfoLength() > layout.senseLength()) {
            throw refused("SRB sense info length", 9, v.senseInfoLength() + " bytes; layout " + layout
                    + " has a sense area of " + layout.senseLength());
        }
        if (v.dataIn() > StorageProtocol.DATA_UNKNOWN) {
            throw refused("SRB data in", 10, v.dataIn() + "; 0 (out), 1 (in) or 2 (unknown)");
        }
        byte[] area = new byte[SrbView.CDB_SENSE_AREA];
        v.copyCdbSense(MemorySegment.ofArray(area), 0, area.length);
        boolean x = layout.extended();
        return new Srb(layout, v.srbStatus(), v.scsiStatus(), v.port(), v.pathId(), v.targetId(), v.lun(),
                v.cdbLength(), v.senseInfoLength(), v.dataIn(), v.dataTransferLength(), area,
                x ? v.queueTag() : 0, x ? v.queueAction() : 0, x ? v.srbFlags() : 0, x ? v.timeOutValue() : 0,
                x ? v.queueSortKey() : 0);
    }

    private static ProtocolException refused(String field, int at, String problem) {
        return new ProtocolException(Wire.PROTOCOL, field, at, problem);
    }

    /**
     * Writes the SRB's {@code layout().length()} bytes at {@code offset} of {@code segment}, the
     * length field set to the layout's length and reserved bytes zero. Thread-safe.
     */
    public void encode(MemorySegment segment, long offset) {
        Objects.checkFromIndexSize(offset, layout.length(), segment.byteSize());
        MemorySegment scratch = MemorySegment.ofArray(new byte[SrbLayout.V2.length()]);
        SrbView v = new SrbView(scratch, 0);
        v.length(layout.length()).srbStatus(srbStatus).scsiStatus(scsiStatus).port(port).pathId(pathId)
                .targetId(targetId).lun(lun).cdbLength(cdbLength).senseInfoLength(senseInfoLength).dataIn(dataIn)
                .dataTransferLength((int) dataTransferLength).cdbSense(cdbOrSense, 0, SrbView.CDB_SENSE_AREA);
        if (layout.extended()) {
            v.queueTag(queueTag).queueAction(queueAction).srbFlags(srbFlags).timeOutValue(timeOutValue)
                    .queueSortKey(queueSortKey);
        }
        MemorySegment.copy(scratch, 0, segment, offset, layout.length());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Srb s && layout == s.layout && srbStatus == s.srbStatus && scsiStatus == s.scsiStatus
                && port == s.port && pathId == s.pathId && targetId == s.targetId && lun == s.lun
                && cdbLength == s.cdbLength && senseInfoLength == s.senseInfoLength && dataIn == s.dataIn
                && dataTransferLength == s.dataTransferLength && Arrays.equals(cdbOrSense, s.cdbOrSense)
                && queueTag == s.queueTag && queueAction == s.queueAction && srbFlags == s.srbFlags
                && timeOutValue == s.timeOutValue && queueSortKey == s.queueSortKey;
    }

    @Override
    public int hashCode() {
        return Objects.hash(layout, srbStatus, scsiStatus, lun, cdbLength, dataTransferLength,
                Arrays.hashCode(cdbOrSense));
    }

    @Override
    public String toString() {
        return "Srb[" + layout + ", LUN " + lun + ", CDB length " + cdbLength + ", data in " + dataIn + ", "
                + dataTransferLength + " bytes, SRB status 0x" + Integer.toHexString(srbStatus) + ", SCSI status 0x"
                + Integer.toHexString(scsiStatus) + "]";
    }
}
