package org.vhdkit.stack.scsi;

import static org.vhdkit.stack.protocol.scsi.ScsiOpcodes.*;

import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.StampedLock;
import org.vhdkit.stack.scsi.ScsiCommand.Direction;
import org.vhdkit.vhd.disk.VirtualDisk;

/**
 * A {@link VirtualDisk} seen as a SCSI logical unit: a direct-access block device of 512-byte
 * logical blocks that answers as a Hyper-V virtual disk does ("Msft    " "Virtual Disk    ").
 *
 * <h2>Commands</h2>
 * TEST UNIT READY, REQUEST SENSE, INQUIRY (standard data, VPD 0x00, 0x80, 0x83, 0xB0, 0xB1, and
 * 0xB2 when unmap is on), MODE SENSE(6/10) (caching page 0x08 or all pages 0x3F; current, default
 * or changeable values), START STOP UNIT (accepted, no effect), READ CAPACITY(10) and (16), READ and
 * WRITE (6/10/12/16), VERIFY(10/12/16) (BYTCHK 0: checks the range only), SYNCHRONIZE CACHE(10/16)
 * (flushes the whole disk), WRITE SAME(10/16) and, when unmap is on, UNMAP. REPORT LUNS is the
 * target's: see {@link ScsiTarget}; a disk asked directly answers it as an unknown opcode.
 *
 * <h2>Errors</h2>
 * Every refusal is CHECK CONDITION with one of the {@link Sense} constants, checked in this order:
 * <ol>
 *   <li>CDB length outside 1 to 16: INVALID FIELD IN CDB.
 *   <li>A pending unit attention (except for INQUIRY, and REQUEST SENSE, which returns it as its
 *       data): that unit attention, once. A change of the disk's size posts CAPACITY DATA HAS
 *       CHANGED first.
 *   <li>An opcode not listed above: INVALID COMMAND OPERATION CODE.
 *   <li>A CDB shorter than its opcode's, the NACA bit, a set protection field, a reserved or
 *       unsupported bit or value: INVALID FIELD IN CDB.
 *   <li>Any block past the end (LBA and length are unsigned and checked without overflow):
 *       LOGICAL BLOCK ADDRESS OUT OF RANGE.
 *   <li>More blocks than the block limits page allows: INVALID FIELD IN CDB.
 *   <li>Writing, unmapping or WRITE SAME on a read-only unit: DATA PROTECT / WRITE PROTECTED.
 *   <li>A data buffer going the wrong way or shorter than what the command moves: INVALID FIELD IN
 *       CDB, with nothing read or written. (UNMAP, whose block ranges are in its parameter list,
 *       checks them here: PARAMETER LIST LENGTH ERROR for a list of 1 to 7 bytes, INVALID FIELD IN
 *       PARAMETER LIST for more than 256 descriptors or more than 2^32 - 1 blocks in all, LOGICAL
 *       BLOCK ADDRESS OUT OF RANGE for any descriptor past the end; nothing is discarded unless every
 *       descriptor is good.)
 *   <li>An {@link IOException} from the disk: MEDIUM ERROR / UNRECOVERED READ ERROR for reads,
 *       MEDIUM ERROR / WRITE ERROR for writes, flushes and discards.
 * </ol>
 * A transfer length of 0 moves nothing and is GOOD (READ(6)/WRITE(6): 0 means 256 blocks). For
 * data-in commands with an allocation length (INQUIRY, MODE SENSE, REQUEST SENSE, READ
 * CAPACITY(16)) the command moves {@code min(allocation length, data length)} bytes, and the
 * buffer must hold that many; READ CAPACITY(10) always moves 8. The pending sense REQUEST SENSE
 * returns is the last CHECK CONDITION's, until any other command clears it.
 *
 * <h2>Data</h2>
 * READ and WRITE copy straight between the disk and the command's ranges with
 * {@link VirtualDisk#read(long, MemorySegment, long, long)} and {@code write}: no intermediate
 * buffer, nothing allocated per request. A WRITE with FUA set flushes the disk before completing.
 *
 * <h2>Replacing the disk</h2>
 * {@link #hold} lets the commands under way finish and keeps later ones waiting; while held,
 * {@link Hold#replace} puts another disk of the same size (and as writable) under the unit. The unit
 * keeps everything a guest knows it by: its settings (identifiers, serial number, read-only), its
 * size, its pending sense and unit attentions, and posts none: to the guest nothing happened. A VM's
 * host moves a running guest's disk onto a new differencing disk (a snapshot) so, the guest paused.
 *
 * <h2>Thread-safety</h2>
 * Any number of commands at once from any threads, each with its own {@link ScsiCommand}. The
 * answers that never change are built once and only read. Shared mutable state: the pending sense
 * ({@link AtomicReference}; with commands racing, the last CHECK CONDITION wins, which is all one
 * initiator can expect), the unit attentions ({@link UnitAttentions}) and the size last seen
 * ({@link AtomicLong}: a resize posts its unit attention exactly once). The disk is the caller's: it
 * must stay open while commands run, and the caller closes it.
 */
public final class ScsiDisk implements LogicalUnit {
    /** The logical block size: the disk's sector size. */
    public static final int BLOCK_SIZE = VirtualDisk.SECTOR_SIZE;
    private static final int BLOCK_SHIFT = Integer.numberOfTrailingZeros(BLOCK_SIZE);
    /** The most UNMAP block descriptors one command may carry (reported in VPD 0xB0). */
    static final int MAX_UNMAP_DESCRIPTORS = 256;
    /** A WRITE SAME covers at most this many bytes (and at most the maximum transfer), as Hyper-V's. */
    static final int MAX_WRITE_SAME_BYTES = 8 << 20;
    /** The optimal transfer length granularity reported in VPD 0xB0: 4 KiB, a host page. */
    static final int GRANULARITY_BLOCKS = 8;

    private static final System.Logger LOG = System.getLogger(ScsiDisk.class.getName());

    /**
     * How a disk is presented.
     *
     * @param diskId                 the stable id the device identifiers (VPD 0x83) derive from: keep it
     *                               with the VM's configuration so a guest sees the same disk across
     *                               restarts (a VHD's footer unique id serves)
     * @param serialNumber           the unit serial number (VPD 0x80): 1 to 64 printable ASCII characters
     * @param readOnly               refuse writes with DATA PROTECT even when the disk is writable (a
     *                               read-only attachment); a read-only disk is always presented read-only
     * @param unmap                  support UNMAP and WRITE SAME with the UNMAP bit (passed to
     *                               {@link VirtualDisk#discard}) and say so (VPD 0xB2, LBPME)
     * @param maxTransferBytes       the largest READ or WRITE, a multiple of 512: the storage protocol's
     *                               256 KiB unless the transport allows otherwise
     * @param unmapGranularityBlocks the optimal unmap granularity in blocks (the disk's allocation unit)
     */
    public record Settings(UUID diskId, String serialNumber, boolean readOnly, boolean unmap, int maxTransferBytes,
                           int unmapGranularityBlocks) {
        /** The storage protocol's maximum transfer per request. */
        public static final int DEFAULT_MAX_TRANSFER = 256 * 1024;

        public Settings {
            Objects.requireNonNull(diskId, "diskId");
            Objects.requireNonNull(serialNumber, "serialNumber");
            if (serialNumber.isEmpty() || serialNumber.length() > 64
                    || !serialNumber.chars().allMatch(c -> c >= 0x20 && c < 0x7F)) {
                throw new IllegalArgumentException("a serial number is 1 to 64 printable ASCII characters, not \""
                        + serialNumber + "\"");
            }
            if (maxTransferBytes < BLOCK_SIZE || maxTransferBytes % BLOCK_SIZE != 0) {
                throw new IllegalArgumentException("the maximum transfer must be a positive multiple of " + BLOCK_SIZE
                        + " bytes, not " + maxTransferBytes);
            }
            if (unmapGranularityBlocks < 1) {
                throw new IllegalArgumentException("unmap granularity " + unmapGranularityBlocks);
            }
        }

        /**
         * Writable, no unmap, 256 KiB transfers, unmap granularity 8 blocks, serial number the 32
         * hex digits of {@code diskId}.
         */
        public static Settings of(UUID diskId) {
            String serial = HexFormat.of().withUpperCase().formatHex(DiskPages.uuidBytes(diskId));
            return new Settings(diskId, serial, false, false, DEFAULT_MAX_TRANSFER, GRANULARITY_BLOCKS);
        }

        public Settings withSerialNumber(String serial) {
            return new Settings(diskId, serial, readOnly, unmap, maxTransferBytes, unmapGranularityBlocks);
        }

        public Settings withReadOnly(boolean newReadOnly) {
            return new Settings(diskId, serialNumber, newReadOnly, unmap, maxTransferBytes, unmapGranularityBlocks);
        }

        public Settings withUnmap(boolean newUnmap) {
            return new Settings(diskId, serialNumber, readOnly, newUnmap, maxTransferBytes, unmapGranularityBlocks);
        }

        public Settings withMaxTransferBytes(int bytes) {
            return new Settings(diskId, serialNumber, readOnly, unmap, bytes, unmapGranularityBlocks);
        }

        public Settings withUnmapGranularityBlocks(int blocks) {
            return new Settings(diskId, serialNumber, readOnly, unmap, maxTransferBytes, blocks);
        }
    }

    /** Replaced only under {@link #swap}'s write lock; every command holds its read lock. */
    private volatile VirtualDisk disk;
    private final StampedLock swap = new StampedLock();
    private final Settings settings;
    private final boolean readOnly;
    private final long maxTransferBlocks;
    private final long maxWriteSameBlocks;

    private final byte[] standardInquiry;
    private final byte[] supportedPages;
    private final byte[] serialPage;
    private final byte[] identificationPage;
    private final byte[] blockLimitsPage;
    private final byte[] characteristicsPage;
    private final byte[] modeSense6;
    private final byte[] modeSense6Changeable;
    private final byte[] modeSense10;
    private final byte[] modeSense10Changeable;

    private final UnitAttentions unitAttentions = new UnitAttentions();
    private final AtomicReference<Sense> pendingSense = new AtomicReference<>();
    private final AtomicLong knownSize;

    private ScsiDisk(VirtualDisk disk, Settings settings) {
        this.disk = disk;
        this.settings = settings;
        this.readOnly = settings.readOnly() || disk.isReadOnly();
        this.maxTransferBlocks = settings.maxTransferBytes() >>> BLOCK_SHIFT;
        this.maxWriteSameBlocks = Math.min(settings.maxTransferBytes(), MAX_WRITE_SAME_BYTES) >>> BLOCK_SHIFT;
        this.standardInquiry = DiskPages.standardInquiry();
        this.supportedPages = DiskPages.supportedPages(settings.unmap());
        this.serialPage = DiskPages.serialNumber(settings.serialNumber());
        this.identificationPage = DiskPages.deviceIdentification(settings.diskId());
        this.blockLimitsPage = DiskPages.blockLimits(GRANULARITY_BLOCKS, (int) maxTransferBlocks, settings.unmap(),
                MAX_UNMAP_DESCRIPTORS, settings.unmapGranularityBlocks(), (int) maxWriteSameBlocks);
        this.characteristicsPage = DiskPages.characteristics();
        this.modeSense6 = DiskPages.modeSense(false, false, readOnly);
        this.modeSense6Changeable = DiskPages.modeSense(false, true, readOnly);
        this.modeSense10 = DiskPages.modeSense(true, false, readOnly);
        this.modeSense10Changeable = DiskPages.modeSense(true, true, readOnly);
        this.knownSize = new AtomicLong(disk.size());
    }

    /**
     * {@code disk} as a logical unit presented as {@code settings} say. The disk stays the
     * caller's to close, after the last command on it has completed. Thread-safe.
     *
     * @throws IllegalArgumentException when the disk is smaller than one block
     */
    public static ScsiDisk of(VirtualDisk disk, Settings settings) {
        Objects.requireNonNull(disk, "disk");
        Objects.requireNonNull(settings, "settings");
        if (disk.size() < BLOCK_SIZE) {
            throw new IllegalArgumentException(disk.name() + ": a disk of " + disk.size() + " bytes has no block");
        }
        return new ScsiDisk(disk, settings);
    }

    /** The disk now. Thread-safe. */
    public VirtualDisk disk() {
        return disk;
    }

    /**
     * Waits up to {@code timeout} for the commands under way to finish, then keeps later ones
     * waiting until the hold is closed; see the class comment. Thread-safe.
     *
     * @throws IOException when the commands under way do not finish in time (nothing is held then)
     */
    public Hold hold(Duration timeout) throws IOException {
        long stamp;
        try {
            stamp = swap.tryWriteLock(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(name() + ": interrupted while waiting for its commands", e);
        }
        if (stamp == 0) {
            throw new IOException(name() + ": commands still running after " + timeout.toMillis() + " ms; not held");
        }
        return new Hold(stamp);
    }

    /** A unit held by {@link #hold}: no command runs on it until {@link #close}. Used by one thread. */
    public final class Hold implements AutoCloseable {
        private final long stamp;
        private boolean released;

        private Hold(long stamp) {
            this.stamp = stamp;
        }

        /** The disk under the unit now. */
        public VirtualDisk disk() {
            return disk;
        }

        /**
         * Puts {@code next} under the unit from the release on; posts no unit attention. The caller
         * flushes and closes the old disk.
         *
         * @throws IllegalArgumentException when {@code next} has another size or another read-only-ness
         * @throws IllegalStateException    when the hold was released
         */
        public void replace(VirtualDisk next) {
            Objects.requireNonNull(next, "next");
            if (released) {
                throw new IllegalStateException(name() + ": the hold was released");
            }
            if (next.size() != disk.size()) {
                throw new IllegalArgumentException(name() + " has " + disk.size() + " bytes; " + next.name() + ", of "
                        + next.size() + " bytes, cannot take its place");
            }
            if (next.isReadOnly() != disk.isReadOnly()) {
                throw new IllegalArgumentException(name() + " is " + (disk.isReadOnly() ? "read-only" : "writable")
                        + "; " + next.name() + " is not, so it cannot take its place");
            }
            disk = next;
        }

        /** Lets commands run on, on the disk now. Idempotent. */
        @Override
        public void close() {
            if (!released) {
                released = true;
                swap.unlockWrite(stamp);
            }
        }
    }

    /** How it is presented. Thread-safe. */
    public Settings settings() {
        return settings;
    }

    /** Whether writes are refused (a read-only attachment, or a read-only disk). Thread-safe. */
    public boolean isReadOnly() {
        return readOnly;
    }

    /** The disk's name. Thread-safe. */
    @Override
    public String name() {
        return disk.name();
    }

    /** Thread-safe: see the class comment. */
    @Override
    public void postUnitAttention(Sense sense) {
        unitAttentions.post(sense);
    }

    /** Thread-safe. */
    @Override
    public void clearUnitAttention(Sense sense) {
        unitAttentions.clear(sense);
    }

    /** The sense REQUEST SENSE would return now, without taking it; for tests. */
    Sense pendingSense() {
        return pendingSense.get();
    }

    /** Thread-safe: see the class comment. Allocates nothing for READ, WRITE and their errors. */
    @Override
    public void execute(ScsiCommand c) {
        long stamp = swap.readLock();
        try {
            dispatch(c);
        } finally {
            swap.unlockRead(stamp);
        }
        Sense sense = c.senseOrNull();
        if (sense != null) {
            pendingSense.set(sense);
        }
    }

    private void dispatch(ScsiCommand c) {
        int length = c.cdbLength();
        if (length < 1 || length > ScsiCommand.MAX_CDB_LENGTH) {
            c.checkCondition(Sense.INVALID_FIELD_IN_CDB);
            return;
        }
        byte[] cdb = c.cdbBytes();
        int op = cdb[0] & 0xFF;
        long size = disk.size();
        long known = knownSize.get();
        if (size != known && knownSize.compareAndSet(known, size)) {
            unitAttentions.post(Sense.CAPACITY_DATA_CHANGED);
        }
        if (op != REQUEST_SENSE) {
            if (op != INQUIRY && op != REPORT_LUNS && unitAttentions.any()) {
                Sense attention = unitAttentions.take();
                if (attention != null) {
                    c.checkCondition(attention);
                    return;
                }
            }
            if (pendingSense.get() != null) {
                pendingSense.set(null);
            }
        }
        int need = supportedLength(op);
        if (need == 0) {
            c.checkCondition(Sense.INVALID_COMMAND_OPERATION_CODE);
            return;
        }
        if (length < need || (cdb[need - 1] & Cdb.NACA) != 0) {
            c.checkCondition(Sense.INVALID_FIELD_IN_CDB);
            return;
        }
        long blocks = size >>> BLOCK_SHIFT;
        switch (op) {
            case TEST_UNIT_READY, START_STOP_UNIT -> c.good(0);
            case REQUEST_SENSE -> unitAttentions.requestSense(c, cdb, () -> pendingSense.getAndSet(null));
            case INQUIRY -> inquiry(c, cdb, blocks);
            case MODE_SENSE_6, MODE_SENSE_10 -> modeSense(c, cdb, op == MODE_SENSE_10);
            case READ_CAPACITY_10 -> readCapacity10(c, cdb, blocks);
            case SERVICE_ACTION_IN_16 -> readCapacity16(c, cdb, blocks);
            case READ_6, WRITE_6 -> {
                int count = Cdb.u8(cdb, 4);
                transfer(c, op == WRITE_6, Cdb.u24(cdb, 1) & 0x1F_FFFF, count == 0 ? 256 : count, false, blocks);
            }
            case READ_10, WRITE_10 -> {
                if (readWriteFlagsValid(cdb)) {
                    transfer(c, op == WRITE_10, Cdb.u32(cdb, 2), Cdb.u16(cdb, 7), fua(cdb), blocks);
                } else {
                    c.checkCondition(Sense.INVALID_FIELD_IN_CDB);
                }
            }
            case READ_12, WRITE_12 -> {
                if (readWriteFlagsValid(cdb)) {
                    transfer(c, op == WRITE_12, Cdb.u32(cdb, 2), Cdb.u32(cdb, 6), fua(cdb), blocks);
                } else {
                    c.checkCondition(Sense.INVALID_FIELD_IN_CDB);
                }
            }
            case READ_16, WRITE_16 -> {
                if (readWriteFlagsValid(cdb)) {
                    transfer(c, op == WRITE_16, Cdb.u64(cdb, 2), Cdb.u32(cdb, 10), fua(cdb), blocks);
                } else {
                    c.checkCondition(Sense.INVALID_FIELD_IN_CDB);
                }
            }
            case VERIFY_10 -> verify(c, cdb, Cdb.u32(cdb, 2), Cdb.u16(cdb, 7), blocks);
            case VERIFY_12 -> verify(c, cdb, Cdb.u32(cdb, 2), Cdb.u32(cdb, 6), blocks);
            case VERIFY_16 -> verify(c, cdb, Cdb.u64(cdb, 2), Cdb.u32(cdb, 10), blocks);
            case SYNCHRONIZE_CACHE_10 -> synchronizeCache(c, cdb, Cdb.u32(cdb, 2), Cdb.u16(cdb, 7), blocks);
            case SYNCHRONIZE_CACHE_16 -> synchronizeCache(c, cdb, Cdb.u64(cdb, 2), Cdb.u32(cdb, 10), blocks);
            case WRITE_SAME_10 -> writeSame(c, cdb, Cdb.u32(cdb, 2), Cdb.u16(cdb, 7), blocks);
            case WRITE_SAME_16 -> writeSame(c, cdb, Cdb.u64(cdb, 2), Cdb.u32(cdb, 10), blocks);
            case UNMAP -> unmap(c, cdb, blocks);
            default -> throw new AssertionError("opcode 0x" + Integer.toHexString(op) + " has a length but no handler");
        }
    }

    /** The CDB length of a supported opcode; 0 for an unsupported one. */
    private int supportedLength(int op) {
        return switch (op) {
            case TEST_UNIT_READY, REQUEST_SENSE, READ_6, WRITE_6, INQUIRY, MODE_SENSE_6,
                 START_STOP_UNIT, READ_CAPACITY_10, READ_10, WRITE_10, VERIFY_10,
                 SYNCHRONIZE_CACHE_10, WRITE_SAME_10, MODE_SENSE_10, READ_16, WRITE_16,
                 VERIFY_16, SYNCHRONIZE_CACHE_16, WRITE_SAME_16, SERVICE_ACTION_IN_16, READ_12,
                 WRITE_12, VERIFY_12 -> Cdb.groupLength(op);
            case UNMAP -> settings.unmap() ? Cdb.groupLength(op) : 0;
            default -> 0;
        };
    }

    // ---- block ranges ----

    /** Whether {@code count} blocks from {@code lba} (both unsigned) lie inside {@code blocks}. */
    static boolean inRange(long lba, long count, long blocks) {
        return Long.compareUnsigned(lba, blocks) <= 0 && Long.compareUnsigned(count, blocks - lba) <= 0;
    }

    /**
     * Byte 1 of READ/WRITE(10/12/16): the protection field (bits 7-5) must be 0, we format no
     * protection information; bit 0 (obsolete RELADR, or reserved) must be clear. DPO, FUA, RARC and
     * FUA_NV may be set.
     */
    private static boolean readWriteFlagsValid(byte[] cdb) {
        return (cdb[1] & 0xE1) == 0;
    }

    private static boolean fua(byte[] cdb) {
        return (cdb[1] & 0x08) != 0;
    }

    private void transfer(ScsiCommand c, boolean write, long lba, long count, boolean fua, long blocks) {
        if (!inRange(lba, count, blocks)) {
            c.checkCondition(Sense.LBA_OUT_OF_RANGE);
            return;
        }
        if (count > maxTransferBlocks) {
            c.checkCondition(Sense.INVALID_FIELD_IN_CDB);
            return;
        }
        if (write && readOnly) {
            c.checkCondition(Sense.WRITE_PROTECTED);
            return;
        }
        if (count == 0) {
            c.good(0);
            return;
        }
        long bytes = count << BLOCK_SHIFT;
        if (c.direction() != (write ? Direction.OUT : Direction.IN) || c.dataLength() < bytes) {
            c.checkCondition(Sense.INVALID_FIELD_IN_CDB);
            return;
        }
        long offset = lba << BLOCK_SHIFT;
        try {
            if (write) {
                c.copyTo(disk, offset, bytes);
                if (fua) {
                    disk.flush();
                }
            } else {
                c.copyFrom(disk, offset, bytes);
            }
        } catch (EOFException e) {
            // The disk shrank under the command; the next one reports CAPACITY DATA HAS CHANGED.
            c.checkCondition(Sense.LBA_OUT_OF_RANGE);
            return;
        } catch (IOException e) {
            hostFailure(write ? "write" : "read", lba, e);
            c.checkCondition(write ? Sense.WRITE_ERROR : Sense.UNRECOVERED_READ_ERROR);
            return;
        }
        c.good(bytes);
    }

    private void hostFailure(String what, long lba, IOException e) {
        if (LOG.isLoggable(System.Logger.Level.WARNING)) {
            LOG.log(System.Logger.Level.WARNING, name() + ": " + what + " at LBA " + Long.toUnsignedString(lba)
                    + " failed on the host: " + e);
        }
        LOG.log(System.Logger.Level.DEBUG, () -> name() + ": host failure", e);
    }

    /** VERIFY with BYTCHK 0 (and no protection): checks the range, reads nothing. */
    private void verify(ScsiCommand c, byte[] cdb, long lba, long count, long blocks) {
        // Byte 1: VRPROTECT (7-5), DPO (4), reserved (3), BYTCHK (2-1), obsolete (0): only DPO may be set.
        if ((cdb[1] & ~0x10) != 0) {
            c.checkCondition(Sense.INVALID_FIELD_IN_CDB);
        } else if (!inRange(lba, count, blocks)) {
            c.checkCondition(Sense.LBA_OUT_OF_RANGE);
        } else {
            c.good(0);
        }
    }

    /** SYNCHRONIZE CACHE: checks the range (0 blocks means to the end), then flushes the whole disk. */
    private void synchronizeCache(ScsiCommand c, byte[] cdb, long lba, long count, long blocks) {
        // Byte 1: SYNC_NV (2, obsolete) and IMMED (1) may be set; we always flush before completing.
        if ((cdb[1] & ~0x06) != 0) {
            c.checkCondition(Sense.INVALID_FIELD_IN_CDB);
            return;
        }
        if (!inRange(lba, count, blocks)) {
            c.checkCondition(Sense.LBA_OUT_OF_RANGE);
            return;
        }
        try {
            disk.flush();
        } catch (IOException e) {
            hostFailure("flush", lba, e);
            c.checkCondition(Sense.WRITE_ERROR);
            return;
        }
        c.good(0);
    }

    /**
     * WRITE SAME: with the UNMAP bit (when unmap is on) discards the range; otherwise writes the
     * one block of the data buffer to every block of the range, a block at a time from one copy of
     * it (so a guest changing its buffer meanwhile cannot make the blocks differ).
     */
    private void writeSame(ScsiCommand c, byte[] cdb, long lba, long count, long blocks) {
        // Byte 1: WRPROTECT (7-5), ANCHOR (4), UNMAP (3), obsolete PBDATA/LBDATA (2-1), NDOB or
        // obsolete (0): only UNMAP may be set, and only when unmap is supported.
        boolean unmapBit = (cdb[1] & 0x08) != 0;
        if ((cdb[1] & ~0x08) != 0 || (unmapBit && !settings.unmap()) || count == 0) {
            c.checkCondition(Sense.INVALID_FIELD_IN_CDB);
            return;
        }
        if (!inRange(lba, count, blocks)) {
            c.checkCondition(Sense.LBA_OUT_OF_RANGE);
            return;
        }
        if (count > maxWriteSameBlocks) {
            c.checkCondition(Sense.INVALID_FIELD_IN_CDB);
            return;
        }
        if (readOnly) {
            c.checkCondition(Sense.WRITE_PROTECTED);
            return;
        }
        if (c.direction() != Direction.OUT || c.dataLength() < BLOCK_SIZE) {
            c.checkCondition(Sense.INVALID_FIELD_IN_CDB);
            return;
        }
        long offset = lba << BLOCK_SHIFT;
        try {
            if (unmapBit) {
                disk.discard(offset, count << BLOCK_SHIFT);
            } else {
                byte[] block = new byte[BLOCK_SIZE];
                c.get(block, BLOCK_SIZE);
                MemorySegment source = MemorySegment.ofArray(block);
                for (long i = 0; i < count; i++) {
                    disk.write(offset + (i << BLOCK_SHIFT), source, 0, BLOCK_SIZE);
                }
            }
        } catch (IOException e) {
            hostFailure(unmapBit ? "discard" : "write same", lba, e);
            c.checkCondition(Sense.WRITE_ERROR);
            return;
        }
        c.good(BLOCK_SIZE);
    }

    /**
     * UNMAP: reads the parameter list once into the heap (the guest cannot change it between the
     * checks and the discards), checks every descriptor, and only then discards any.
     */
    private void unmap(ScsiCommand c, byte[] cdb, long blocks) {
        // Byte 1: ANCHOR (bit 0) is not supported; the rest is reserved.
        if (cdb[1] != 0) {
            c.checkCondition(Sense.INVALID_FIELD_IN_CDB);
            return;
        }
        int listLength = Cdb.u16(cdb, 7);
        if (readOnly) {
            c.checkCondition(Sense.WRITE_PROTECTED);
            return;
        }
        if (listLength == 0) {
            c.good(0);
            return;
        }
        if (listLength < 8) {
            c.checkCondition(Sense.PARAMETER_LIST_LENGTH_ERROR);
            return;
        }
        if (c.direction() != Direction.OUT || c.dataLength() < listLength) {
            c.checkCondition(Sense.INVALID_FIELD_IN_CDB);
            return;
        }
        byte[] header = new byte[8];
        c.get(header, header.length);
        // Descriptors the list holds whole; a partial last one is ignored (SBC-3).
        int count = Math.min(Cdb.u16(header, 2), listLength - 8) / 16;
        if (count > MAX_UNMAP_DESCRIPTORS) {
            c.checkCondition(Sense.INVALID_FIELD_IN_PARAMETER_LIST);
            return;
        }
        byte[] list = new byte[8 + 16 * count];
        c.get(list, list.length);
        long total = 0;
        for (int i = 0; i < count; i++) {
            long lba = Cdb.u64(list, 8 + 16 * i);
            long n = Cdb.u32(list, 8 + 16 * i + 8);
            if (!inRange(lba, n, blocks)) {
                c.checkCondition(Sense.LBA_OUT_OF_RANGE);
                return;
            }
            total += n;
        }
        if (total > 0xFFFF_FFFFL) {
            c.checkCondition(Sense.INVALID_FIELD_IN_PARAMETER_LIST);
            return;
        }
        for (int i = 0; i < count; i++) {
            long lba = Cdb.u64(list, 8 + 16 * i);
            long n = Cdb.u32(list, 8 + 16 * i + 8);
            if (n == 0) {
                continue;
            }
            try {
                disk.discard(lba << BLOCK_SHIFT, n << BLOCK_SHIFT);
            } catch (IOException e) {
                hostFailure("discard", lba, e);
                c.checkCondition(Sense.WRITE_ERROR);
                return;
            }
        }
        c.good(listLength);
    }

    // ---- data-in commands ----

    private void inquiry(ScsiCommand c, byte[] cdb, long blocks) {
        int flags = Cdb.u8(cdb, 1);
        int page = Cdb.u8(cdb, 2);
        int allocation = Cdb.u16(cdb, 3);
        if ((flags & ~0x01) != 0) { // CMDDT (obsolete) and reserved bits
            c.checkCondition(Sense.INVALID_FIELD_IN_CDB);
            return;
        }
        if ((flags & 0x01) == 0) {
            if (page != 0) {
                c.checkCondition(Sense.INVALID_FIELD_IN_CDB);
            } else {
                c.completeDataIn(standardInquiry, allocation);
            }
            return;
        }
        byte[] data = switch (page) {
            case DiskPages.PAGE_SUPPORTED -> supportedPages;
            case DiskPages.PAGE_SERIAL -> serialPage;
            case DiskPages.PAGE_IDENTIFICATION -> identificationPage;
            case DiskPages.PAGE_BLOCK_LIMITS -> blockLimitsPage;
            case DiskPages.PAGE_CHARACTERISTICS -> characteristicsPage;
            case DiskPages.PAGE_PROVISIONING -> settings.unmap() ? DiskPages.provisioning(blocks) : null;
            default -> null;
        };
        if (data == null) {
            c.checkCondition(Sense.INVALID_FIELD_IN_CDB);
        } else {
            c.completeDataIn(data, allocation);
        }
    }

    private void modeSense(ScsiCommand c, byte[] cdb, boolean tenByte) {
        // Byte 1: DBD (3), and for MODE SENSE(10) LLBAA (4); we return no block descriptors either way.
        int allowed = tenByte ? 0x18 : 0x08;
        int pageControl = Cdb.u8(cdb, 2) >>> 6;
        int page = cdb[2] & 0x3F;
        int subpage = Cdb.u8(cdb, 3);
        long allocation = tenByte ? Cdb.u16(cdb, 7) : Cdb.u8(cdb, 4);
        if ((cdb[1] & ~allowed) != 0
                || (page != DiskPages.MODE_PAGE_CACHING && page != DiskPages.MODE_PAGE_ALL)
                || (subpage != 0x00 && subpage != 0xFF)) {
            c.checkCondition(Sense.INVALID_FIELD_IN_CDB);
            return;
        }
        if (pageControl == 3) {
            c.checkCondition(Sense.SAVING_PARAMETERS_NOT_SUPPORTED);
            return;
        }
        boolean changeable = pageControl == 1;
        byte[] data = tenByte ? (changeable ? modeSense10Changeable : modeSense10)
                : (changeable ? modeSense6Changeable : modeSense6);
        c.completeDataIn(data, allocation);
    }

    /** READ CAPACITY(10): RELADR must be clear; an LBA with PMI clear is refused. Always 8 bytes. */
    private void readCapacity10(ScsiCommand c, byte[] cdb, long blocks) {
        boolean pmi = (cdb[8] & 0x01) != 0;
        if (cdb[1] != 0 || (!pmi && Cdb.u32(cdb, 2) != 0)) {
            c.checkCondition(Sense.INVALID_FIELD_IN_CDB);
            return;
        }
        c.completeDataIn(DiskPages.readCapacity10(blocks, BLOCK_SIZE), 8);
    }

    /** SERVICE ACTION IN(16): READ CAPACITY(16) is the only service action. */
    private void readCapacity16(ScsiCommand c, byte[] cdb, long blocks) {
        boolean pmi = (cdb[14] & 0x01) != 0;
        if (Cdb.u8(cdb, 1) != READ_CAPACITY_16 || (!pmi && Cdb.u64(cdb, 2) != 0)) {
            c.checkCondition(Sense.INVALID_FIELD_IN_CDB);
            return;
        }
        c.completeDataIn(DiskPages.readCapacity16(blocks, BLOCK_SIZE, settings.unmap()), Cdb.u32(cdb, 10));
    }

    @Override
    public String toString() {
        return "ScsiDisk[" + name() + (readOnly ? ", read-only" : "") + (settings.unmap() ? ", unmap" : "") + "]";
    }
}
