package org.vhdkit.stack.protocol.storage;

import static org.vhdkit.stack.protocol.storage.Wire.INT;
import static org.vhdkit.stack.protocol.storage.Wire.SHORT;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;
import org.vhdkit.stack.protocol.ProtocolException;

/**
 * A flyweight over an SRB ({@code vmscsi_request}) in place in a segment, with typed accessors for
 * each field: the form the per-request paths of both ends use. The provider reads a guest's request
 * and writes its answer, and the guest's driver writes its requests and reads their completions, for
 * every I/O; a {@link Srb} record per request would allocate (with its CDB array) on a path that
 * must not, so each end keeps one view per buffer it reuses, made once. The record is the value
 * form of the same layout and is built on this view, so the offsets live here only:
 *
 * <pre>
 *   0  u16 length            2  u8 SRB status          3  u8 SCSI status
 *   4  u8 port               5  u8 path id             6  u8 target id       7  u8 LUN
 *   8  u8 CDB length         9  u8 sense info length   10 u8 data in         11 u8 reserved
 *   12 u32 data transfer length
 *   16 20 bytes: the CDB going in (16 used), the sense data coming back (0x12 or 0x14 used)
 *   36 (layout V2 only) u16 reserved, u8 queue tag, u8 queue action, u32 SRB flags,
 *      u32 time-out value, u32 queue sort key
 * </pre>
 *
 * Getters return the unsigned value of each field; setters write the low bits of their argument and
 * return the view. A view checks nothing by itself: {@link #check} refuses a request too short to
 * hold an SRB, and what the fields' values mean is the reader's to judge (the provider answers a bad
 * path, LUN or direction with an SRB status, as Hyper-V does, rather than refusing the packet).
 *
 * <p>Thread-safety: not thread-safe; a view belongs to the thread that owns its buffer.
 */
public final class SrbView {
    /** The bytes of the CDB / sense area. */
    public static final int CDB_SENSE_AREA = 20;

    private static final int LENGTH = 0;
    private static final int SRB_STATUS = 2;
    private static final int SCSI_STATUS = 3;
    private static final int PORT = 4;
    private static final int PATH = 5;
    private static final int TARGET = 6;
    private static final int LUN = 7;
    private static final int CDB_LENGTH = 8;
    private static final int SENSE_LENGTH = 9;
    private static final int DATA_IN = 10;
    private static final int TRANSFER_LENGTH = 12;
    private static final int CDB_SENSE = 16;
    private static final int QUEUE_TAG = 38;
    private static final int QUEUE_ACTION = 39;
    private static final int SRB_FLAGS = 40;
    private static final int TIME_OUT = 44;
    private static final int QUEUE_SORT_KEY = 48;

    private final MemorySegment segment;
    private final long base;

    /**
     * A view of the SRB at {@code offset} of {@code segment}, which must hold a {@link SrbLayout#V2}
     * SRB there (the buffers both ends reuse are sized for the larger layout). Thread-safe.
     */
    public SrbView(MemorySegment segment, long offset) {
        this.segment = Objects.requireNonNull(segment, "segment");
        Objects.checkFromIndexSize(offset, SrbLayout.V2.length(), segment.byteSize());
        this.base = offset;
    }

    /**
     * Refuses an SRB of {@code available} bytes (what a packet holds after its header) that is
     * shorter than the smaller layout. Allocates only when it refuses.
     *
     * @throws ProtocolException when {@code available} is below {@link StorageProtocol#SRB_LENGTH_V1}
     */
    public static void check(long available) throws ProtocolException {
        if (available < SrbLayout.V1.length()) {
            throw new ProtocolException(Wire.PROTOCOL, "SRB", -1, available + " bytes; the SRB takes at least "
                    + SrbLayout.V1.length());
        }
    }

    /** Zeroes the SRB's {@code layout} bytes. */
    public SrbView clear(SrbLayout layout) {
        segment.asSlice(base, layout.length()).fill((byte) 0);
        return this;
    }

    public int length() {
        return Short.toUnsignedInt(segment.get(SHORT, base + LENGTH));
    }

    public SrbView length(int value) {
        segment.set(SHORT, base + LENGTH, (short) value);
        return this;
    }

    public int srbStatus() {
        return u8(SRB_STATUS);
    }

    public SrbView srbStatus(int value) {
        return u8(SRB_STATUS, value);
    }

    public int scsiStatus() {
        return u8(SCSI_STATUS);
    }

    public SrbView scsiStatus(int value) {
        return u8(SCSI_STATUS, value);
    }

    public int port() {
        return u8(PORT);
    }

    public SrbView port(int value) {
        return u8(PORT, value);
    }

    public int pathId() {
        return u8(PATH);
    }

    public SrbView pathId(int value) {
        return u8(PATH, value);
    }

    public int targetId() {
        return u8(TARGET);
    }

    public SrbView targetId(int value) {
        return u8(TARGET, value);
    }

    public int lun() {
        return u8(LUN);
    }

    public SrbView lun(int value) {
        return u8(LUN, value);
    }

    public int cdbLength() {
        return u8(CDB_LENGTH);
    }

    public SrbView cdbLength(int value) {
        return u8(CDB_LENGTH, value);
    }

    public int senseInfoLength() {
        return u8(SENSE_LENGTH);
    }

    public SrbView senseInfoLength(int value) {
        return u8(SENSE_LENGTH, value);
    }

    /** {@link StorageProtocol#DATA_OUT}, {@code DATA_IN}, {@code DATA_UNKNOWN}, or what a peer sent. */
    public int dataIn() {
        return u8(DATA_IN);
    }

    public SrbView dataIn(int value) {
        return u8(DATA_IN, value);
    }

    /** The data transfer length, unsigned. */
    public long dataTransferLength() {
        return Integer.toUnsignedLong(segment.get(INT, base + TRANSFER_LENGTH));
    }

    public SrbView dataTransferLength(int value) {
        segment.set(INT, base + TRANSFER_LENGTH, value);
        return this;
    }

    /** Copies the first {@code count} bytes of the CDB / sense area into {@code dst} at {@code dstOffset}. */
    public void copyCdbSense(MemorySegment dst, long dstOffset, int count) {
        Objects.checkFromIndexSize(0, count, CDB_SENSE_AREA);
        MemorySegment.copy(segment, base + CDB_SENSE, dst, dstOffset, count);
    }

    /** Writes {@code count} bytes of {@code src} from {@code from} on at the start of the CDB / sense area. */
    public SrbView cdbSense(byte[] src, int from, int count) {
        Objects.checkFromIndexSize(0, count, CDB_SENSE_AREA);
        MemorySegment.copy(src, from, segment, ValueLayout.JAVA_BYTE, base + CDB_SENSE, count);
        return this;
    }

    /** The byte at {@code index} of the CDB / sense area. */
    public int cdbSenseByte(int index) {
        Objects.checkIndex(index, CDB_SENSE_AREA);
        return u8(CDB_SENSE + index);
    }

    /** The segment offset of the CDB / sense area, for a writer that fills it in place (sense data). */
    public long cdbSenseOffset() {
        return base + CDB_SENSE;
    }

    public int queueTag() {
        return u8(QUEUE_TAG);
    }

    public SrbView queueTag(int value) {
        return u8(QUEUE_TAG, value);
    }

    public int queueAction() {
        return u8(QUEUE_ACTION);
    }

    public SrbView queueAction(int value) {
        return u8(QUEUE_ACTION, value);
    }

    /** The SRB flags (layout V2 only). */
    public int srbFlags() {
        return segment.get(INT, base + SRB_FLAGS);
    }

    public SrbView srbFlags(int value) {
        segment.set(INT, base + SRB_FLAGS, value);
        return this;
    }

    /** The time-out value in seconds (layout V2 only). */
    public int timeOutValue() {
        return segment.get(INT, base + TIME_OUT);
    }

    public SrbView timeOutValue(int value) {
        segment.set(INT, base + TIME_OUT, value);
        return this;
    }

    /** The queue sort key (layout V2 only). */
    public int queueSortKey() {
        return segment.get(INT, base + QUEUE_SORT_KEY);
    }

    public SrbView queueSortKey(int value) {
        segment.set(INT, base + QUEUE_SORT_KEY, value);
        return this;
    }

    private int u8(int field) {
        return Wire.u8(segment, base + field);
    }

    private SrbView u8(int field, int value) {
        segment.set(ValueLayout.JAVA_BYTE, base + field, (byte) value);
        return this;
    }
}
