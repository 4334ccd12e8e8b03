package org.vhdkit.stack.guest.storvsc;

import static org.vhdkit.stack.protocol.scsi.ScsiOpcodes.INQUIRY;
import static org.vhdkit.stack.protocol.scsi.ScsiOpcodes.MODE_SENSE_6;
import static org.vhdkit.stack.protocol.scsi.ScsiOpcodes.REPORT_LUNS;
import static org.vhdkit.stack.protocol.scsi.ScsiOpcodes.SERVICE_ACTION_IN_16;
import static org.vhdkit.stack.protocol.scsi.ScsiOpcodes.SYNCHRONIZE_CACHE_10;
import static org.vhdkit.stack.storvsp.StorageProtocol.*;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.vhdkit.stack.guest.GuestPages;
import org.vhdkit.stack.guest.vmbus.GuestChannel;
import org.vhdkit.stack.guest.vmbus.VmbusGuest;
import org.vhdkit.stack.memory.GuestMemory;
import org.vhdkit.stack.memory.GuestMemoryException;
import org.vhdkit.stack.partition.BlockingWait;
import org.vhdkit.stack.partition.GuestContext;
import org.vhdkit.stack.vmbus.ChannelClosedException;
import org.vhdkit.stack.vmbus.ChannelOffer;
import org.vhdkit.stack.vmbus.GpaRangeList;
import org.vhdkit.stack.vmbus.PacketType;
import org.vhdkit.stack.vmbus.VmbusException;
import org.vhdkit.stack.vmbus.VmbusPacket;

/**
 * The guest's driver for one synthetic SCSI controller: one VMBus channel, its negotiation, its
 * LUNs as {@link StorvscDisk}s, and the requests in flight on it.
 *
 * <h2>Requests</h2>
 * A request is submitted through a disk ({@link StorvscDisk#read}, {@code write}, {@code flush}),
 * which returns a <em>tag</em> (0 to {@link #queueDepth()} - 1). Up to {@code queueDepth} requests
 * may be in flight at once; the rings are sized so that the parent can always answer all of them.
 * {@link #awaitCompletion()} (or {@link #pollCompletion()}) returns the tag of a finished request;
 * {@link #status}, {@link #transferred} and the sense accessors tell how it ended; {@link #release}
 * frees the tag. Nothing is allocated per request.
 *
 * <h2>Rescans</h2>
 * An ENUMERATE_BUS message from the parent, a unit attention on any request, or a request to a LUN
 * that is gone marks the controller for a rescan, done at the next {@code await}/{@code poll}:
 * REPORT LUNS, then INQUIRY, READ CAPACITY(16) and MODE SENSE (write protection) for every LUN
 * reported. A request refused with a unit attention is submitted again after the rescan; one to a
 * LUN that is gone completes {@link IoStatus#NO_DEVICE}. {@link #scanGeneration()} counts the scans.
 *
 * <h2>Waiting</h2>
 * Every wait goes through {@link GuestContext#blocking}, so a wait is a safe point: the VM can be
 * paused, saved or turned off while the driver waits for the parent.
 *
 * <p>Thread-safety: a controller and its disks belong to the virtual processor that opened them
 * (their context is confined to it); use them from that thread only.
 */
public final class StorvscController implements AutoCloseable {
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Pages of each ring: a control page and 31 data pages (128 KiB), as Linux sizes them. */
    static final int RING_PAGES = 32;
    /** The most requests in flight unless told otherwise. */
    public static final int DEFAULT_QUEUE_DEPTH = 128;
    /** How often a request refused with a unit attention is submitted again. */
    static final int MAX_RETRIES = 8;
    /** Transaction ids of initialization requests carry this mark. */
    private static final long INIT_MARK = 0x4000_0000_0000_0000L;

    private static final int FREE = 0;
    private static final int IN_FLIGHT = 1;
    private static final int DONE = 2;
    private static final int RETRY = 3;

    private final Storvsc owner;
    private final GuestContext ctx;
    private final GuestMemory memory;
    private final ChannelOffer offer;
    private final GuestChannel channel;
    private final int depth;
    private final long scratch;
    private int version;
    private int maxTransfer;

    private final VmbusPacket packet = new VmbusPacket();
    private final MemorySegment request = MemorySegment.ofArray(new byte[MAX_PACKET_LENGTH]);
    private final GpaRangeList ranges = new GpaRangeList();

    // one slot per tag, plus the internal slot (index depth) for scans
    private final int[] state;
    private final long[] txid;
    private final int[] sequence;
    private final StorvscDisk[] slotDisk;
    private final byte[] cdbs;
    private final int[] cdbLength;
    private final long[] gpa;
    private final int[] length;
    private final int[] direction;
    private final int[] retries;
    private final IoStatus[] result;
    private final int[] transferredBytes;
    private final int[] senseBytes; // key << 16 | asc << 8 | ascq, or -1
    private final int[] done; // a ring of finished tags
    private int doneHead;
    private int doneCount;
    private int inFlight;
    private int retrying;

    private final StorvscDisk[] disks = new StorvscDisk[64];
    private boolean rescanNeeded;
    private boolean scanning;
    private long scanGeneration;
    private long unexpected;
    private long busMessages;

    // initialization answers
    private boolean initAnswered;
    private int initStatus;
    private int initMaxTransfer;

    // blocking waits, made once
    private final BlockingWait<Object, ChannelClosedException> receiveWait;
    private final BlockingWait<Object, ChannelClosedException> sendWait;
    private long sendTxid;
    private int sendLength;
    private boolean sendGpa;

    StorvscController(Storvsc owner, GuestContext ctx, VmbusGuest bus, ChannelOffer offer, GuestPages pages, int depth)
            throws StorvscException {
        this.owner = owner;
        this.ctx = ctx;
        this.memory = bus.memory();
        this.offer = offer;
        this.depth = depth;
        int slots = depth + 1;
        state = new int[slots];
        txid = new long[slots];
        sequence = new int[slots];
        slotDisk = new StorvscDisk[slots];
        cdbs = new byte[slots * MAX_CDB_LENGTH];
        cdbLength = new int[slots];
        gpa = new long[slots];
        length = new int[slots];
        direction = new int[slots];
        retries = new int[slots];
        result = new IoStatus[slots];
        transferredBytes = new int[slots];
        senseBytes = new int[slots];
        done = new int[depth];
        long rings = pages.allocate(2 * RING_PAGES);
        scratch = pages.allocate(1);
        try {
            channel = bus.open(offer, GuestPages.frames(rings, 2 * RING_PAGES), RING_PAGES);
        } catch (VmbusException e) {
            throw new StorvscException("cannot open storage channel " + offer.channelId() + ": " + e.getMessage(), e);
        }
        receiveWait = () -> {
            channel.receive(packet);
            return null;
        };
        sendWait = () -> {
            if (sendGpa) {
                channel.sendGpaDirect(sendTxid, true, ranges, request, 0, sendLength);
            } else {
                channel.sendInBand(sendTxid, true, request, 0, sendLength);
            }
            return null;
        };
        try {
            negotiate();
            rescan();
        } catch (StorvscException | RuntimeException | Error e) {
            channel.close();
            throw e;
        }
    }

    // ---- what the controller is ----

    /** The channel offer this controller was opened on. */
    public ChannelOffer offer() {
        return offer;
    }

    /** The protocol version negotiated with the parent, major << 8 | minor. */
    public int protocolVersion() {
        return version;
    }

    /** The largest transfer of one request, from the parent's properties. */
    public int maxTransferBytes() {
        return maxTransfer;
    }

    /** How many requests may be in flight at once. */
    public int queueDepth() {
        return depth;
    }

    /** Requests submitted and not yet returned by await or poll. */
    public int inFlight() {
        return inFlight + retrying + doneCount;
    }

    /** The disks the last scan found, by ascending LUN. */
    public List<StorvscDisk> disks() {
        List<StorvscDisk> list = new ArrayList<>();
        for (StorvscDisk d : disks) {
            if (d != null && d.present()) {
                list.add(d);
            }
        }
        return list;
    }

    /** The disk at {@code lun}, if the last scan found one there. */
    public Optional<StorvscDisk> disk(int lun) {
        StorvscDisk d = lun >= 0 && lun < disks.length ? disks[lun] : null;
        return d != null && d.present() ? Optional.of(d) : Optional.empty();
    }

    /** How many scans of the bus have been made. */
    public long scanGeneration() {
        return scanGeneration;
    }

    /** ENUMERATE_BUS messages received from the parent. */
    public long busMessages() {
        return busMessages;
    }

    /** Packets from the parent that answered nothing the driver sent (ignored). */
    public long unexpectedPackets() {
        return unexpected;
    }

    /** Signals this guest raised to the parent on the channel. */
    public long signalsToParent() {
        return channel.signalsToParent();
    }

    /** Interrupts the parent raised to this guest on the channel. */
    public long interruptsFromParent() {
        return channel.interruptsFromParent();
    }

    /** Whether the channel is open. */
    public boolean isOpen() {
        return channel.isOpen();
    }

    /** Closes the channel; requests in flight are abandoned. */
    @Override
    public void close() {
        channel.close();
    }

    @Override
    public String toString() {
        return "StorvscController[channel " + offer.channelId() + ", protocol " + describeVersion(version) + ", "
                + disks().size() + " disks]";
    }

    // ---- initialization ----

    private void negotiate() throws StorvscException {
        initCall(BEGIN_INITIALIZATION, 0);
        expectSuccess(BEGIN_INITIALIZATION);
        int agreed = 0;
        for (int v : VERSIONS) {
            initCall(QUERY_PROTOCOL_VERSION, v);
            if (initStatus == STATUS_SUCCESS) {
                agreed = v;
                break;
            }
            if (initStatus != STATUS_REVISION_MISMATCH) {
                expectSuccess(QUERY_PROTOCOL_VERSION);
            }
        }
        if (agreed == 0) {
            throw new StorvscException("the parent accepts none of the storage protocol versions " + describeVersions());
        }
        version = agreed;
        initCall(QUERY_PROPERTIES, 0);
        expectSuccess(QUERY_PROPERTIES);
        maxTransfer = initMaxTransfer <= 0 ? MAX_TRANSFER_BYTES : Math.min(initMaxTransfer, MAX_TRANSFER_BYTES);
        initCall(END_INITIALIZATION, 0);
        expectSuccess(END_INITIALIZATION);
    }

    private static String describeVersions() {
        StringBuilder s = new StringBuilder();
        for (int v : VERSIONS) {
            s.append(s.isEmpty() ? "" : ", ").append(describeVersion(v));
        }
        return s.toString();
    }

    private void expectSuccess(int operation) throws StorvscException {
        if (initStatus != STATUS_SUCCESS) {
            throw new StorvscException("storage channel " + offer.channelId() + ": the parent answered "
                    + operationName(operation) + " with status 0x" + Integer.toHexString(initStatus));
        }
    }

    /** Sends one initialization request and waits for its answer. */
    private void initCall(int operation, int proposedVersion) throws StorvscException {
        request.fill((byte) 0);
        request.set(INT, 0, operation);
        request.set(INT, 4, REQUEST_COMPLETION_FLAG);
        if (operation == QUERY_PROTOCOL_VERSION) {
            request.set(SHORT, HEADER_LENGTH, (short) proposedVersion);
        }
        long id = INIT_MARK | operation;
        initAnswered = false;
        send(id, MAX_PACKET_LENGTH, false);
        while (!initAnswered) {
            receiveBlocking();
            dispatch();
        }
    }

    // ---- submitting ----

    /** Submits a request on {@code disk}; returns its tag. For {@link StorvscDisk}. */
    int submit(StorvscDisk disk, int opcode, long lba, int blocks, long bufferGpa, int bytes, int dir)
            throws StorvscException {
        int slot = freeSlot();
        int at = slot * MAX_CDB_LENGTH;
        java.util.Arrays.fill(cdbs, at, at + MAX_CDB_LENGTH, (byte) 0);
        cdbs[at] = (byte) opcode;
        int cdbLen;
        if (opcode == SYNCHRONIZE_CACHE_10) {
            cdbLen = 10;
        } else {
            for (int i = 0; i < 8; i++) {
                cdbs[at + 2 + i] = (byte) (lba >>> (56 - 8 * i));
            }
            for (int i = 0; i < 4; i++) {
                cdbs[at + 10 + i] = (byte) (blocks >>> (24 - 8 * i));
            }
            cdbLen = 16;
        }
        return start(slot, disk, cdbLen, bufferGpa, bytes, dir);
    }

    /**
     * Submits any CDB to {@code lun} with {@code bytes} of guest memory at {@code bufferGpa} moving
     * in {@code dir} ({@link org.vhdkit.stack.storvsp.StorageProtocol#DATA_IN} or {@code DATA_OUT});
     * returns its tag. For commands the disk methods do not cover; the parent judges the CDB.
     */
    public int submitCdb(StorvscDisk disk, byte[] cdb, long bufferGpa, int bytes, int dir) throws StorvscException {
        if (cdb.length < 1 || cdb.length > MAX_CDB_LENGTH) {
            throw new IllegalArgumentException("a CDB of 1 to 16 bytes, not " + cdb.length);
        }
        int slot = freeSlot();
        int at = slot * MAX_CDB_LENGTH;
        java.util.Arrays.fill(cdbs, at, at + MAX_CDB_LENGTH, (byte) 0);
        System.arraycopy(cdb, 0, cdbs, at, cdb.length);
        return start(slot, disk, cdb.length, bufferGpa, bytes, dir);
    }

    private int freeSlot() {
        for (int i = 0; i < depth; i++) {
            if (state[i] == FREE) {
                return i;
            }
        }
        throw new IllegalStateException("all " + depth + " tags are in use: await a completion and release it first");
    }

    private int start(int slot, StorvscDisk disk, int cdbLen, long bufferGpa, int bytes, int dir)
            throws StorvscException {
        if (bytes < 0 || bytes > maxTransfer) {
            throw new IllegalArgumentException("a transfer of 0 to " + maxTransfer + " bytes, not " + bytes);
        }
        slotDisk[slot] = disk;
        cdbLength[slot] = cdbLen;
        gpa[slot] = bufferGpa;
        length[slot] = bytes;
        direction[slot] = bytes == 0 ? DATA_UNKNOWN : dir;
        retries[slot] = 0;
        result[slot] = IoStatus.PENDING;
        transferredBytes[slot] = 0;
        senseBytes[slot] = -1;
        send(slot);
        return slot;
    }

    private void send(int slot) throws StorvscException {
        sequence[slot]++;
        long id = ((long) sequence[slot] << 16) | (slot + 1);
        txid[slot] = id;
        state[slot] = IN_FLIGHT;
        inFlight++;
        int srbLength = srbLength(version);
        request.fill((byte) 0);
        request.set(INT, 0, EXECUTE_SRB);
        request.set(INT, 4, REQUEST_COMPLETION_FLAG);
        int b = HEADER_LENGTH;
        request.set(SHORT, b + SRB_LENGTH, (short) srbLength);
        request.set(ValueLayout.JAVA_BYTE, b + SRB_LUN, (byte) slotDisk[slot].lun());
        request.set(ValueLayout.JAVA_BYTE, b + SRB_CDB_LENGTH, (byte) cdbLength[slot]);
        request.set(ValueLayout.JAVA_BYTE, b + SRB_SENSE_LENGTH, (byte) senseLength(version));
        request.set(ValueLayout.JAVA_BYTE, b + SRB_DATA_IN, (byte) direction[slot]);
        request.set(INT, b + SRB_TRANSFER_LENGTH, length[slot]);
        MemorySegment.copy(cdbs, slot * MAX_CDB_LENGTH, request, ValueLayout.JAVA_BYTE, b + SRB_CDB, MAX_CDB_LENGTH);
        if (version >= VERSION_WIN8) {
            int flags = 0x2 | (direction[slot] == DATA_IN ? 0x40 : direction[slot] == DATA_OUT ? 0x80 : 0);
            request.set(INT, b + SRB_SRB_FLAGS, flags);
            request.set(INT, b + SRB_SRB_FLAGS + 4, 60);
        }
        if (length[slot] > 0) {
            ranges.clear().addBuffer(gpa[slot], length[slot]);
        }
        send(id, HEADER_LENGTH + srbLength, length[slot] > 0);
    }

    private void send(long id, int bytes, boolean withRanges) throws StorvscException {
        try {
            boolean sent = withRanges
                    ? channel.trySendGpaDirect(id, true, ranges, request, 0, bytes)
                    : channel.trySendInBand(id, true, request, 0, bytes);
            if (!sent) {
                sendTxid = id;
                sendLength = bytes;
                sendGpa = withRanges;
                ctx.blocking(sendWait);
            }
        } catch (ChannelClosedException e) {
            throw closed(e);
        }
    }

    private StorvscException closed(ChannelClosedException e) {
        return new StorvscException("storage channel " + offer.channelId() + " closed: " + e.closure(), e);
    }

    // ---- completions ----

    /**
     * The tag of the next finished request, waiting for one; rescans first when the bus changed.
     *
     * @throws IllegalStateException when nothing is in flight
     */
    public int awaitCompletion() throws StorvscException {
        for (;;) {
            if (rescanNeeded && !scanning) {
                rescan();
            }
            if (doneCount > 0) {
                return takeDone();
            }
            if (inFlight == 0) {
                throw new IllegalStateException("no request is in flight on storage channel " + offer.channelId());
            }
            receiveBlocking();
            dispatch();
        }
    }

    /** The tag of a finished request, or -1 if none has finished; never waits for the parent. */
    public int pollCompletion() throws StorvscException {
        if (rescanNeeded && !scanning) {
            rescan();
        }
        while (doneCount == 0 && tryReceive()) {
            dispatch();
            if (rescanNeeded && !scanning) {
                rescan();
            }
        }
        return doneCount > 0 ? takeDone() : -1;
    }

    private int takeDone() {
        int tag = done[doneHead];
        doneHead = (doneHead + 1) % depth;
        doneCount--;
        return tag;
    }

    /** How the request with {@code tag} ended (PENDING while in flight). */
    public IoStatus status(int tag) {
        checkTag(tag);
        return result[tag];
    }

    /** The bytes the request with {@code tag} moved. */
    public int transferred(int tag) {
        checkTag(tag);
        return transferredBytes[tag];
    }

    /** The sense key of a CHECK CONDITION, or -1. */
    public int senseKey(int tag) {
        checkTag(tag);
        return senseBytes[tag] < 0 ? -1 : senseBytes[tag] >>> 16;
    }

    /** The additional sense code of a CHECK CONDITION, or -1. */
    public int asc(int tag) {
        checkTag(tag);
        return senseBytes[tag] < 0 ? -1 : (senseBytes[tag] >>> 8) & 0xFF;
    }

    /** The additional sense code qualifier of a CHECK CONDITION, or -1. */
    public int ascq(int tag) {
        checkTag(tag);
        return senseBytes[tag] < 0 ? -1 : senseBytes[tag] & 0xFF;
    }

    /** The disk the request with {@code tag} went to. */
    public StorvscDisk diskOf(int tag) {
        checkTag(tag);
        return slotDisk[tag];
    }

    /** Frees {@code tag} for the next request. */
    public void release(int tag) {
        checkTag(tag);
        if (state[tag] != DONE) {
            throw new IllegalStateException("tag " + tag + " has not been returned by await or poll");
        }
        state[tag] = FREE;
        slotDisk[tag] = null;
    }

    private void checkTag(int tag) {
        if (tag < 0 || tag >= depth) {
            throw new IllegalArgumentException("tag " + tag + " outside 0 to " + (depth - 1));
        }
    }

    private void receiveBlocking() throws StorvscException {
        try {
            ctx.blocking(receiveWait);
        } catch (ChannelClosedException e) {
            throw closed(e);
        }
    }

    private boolean tryReceive() throws StorvscException {
        try {
            return channel.tryReceive(packet);
        } catch (ChannelClosedException e) {
            throw closed(e);
        }
    }

    /** Acts on the packet just received. */
    private void dispatch() {
        VmbusPacket p = packet;
        if (p.type() == PacketType.IN_BAND) {
            if (p.payloadLength() >= HEADER_LENGTH && p.payloadInt(0) == ENUMERATE_BUS) {
                busMessages++;
                rescanNeeded = true;
            } else {
                unexpected++;
            }
            return;
        }
        if (p.type() != PacketType.COMPLETION) {
            unexpected++;
            return;
        }
        long id = p.transactionId();
        if ((id & INIT_MARK) != 0) {
            answerInit(p);
            return;
        }
        int slot = (int) (id & 0xFFFF) - 1;
        if (slot < 0 || slot > depth || state[slot] != IN_FLIGHT || txid[slot] != id
                || p.payloadLength() < HEADER_LENGTH + SRB_LENGTH_V1) {
            unexpected++;
            return;
        }
        inFlight--;
        int b = HEADER_LENGTH;
        int srb = p.payloadByte(b + SRB_SRB_STATUS) & 0xFF;
        int scsi = p.payloadByte(b + SRB_SCSI_STATUS) & 0xFF;
        int senseLen = p.payloadByte(b + SRB_SENSE_LENGTH) & 0xFF;
        transferredBytes[slot] = p.payloadInt(b + SRB_TRANSFER_LENGTH);
        senseBytes[slot] = (srb & SRB_STATUS_AUTOSENSE_VALID) != 0 && senseLen >= 14
                ? (p.payloadByte(b + SRB_SENSE + 2) & 0x0F) << 16 | (p.payloadByte(b + SRB_SENSE + 12) & 0xFF) << 8
                        | (p.payloadByte(b + SRB_SENSE + 13) & 0xFF)
                : -1;
        int code = srb & 0x3F;
        IoStatus status;
        if (code == SRB_STATUS_SUCCESS && scsi == 0) {
            status = IoStatus.OK;
        } else if (code == SRB_STATUS_INVALID_LUN || code == SRB_STATUS_INVALID_TARGET_ID
                || code == SRB_STATUS_INVALID_PATH_ID) {
            status = IoStatus.NO_DEVICE;
            if (slot < depth) {
                rescanNeeded = true;
            }
        } else if (scsi == 0x02 && senseBytes[slot] >= 0) {
            status = IoStatus.CHECK_CONDITION;
            if (senseBytes[slot] >>> 16 == 0x6 && slot < depth) {
                rescanNeeded = true;
                if (retries[slot] < MAX_RETRIES) {
                    retries[slot]++;
                    state[slot] = RETRY;
                    retrying++;
                    return;
                }
            }
        } else {
            status = IoStatus.REFUSED;
        }
        result[slot] = status;
        state[slot] = DONE;
        if (slot < depth) {
            done[(doneHead + doneCount) % depth] = slot;
            doneCount++;
        }
    }

    private void answerInit(VmbusPacket p) {
        if (p.payloadLength() < HEADER_LENGTH) {
            unexpected++;
            return;
        }
        initStatus = p.payloadInt(8);
        initMaxTransfer = p.payloadLength() >= HEADER_LENGTH + PROPERTIES_MAX_TRANSFER + 4
                ? p.payloadInt(HEADER_LENGTH + PROPERTIES_MAX_TRANSFER) : 0;
        initAnswered = true;
    }

    // ---- scanning ----

    /**
     * Scans the bus now: REPORT LUNS, then INQUIRY, READ CAPACITY(16) and MODE SENSE(6) of each LUN
     * found; submits again the requests that were refused with a unit attention.
     */
    public void rescan() throws StorvscException {
        scanning = true;
        try {
            rescanNeeded = false;
            boolean[] reported = reportLuns();
            for (int lun = 0; lun < disks.length; lun++) {
                StorvscDisk d = disks[lun];
                if (!reported[lun]) {
                    if (d != null) {
                        d.gone();
                    }
                    continue;
                }
                if (!inquiryIsDisk(lun)) {
                    if (d != null) {
                        d.gone();
                    }
                    continue;
                }
                StorvscDisk probe = d != null ? d : new StorvscDisk(this, lun);
                long[] capacity = readCapacity(probe);
                if (capacity == null) {
                    probe.gone();
                    continue;
                }
                boolean protectedFromWrites = writeProtected(probe);
                probe.found(capacity[0], (int) capacity[1], protectedFromWrites);
                disks[lun] = probe;
            }
            scanGeneration++;
        } finally {
            scanning = false;
        }
        resubmit();
    }

    private void resubmit() throws StorvscException {
        for (int slot = 0; slot < depth && retrying > 0; slot++) {
            if (state[slot] != RETRY) {
                continue;
            }
            retrying--;
            StorvscDisk d = slotDisk[slot];
            if (d.present()) {
                send(slot);
            } else {
                result[slot] = IoStatus.NO_DEVICE;
                state[slot] = DONE;
                done[(doneHead + doneCount) % depth] = slot;
                doneCount++;
            }
        }
    }

    private boolean[] reportLuns() throws StorvscException {
        int bytes = 8 + 8 * disks.length;
        byte[] cdb = new byte[12];
        cdb[0] = (byte) REPORT_LUNS;
        cdb[6] = (byte) (bytes >>> 24);
        cdb[7] = (byte) (bytes >>> 16);
        cdb[8] = (byte) (bytes >>> 8);
        cdb[9] = (byte) bytes;
        boolean[] found = new boolean[disks.length];
        if (internal(0, cdb, bytes) != IoStatus.OK) {
            throw new StorvscException("storage channel " + offer.channelId() + ": REPORT LUNS failed");
        }
        try {
            long listLength = Integer.toUnsignedLong(Integer.reverseBytes(memory.getInt(scratch)));
            long entries = Math.min(listLength / 8, (transferredBytes[depth] - 8) / 8);
            for (int i = 0; i < entries; i++) {
                int lun = memory.getByte(scratch + 8 + 8L * i + 1) & 0xFF;
                int addressing = memory.getByte(scratch + 8 + 8L * i) & 0xFF;
                if (addressing == 0 && lun < found.length) {
                    found[lun] = true;
                }
            }
        } catch (GuestMemoryException e) {
            throw new AssertionError("the driver's scratch page is outside guest memory", e);
        }
        return found;
    }

    private boolean inquiryIsDisk(int lun) throws StorvscException {
        byte[] cdb = {(byte) INQUIRY, 0, 0, 0, 36, 0};
        StorvscDisk probe = disks[lun] != null ? disks[lun] : new StorvscDisk(this, lun);
        if (internal(probe, cdb, 36) != IoStatus.OK || transferredBytes[depth] < 1) {
            return false;
        }
        try {
            return (memory.getByte(scratch) & 0xFF) == 0x00; // qualifier 0, direct-access block device
        } catch (GuestMemoryException e) {
            throw new AssertionError(e);
        }
    }

    /** {blocks, block size}, or null when the LUN does not answer. */
    private long[] readCapacity(StorvscDisk disk) throws StorvscException {
        byte[] cdb = new byte[16];
        cdb[0] = (byte) SERVICE_ACTION_IN_16;
        cdb[1] = 0x10;
        cdb[13] = 32;
        if (internal(disk, cdb, 32) != IoStatus.OK) {
            return null;
        }
        try {
            long last = Long.reverseBytes(memory.getLong(scratch));
            long blockSize = Integer.toUnsignedLong(Integer.reverseBytes(memory.getInt(scratch + 8)));
            return new long[] {last + 1, blockSize};
        } catch (GuestMemoryException e) {
            throw new AssertionError(e);
        }
    }

    private boolean writeProtected(StorvscDisk disk) throws StorvscException {
        byte[] cdb = {(byte) MODE_SENSE_6, 0, 0x3F, 0, 4, 0};
        if (internal(disk, cdb, 4) != IoStatus.OK || transferredBytes[depth] < 3) {
            return false;
        }
        try {
            return (memory.getByte(scratch + 2) & 0x80) != 0;
        } catch (GuestMemoryException e) {
            throw new AssertionError(e);
        }
    }

    private IoStatus internal(int lun, byte[] cdb, int bytes) throws StorvscException {
        StorvscDisk d = disks[lun] != null ? disks[lun] : new StorvscDisk(this, lun);
        return internal(d, cdb, bytes);
    }

    /** Runs one scan command on the internal slot, retrying unit attentions; data into the scratch page. */
    private IoStatus internal(StorvscDisk disk, byte[] cdb, int bytes) throws StorvscException {
        int slot = depth;
        for (int attempt = 0;; attempt++) {
            System.arraycopy(cdb, 0, cdbs, slot * MAX_CDB_LENGTH, cdb.length);
            java.util.Arrays.fill(cdbs, slot * MAX_CDB_LENGTH + cdb.length, (slot + 1) * MAX_CDB_LENGTH, (byte) 0);
            slotDisk[slot] = disk;
            cdbLength[slot] = cdb.length;
            gpa[slot] = scratch;
            length[slot] = bytes;
            direction[slot] = DATA_IN;
            result[slot] = IoStatus.PENDING;
            senseBytes[slot] = -1;
            send(slot);
            while (state[slot] == IN_FLIGHT) {
                receiveBlocking();
                dispatch();
            }
            state[slot] = FREE;
            IoStatus status = result[slot];
            if (status == IoStatus.CHECK_CONDITION && senseBytes[slot] >>> 16 == 0x6 && attempt < MAX_RETRIES) {
                continue; // a unit attention: reported once, then the command goes through
            }
            return status;
        }
    }

    Storvsc owner() {
        return owner;
    }
}
