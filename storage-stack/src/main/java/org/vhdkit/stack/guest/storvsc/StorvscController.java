package org.vhdkit.stack.guest.storvsc;

import static org.vhdkit.stack.protocol.storage.StorageProtocol.*;
import static org.vhdkit.stack.protocol.scsi.ScsiOpcodes.INQUIRY;
import static org.vhdkit.stack.protocol.scsi.ScsiOpcodes.MODE_SENSE_6;
import static org.vhdkit.stack.protocol.scsi.ScsiOpcodes.REPORT_LUNS;
import static org.vhdkit.stack.protocol.scsi.ScsiOpcodes.SERVICE_ACTION_IN_16;
import static org.vhdkit.stack.protocol.scsi.ScsiOpcodes.SYNCHRONIZE_CACHE_10;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.vhdkit.stack.guest.GuestPages;
import org.vhdkit.stack.guest.vmbus.GuestChannel;
import org.vhdkit.stack.guest.vmbus.VmbusGuest;
import org.vhdkit.stack.partition.BlockingWait;
import org.vhdkit.stack.partition.GuestContext;
import org.vhdkit.stack.protocol.storage.ChannelProperties;
import org.vhdkit.stack.protocol.storage.PacketHeader;
import org.vhdkit.stack.protocol.storage.ProtocolVersion;
import org.vhdkit.stack.protocol.storage.SrbLayout;
import org.vhdkit.stack.protocol.storage.SrbView;
import org.vhdkit.stack.vmbus.ChannelClosedException;
import org.vhdkit.stack.vmbus.ChannelOffer;
import org.vhdkit.stack.vmbus.GpaRangeList;
import org.vhdkit.stack.protocol.vmbus.PacketType;
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
 * frees the tag. Each tag is a {@link RequestSlot}, made when the controller opens; requests are
 * written and their completions read through one reused buffer and {@code SrbView} each (the
 * storage codecs of {@link org.vhdkit.stack.protocol.storage}), so nothing is allocated per request.
 *
 * <h2>Rescans</h2>
 * An ENUMERATE_BUS message from the parent, a unit attention on any request, or a request to a LUN
 * that is gone marks the controller for a rescan, done at the next {@code await}/{@code poll}:
 * REPORT LUNS, then INQUIRY, READ CAPACITY(16) and MODE SENSE (write protection) for every LUN
 * reported ({@link LunScan}, on an internal slot of its own). A request refused with a unit attention is submitted again after the rescan; one to a
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
    /** Pages of each ring: a control page and 31 data pages (128 KiB), as Linux sizes them. */
    static final int RING_PAGES = 32;
    /** The most requests in flight unless told otherwise. */
    public static final int DEFAULT_QUEUE_DEPTH = 128;
    /** How often a request refused with a unit attention is submitted again. */
    static final int MAX_RETRIES = 8;
    /** Transaction ids of initialization requests carry this mark. */
    private static final long INIT_MARK = 0x4000_0000_0000_0000L;

    private final Storvsc owner;
    private final GuestContext ctx;
    private final ChannelOffer offer;
    private final GuestChannel channel;
    private final int depth;
    private int version;
    private int maxTransfer;

    private final VmbusPacket packet = new VmbusPacket();
    private final MemorySegment request = MemorySegment.ofArray(new byte[MAX_PACKET_LENGTH]);
    private final SrbView requestSrb = new SrbView(request, HEADER_LENGTH);
    /** The payload of the packet just received, copied out so the SRB is read through a view. */
    private final MemorySegment response = MemorySegment.ofArray(new byte[MAX_PACKET_LENGTH]);
    private final SrbView responseSrb = new SrbView(response, HEADER_LENGTH);
    private final GpaRangeList ranges = new GpaRangeList();

    /** One slot per tag, plus the internal slot (index depth) for scans. */
    private final RequestSlot[] slots;
    private final int[] done; // a ring of finished tags
    private int doneHead;
    private int doneCount;
    private int inFlight;
    private int retrying;

    private final StorvscDisk[] disks = new StorvscDisk[64];
    private final LunScan lunScan;
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
        this.offer = offer;
        this.depth = depth;
        slots = new RequestSlot[depth + 1];
        for (int tag = 0; tag < slots.length; tag++) {
            slots[tag] = new RequestSlot(tag);
        }
        done = new int[depth];
        long rings = pages.allocate(2 * RING_PAGES);
        lunScan = new LunScan(this, bus.memory(), pages.allocate(1));
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
        PacketHeader.write(request, 0, operation, REQUEST_COMPLETION_FLAG, STATUS_SUCCESS);
        if (operation == QUERY_PROTOCOL_VERSION) {
            new ProtocolVersion(proposedVersion, 0).encode(request, HEADER_LENGTH);
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
        RequestSlot slot = freeSlot();
        byte[] cdb = slot.cdb;
        java.util.Arrays.fill(cdb, (byte) 0);
        cdb[0] = (byte) opcode;
        if (opcode == SYNCHRONIZE_CACHE_10) {
            slot.cdbLength = 10;
        } else {
            for (int i = 0; i < 8; i++) {
                cdb[2 + i] = (byte) (lba >>> (56 - 8 * i));
            }
            for (int i = 0; i < 4; i++) {
                cdb[10 + i] = (byte) (blocks >>> (24 - 8 * i));
            }
            slot.cdbLength = 16;
        }
        return start(slot, disk, bufferGpa, bytes, dir);
    }

    /**
     * Submits any CDB to {@code lun} with {@code bytes} of guest memory at {@code bufferGpa} moving
     * in {@code dir} ({@link org.vhdkit.stack.protocol.storage.StorageProtocol#DATA_IN} or {@code DATA_OUT});
     * returns its tag. For commands the disk methods do not cover; the parent judges the CDB.
     */
    public int submitCdb(StorvscDisk disk, byte[] cdb, long bufferGpa, int bytes, int dir) throws StorvscException {
        if (cdb.length < 1 || cdb.length > MAX_CDB_LENGTH) {
            throw new IllegalArgumentException("a CDB of 1 to 16 bytes, not " + cdb.length);
        }
        RequestSlot slot = freeSlot();
        slot.cdb(cdb, cdb.length);
        return start(slot, disk, bufferGpa, bytes, dir);
    }

    private RequestSlot freeSlot() {
        for (int i = 0; i < depth; i++) {
            if (slots[i].state == RequestSlot.State.FREE) {
                return slots[i];
            }
        }
        throw new IllegalStateException("all " + depth + " tags are in use: await a completion and release it first");
    }

    private int start(RequestSlot slot, StorvscDisk disk, long bufferGpa, int bytes, int dir) throws StorvscException {
        if (bytes < 0 || bytes > maxTransfer) {
            throw new IllegalArgumentException("a transfer of 0 to " + maxTransfer + " bytes, not " + bytes);
        }
        slot.prepare(disk, bufferGpa, bytes, bytes == 0 ? DATA_UNKNOWN : dir);
        send(slot);
        return slot.tag;
    }

    private void send(RequestSlot slot) throws StorvscException {
        long id = slot.nextTransaction();
        slot.state = RequestSlot.State.IN_FLIGHT;
        inFlight++;
        SrbLayout layout = SrbLayout.of(version);
        request.fill((byte) 0);
        PacketHeader.write(request, 0, EXECUTE_SRB, REQUEST_COMPLETION_FLAG, STATUS_SUCCESS);
        SrbView srb = requestSrb;
        srb.length(layout.length()).lun(slot.disk.lun()).cdbLength(slot.cdbLength)
                .senseInfoLength(layout.senseLength()).dataIn(slot.direction).dataTransferLength(slot.length)
                .cdbSense(slot.cdb, 0, MAX_CDB_LENGTH);
        if (layout.extended()) {
            int flags = 0x2 | (slot.direction == DATA_IN ? 0x40 : slot.direction == DATA_OUT ? 0x80 : 0);
            srb.srbFlags(flags).timeOutValue(60);
        }
        if (slot.length > 0) {
            ranges.clear().addBuffer(slot.gpa, slot.length);
        }
        send(id, HEADER_LENGTH + layout.length(), slot.length > 0);
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
        return slot(tag).result;
    }

    /** The bytes the request with {@code tag} moved. */
    public int transferred(int tag) {
        return slot(tag).transferred;
    }

    /** The sense key of a CHECK CONDITION, or -1. */
    public int senseKey(int tag) {
        int sense = slot(tag).sense;
        return sense < 0 ? -1 : sense >>> 16;
    }

    /** The additional sense code of a CHECK CONDITION, or -1. */
    public int asc(int tag) {
        int sense = slot(tag).sense;
        return sense < 0 ? -1 : (sense >>> 8) & 0xFF;
    }

    /** The additional sense code qualifier of a CHECK CONDITION, or -1. */
    public int ascq(int tag) {
        int sense = slot(tag).sense;
        return sense < 0 ? -1 : sense & 0xFF;
    }

    /** The disk the request with {@code tag} went to. */
    public StorvscDisk diskOf(int tag) {
        return slot(tag).disk;
    }

    /** Frees {@code tag} for the next request. */
    public void release(int tag) {
        RequestSlot slot = slot(tag);
        if (slot.state != RequestSlot.State.DONE) {
            throw new IllegalStateException("tag " + tag + " has not been returned by await or poll");
        }
        slot.state = RequestSlot.State.FREE;
        slot.disk = null;
    }

    private RequestSlot slot(int tag) {
        checkTag(tag);
        return slots[tag];
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
        int payloadLength = p.payloadLength();
        response.fill((byte) 0);
        p.copyPayload(0, response, 0, Math.min(payloadLength, MAX_PACKET_LENGTH));
        if (p.type() == PacketType.IN_BAND) {
            if (payloadLength >= HEADER_LENGTH && PacketHeader.operation(response, 0) == ENUMERATE_BUS) {
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
            answerInit(payloadLength);
            return;
        }
        int tag = (int) (id & 0xFFFF) - 1;
        if (tag < 0 || tag > depth || slots[tag].state != RequestSlot.State.IN_FLIGHT || slots[tag].txid != id
                || payloadLength < HEADER_LENGTH + SRB_LENGTH_V1) {
            unexpected++;
            return;
        }
        RequestSlot slot = slots[tag];
        boolean internal = tag == depth;
        inFlight--;
        SrbView answer = responseSrb;
        int srb = answer.srbStatus();
        int scsi = answer.scsiStatus();
        int senseLen = answer.senseInfoLength();
        slot.transferred = (int) answer.dataTransferLength();
        slot.sense = (srb & SRB_STATUS_AUTOSENSE_VALID) != 0 && senseLen >= 14
                ? (answer.cdbSenseByte(2) & 0x0F) << 16 | answer.cdbSenseByte(12) << 8 | answer.cdbSenseByte(13)
                : -1;
        int code = srb & 0x3F;
        IoStatus status;
        if (code == SRB_STATUS_SUCCESS && scsi == 0) {
            status = IoStatus.OK;
        } else if (code == SRB_STATUS_INVALID_LUN || code == SRB_STATUS_INVALID_TARGET_ID
                || code == SRB_STATUS_INVALID_PATH_ID) {
            status = IoStatus.NO_DEVICE;
            if (!internal) {
                rescanNeeded = true;
            }
        } else if (scsi == 0x02 && slot.sense >= 0) {
            status = IoStatus.CHECK_CONDITION;
            if (slot.sense >>> 16 == 0x6 && !internal) {
                rescanNeeded = true;
                if (slot.retries < MAX_RETRIES) {
                    slot.retries++;
                    slot.state = RequestSlot.State.RETRY;
                    retrying++;
                    return;
                }
            }
        } else {
            status = IoStatus.REFUSED;
        }
        slot.result = status;
        slot.state = RequestSlot.State.DONE;
        if (!internal) {
            finished(slot);
        }
    }

    /** Puts {@code slot} on the ring of finished tags. */
    private void finished(RequestSlot slot) {
        done[(doneHead + doneCount) % depth] = slot.tag;
        doneCount++;
    }

    private void answerInit(int payloadLength) {
        if (payloadLength < HEADER_LENGTH) {
            unexpected++;
            return;
        }
        initStatus = PacketHeader.status(response, 0);
        initMaxTransfer = ChannelProperties.maxTransferBytes(response, HEADER_LENGTH,
                Math.min(payloadLength, MAX_PACKET_LENGTH) - HEADER_LENGTH);
        initAnswered = true;
    }

    // ---- scanning ----

    /**
     * Scans the bus now ({@link LunScan}): REPORT LUNS, then INQUIRY, READ CAPACITY(16) and MODE
     * SENSE(6) of each LUN found; submits again the requests that were refused with a unit attention.
     */
    public void rescan() throws StorvscException {
        scanning = true;
        try {
            rescanNeeded = false;
            lunScan.scan(disks);
            scanGeneration++;
        } finally {
            scanning = false;
        }
        resubmit();
    }

    private void resubmit() throws StorvscException {
        for (int tag = 0; tag < depth && retrying > 0; tag++) {
            RequestSlot slot = slots[tag];
            if (slot.state != RequestSlot.State.RETRY) {
                continue;
            }
            retrying--;
            if (slot.disk.present()) {
                send(slot);
            } else {
                slot.result = IoStatus.NO_DEVICE;
                slot.state = RequestSlot.State.DONE;
                finished(slot);
            }
        }
    }

    /**
     * Runs one scan command for {@link LunScan} on the internal slot, its data into guest memory at
     * {@code bufferGpa}, retrying unit attentions; returns the slot, which holds the result and the
     * bytes moved until the next internal command.
     */
    RequestSlot internal(StorvscDisk disk, byte[] cdb, int bytes, long bufferGpa) throws StorvscException {
        RequestSlot slot = slots[depth];
        for (int attempt = 0;; attempt++) {
            slot.cdb(cdb, cdb.length);
            slot.prepare(disk, bufferGpa, bytes, DATA_IN);
            send(slot);
            while (slot.state == RequestSlot.State.IN_FLIGHT) {
                receiveBlocking();
                dispatch();
            }
            slot.state = RequestSlot.State.FREE;
            if (slot.unitAttention() && attempt < MAX_RETRIES) {
                continue; // a unit attention: reported once, then the command goes through
            }
            return slot;
        }
    }

    Storvsc owner() {
        return owner;
    }
}
