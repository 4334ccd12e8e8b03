package org.vhdkit.stack.scsi;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;
import java.util.Optional;
import org.vhdkit.vhd.disk.VirtualDisk;

/**
 * One SCSI command on its way through a {@link LogicalUnit}: the CDB and the data buffer going in,
 * the status, the number of bytes transferred and the sense data coming back.
 *
 * <p>A command is a reusable slot, not a value: a transport keeps one per request it can have in
 * flight (a StorVSP one per queue slot, an ATAPI drive one) and fills it again for every request, so
 * that the path from a guest's request to the disk allocates nothing.
 *
 * <h2>Filling it</h2>
 * <ol>
 *   <li>{@link #cdb(MemorySegment, long, int)} or {@link #cdb(byte[])}: copies the CDB in (at most
 *       {@link #MAX_CDB_LENGTH} bytes; the length the request claimed is kept, and a length outside 1
 *       to 16 is answered by the unit with INVALID FIELD IN CDB). The unit parses only this copy, so
 *       a guest changing its request while it runs cannot change what was validated. Setting the CDB
 *       clears the outcome of the previous use.
 *   <li>The data buffer: {@link #noData()}; or {@link #data(MemorySegment, Direction)} for one
 *       contiguous buffer; or {@link #scatter(MemorySegment, Direction)} followed by
 *       {@link #addRange} for a scatter-gather list inside one segment (a guest's pages are rarely
 *       contiguous: hand the whole guest memory segment once and add a range per GPA-direct page
 *       run). Data moves straight between the disk and these ranges, in order.
 * </ol>
 * Then {@link LogicalUnit#execute}, then read {@link #status()}, {@link #transferred()} and
 * {@link #sense()} (or {@link #writeSense} into the request's sense area).
 *
 * <h2>Completing it (for implementations of {@link LogicalUnit})</h2>
 * {@link #good}, {@link #checkCondition} or {@link #complete}, once; the data movers
 * {@link #copyFrom}, {@link #copyTo}, {@link #put} and {@link #get} move bytes between the ranges
 * and a disk or an array.
 *
 * <p>Thread-safety: none. A command belongs to one thread at a time; hand it to another only
 * through something that publishes it safely (a queue, a future).
 */
public final class ScsiCommand {
    /** The longest CDB this package knows (16 bytes, as the storage protocol's SRB carries). */
    public static final int MAX_CDB_LENGTH = 16;
    /** Ranges a command holds unless told otherwise: enough for 256 KiB in 4 KiB pages, twice. */
    public static final int DEFAULT_MAX_RANGES = 130;

    /** Which way the data buffer moves, seen from the initiator. */
    public enum Direction {
        /** No data. */
        NONE,
        /** Data-in: from the logical unit into the buffer (a READ, an INQUIRY). */
        IN,
        /** Data-out: from the buffer to the logical unit (a WRITE, an UNMAP parameter list). */
        OUT
    }

    private final byte[] cdb = new byte[MAX_CDB_LENGTH];
    private int cdbLength;

    private MemorySegment memory = MemorySegment.NULL;
    private Direction direction = Direction.NONE;
    /** Pairs of (offset into memory, length), rangeCount of them. */
    private final long[] ranges;
    private int rangeCount;
    private long dataLength;

    private ScsiStatus status;
    private long transferred;
    private Sense sense;

    /** A command that holds up to {@link #DEFAULT_MAX_RANGES} data ranges. */
    public ScsiCommand() {
        this(DEFAULT_MAX_RANGES);
    }

    /** A command that holds up to {@code maxRanges} data ranges. */
    public ScsiCommand(int maxRanges) {
        if (maxRanges < 1) {
            throw new IllegalArgumentException("a command needs room for at least one data range, not " + maxRanges);
        }
        this.ranges = new long[2 * maxRanges];
    }

    // ---- the CDB ----

    /**
     * Copies the CDB of {@code length} bytes at {@code offset} of {@code src}: at most
     * {@link #MAX_CDB_LENGTH} bytes are read, bytes the CDB does not cover read as zero, and the
     * claimed length is kept for the unit to judge. Clears the outcome.
     *
     * @throws IllegalArgumentException when {@code length} is negative (it comes from an unsigned
     *     field; a negative one is the caller's bug)
     */
    public ScsiCommand cdb(MemorySegment src, long offset, int length) {
        if (length < 0) {
            throw new IllegalArgumentException("CDB length " + length);
        }
        java.util.Arrays.fill(cdb, (byte) 0);
        MemorySegment.copy(src, ValueLayout.JAVA_BYTE, offset, cdb, 0, Math.min(length, MAX_CDB_LENGTH));
        cdbLength = length;
        clearOutcome();
        return this;
    }

    /**
     * Copies all of {@code bytes} as the CDB; as {@link #cdb(MemorySegment, long, int)}. Allocates
     * nothing.
     */
    public ScsiCommand cdb(byte[] bytes) {
        java.util.Arrays.fill(cdb, (byte) 0);
        System.arraycopy(bytes, 0, cdb, 0, Math.min(bytes.length, MAX_CDB_LENGTH));
        cdbLength = bytes.length;
        clearOutcome();
        return this;
    }

    /** The length the request claimed for its CDB (which may exceed {@link #MAX_CDB_LENGTH}). */
    public int cdbLength() {
        return cdbLength;
    }

    /** Byte {@code index} (0 to 15) of the CDB, unsigned; zero beyond what the request supplied. */
    public int cdbByte(int index) {
        return cdb[index] & 0xFF;
    }

    /** The CDB copy itself, for parsing in this package without a call per byte. */
    byte[] cdbBytes() {
        return cdb;
    }

    // ---- the data buffer ----

    /** No data buffer. */
    public ScsiCommand noData() {
        memory = MemorySegment.NULL;
        direction = Direction.NONE;
        rangeCount = 0;
        dataLength = 0;
        return this;
    }

    /** All of {@code buffer} as the data buffer, moving in {@code direction}. */
    public ScsiCommand data(MemorySegment buffer, Direction direction) {
        scatter(buffer, direction);
        return addRange(0, buffer.byteSize());
    }

    /**
     * Starts a scatter-gather data buffer of ranges inside {@code memory} (typically a guest's whole
     * memory, sliced once), moving in {@code direction}; add the ranges with {@link #addRange}.
     */
    public ScsiCommand scatter(MemorySegment memory, Direction direction) {
        this.memory = Objects.requireNonNull(memory, "memory");
        this.direction = Objects.requireNonNull(direction, "direction");
        rangeCount = 0;
        dataLength = 0;
        return this;
    }

    /**
     * Appends {@code [offset, offset + length)} of the scatter memory to the data buffer. Empty
     * ranges are skipped.
     *
     * @throws IndexOutOfBoundsException when the range is not inside the memory: the caller checks
     *     guest addresses (and refuses the request) before it gets here
     * @throws IllegalStateException when the command holds no more ranges
     */
    public ScsiCommand addRange(long offset, long length) {
        Objects.checkFromIndexSize(offset, length, memory.byteSize());
        if (length == 0) {
            return this;
        }
        if (2 * rangeCount == ranges.length) {
            throw new IllegalStateException("a command holds at most " + ranges.length / 2 + " data ranges");
        }
        ranges[2 * rangeCount] = offset;
        ranges[2 * rangeCount + 1] = length;
        rangeCount++;
        dataLength += length;
        return this;
    }

    /** The most ranges this command holds. */
    public int maxRanges() {
        return ranges.length / 2;
    }

    /** Which way the data buffer moves. */
    public Direction direction() {
        return direction;
    }

    /** The size of the data buffer: the sum of its ranges. */
    public long dataLength() {
        return dataLength;
    }

    // ---- the outcome ----

    /** Completes the command with GOOD status after moving {@code transferred} bytes. */
    public void good(long transferred) {
        complete(ScsiStatus.GOOD, transferred, null);
    }

    /** Completes the command with CHECK CONDITION and {@code sense}; nothing counts as transferred. */
    public void checkCondition(Sense sense) {
        complete(ScsiStatus.CHECK_CONDITION, 0, Objects.requireNonNull(sense, "sense"));
    }

    /**
     * Completes the command with any status. {@code sense} is null unless the status is CHECK
     * CONDITION.
     */
    public void complete(ScsiStatus status, long transferred, Sense sense) {
        Objects.requireNonNull(status, "status");
        if ((status == ScsiStatus.CHECK_CONDITION) != (sense != null)) {
            throw new IllegalArgumentException("sense goes with CHECK CONDITION and only with it: " + status);
        }
        if (transferred < 0 || transferred > dataLength) {
            throw new IllegalArgumentException(transferred + " bytes transferred with a buffer of " + dataLength);
        }
        this.status = status;
        this.transferred = transferred;
        this.sense = sense;
    }

    /** Whether the command has been completed since its CDB was set. */
    public boolean isComplete() {
        return status != null;
    }

    /**
     * The status it completed with.
     *
     * @throws IllegalStateException before it completed
     */
    public ScsiStatus status() {
        if (status == null) {
            throw new IllegalStateException("the command has not been executed");
        }
        return status;
    }

    /** The bytes moved through the data buffer: 0 unless the status is GOOD. */
    public long transferred() {
        return transferred;
    }

    /** What was not transferred of the data buffer (what an SRB reports as the residual). */
    public long residual() {
        return dataLength - transferred;
    }

    /** The sense data of a CHECK CONDITION; empty otherwise. */
    public Optional<Sense> sense() {
        return Optional.ofNullable(sense);
    }

    /** The sense data of a CHECK CONDITION, or null: for this package, without an Optional. */
    Sense senseOrNull() {
        return sense;
    }

    /**
     * Writes the fixed-format sense data of a CHECK CONDITION, at most {@code maxLength} bytes, to
     * {@code dst} at {@code offset}; returns how many bytes it wrote (0 when there is no sense).
     */
    public int writeSense(MemorySegment dst, long offset, int maxLength) {
        return sense == null ? 0 : sense.writeFixed(dst, offset, maxLength);
    }

    private void clearOutcome() {
        status = null;
        transferred = 0;
        sense = null;
    }

    // ---- moving data (for logical units) ----

    /**
     * Reads {@code length} bytes of {@code disk} from {@code diskOffset} into the data buffer,
     * filling its ranges in order.
     *
     * @throws IllegalArgumentException when the buffer is smaller than {@code length} (check
     *     {@link #dataLength()} first)
     */
    public void copyFrom(VirtualDisk disk, long diskOffset, long length) throws IOException {
        checkLength(length);
        long done = 0;
        for (int i = 0; done < length; i++) {
            long n = Math.min(ranges[2 * i + 1], length - done);
            disk.read(diskOffset + done, memory, ranges[2 * i], n);
            done += n;
        }
    }

    /**
     * Writes the first {@code length} bytes of the data buffer to {@code disk} at
     * {@code diskOffset}.
     *
     * @throws IllegalArgumentException when the buffer is smaller than {@code length}
     */
    public void copyTo(VirtualDisk disk, long diskOffset, long length) throws IOException {
        checkLength(length);
        long done = 0;
        for (int i = 0; done < length; i++) {
            long n = Math.min(ranges[2 * i + 1], length - done);
            disk.write(diskOffset + done, memory, ranges[2 * i], n);
            done += n;
        }
    }

    /**
     * Completes a data-in command whose answer is {@code data} (INQUIRY data, a mode page):
     * moves {@code min(data.length, allocationLength)} bytes into the buffer and completes GOOD; or,
     * when that is more than nothing and the buffer is not data-in or is smaller, moves nothing and
     * completes CHECK CONDITION with INVALID FIELD IN CDB. Returns whether it completed GOOD.
     */
    public boolean completeDataIn(byte[] data, long allocationLength) {
        int n = (int) Math.min(data.length, Math.max(allocationLength, 0));
        if (n > 0 && (direction != Direction.IN || dataLength < n)) {
            checkCondition(Sense.INVALID_FIELD_IN_CDB);
            return false;
        }
        put(data, n);
        good(n);
        return true;
    }

    /** Copies {@code src[0, length)} into the start of the data buffer. */
    public void put(byte[] src, int length) {
        Objects.checkFromIndexSize(0, length, src.length);
        checkLength(length);
        long done = 0;
        for (int i = 0; done < length; i++) {
            long n = Math.min(ranges[2 * i + 1], length - done);
            MemorySegment.copy(src, (int) done, memory, ValueLayout.JAVA_BYTE, ranges[2 * i], (int) n);
            done += n;
        }
    }

    /** Copies the first {@code length} bytes of the data buffer into {@code dst[0, length)}. */
    public void get(byte[] dst, int length) {
        Objects.checkFromIndexSize(0, length, dst.length);
        checkLength(length);
        long done = 0;
        for (int i = 0; done < length; i++) {
            long n = Math.min(ranges[2 * i + 1], length - done);
            MemorySegment.copy(memory, ValueLayout.JAVA_BYTE, ranges[2 * i], dst, (int) done, (int) n);
            done += n;
        }
    }

    private void checkLength(long length) {
        if (length < 0 || length > dataLength) {
            throw new IllegalArgumentException("cannot move " + length + " bytes through a buffer of " + dataLength);
        }
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder("ScsiCommand[cdb");
        for (int i = 0; i < Math.min(cdbLength, MAX_CDB_LENGTH); i++) {
            s.append(i == 0 ? " " : ":").append(String.format("%02x", cdb[i] & 0xFF));
        }
        s.append(", ").append(direction).append(' ').append(dataLength).append(" bytes");
        if (status != null) {
            s.append(" -> ").append(status).append(", ").append(transferred).append(" transferred");
            if (sense != null) {
                s.append(", ").append(sense);
            }
        }
        return s.append(']').toString();
    }
}
