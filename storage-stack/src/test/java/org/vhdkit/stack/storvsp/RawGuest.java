package org.vhdkit.stack.storvsp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.stack.storvsp.StorageProtocol.*;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.vhdkit.stack.guest.vmbus.GuestChannel;
import org.vhdkit.stack.guest.vmbus.VmbusGuest;
import org.vhdkit.stack.memory.GuestMemory;
import org.vhdkit.stack.scsi.ScsiDisk;
import org.vhdkit.stack.scsi.ScsiTarget;
import org.vhdkit.stack.vmbus.ChannelClosedException;
import org.vhdkit.stack.vmbus.ChannelOffer;
import org.vhdkit.stack.vmbus.GpaRangeList;
import org.vhdkit.stack.vmbus.PacketType;
import org.vhdkit.stack.vmbus.VmbusPacket;
import org.vhdkit.stack.vmbus.VmbusServer;
import org.vhdkit.vhd.MemoryDisk;

/**
 * A hand-driven guest against one StorVsp, over a real VMBus server and guest memory, without a
 * VM: it writes whatever packets a test wants, well-formed or not, and reads the answers.
 */
final class RawGuest implements AutoCloseable {
    static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final long RINGS = 0x10_0000;
    static final int RING_PAGES = 8;
    static final long DATA = 0x20_0000;
    static final Duration WAIT = Duration.ofSeconds(5);

    final GuestMemory memory;
    final VmbusServer server;
    final ScsiTarget target;
    final StorVsp vsp;
    final MemoryDisk disk;
    final ChannelOffer offer;
    GuestChannel channel;
    final VmbusPacket packet = new VmbusPacket();
    final MemorySegment out = MemorySegment.ofArray(new byte[MAX_PACKET_LENGTH]);
    private long nextId = 1;

    /** The answer to one request. */
    record Answer(int operation, int status, int srbStatus, int scsiStatus, int senseLength, int senseKey, int asc,
            int ascq, int transferred, int payloadLength, int version, int maxTransfer) {
    }

    RawGuest(String name, long diskSize) throws Exception {
        this(name, diskSize, Duration.ZERO);
    }

    /** With consumers (and the guest's waits) polling for {@code poll} before they park. */
    RawGuest(String name, long diskSize, Duration poll) throws Exception {
        memory = GuestMemory.allocate(name, 8L << 20);
        server = VmbusServer.create(memory, poll);
        target = new ScsiTarget(name + "/scsi0", 64);
        disk = MemoryDisk.create(name + "-disk", diskSize);
        target.attach(0, ScsiDisk.of(disk, ScsiDisk.Settings.of(UUID.randomUUID())));
        vsp = StorVsp.create(name + "/scsi0", target);
        offer = server.offer(ChannelOffer.STORAGE, UUID.randomUUID(), vsp);
        open();
    }

    void open() throws Exception {
        long[] pfns = new long[2 * RING_PAGES];
        for (int i = 0; i < pfns.length; i++) {
            pfns[i] = (RINGS >>> 12) + i;
        }
        channel = VmbusGuest.on(server.guest()).open(offer, pfns, RING_PAGES);
    }

    /** Sends an in-band request of {@code length} payload bytes from {@link #out}; returns its id. */
    long sendInBand(int length) throws Exception {
        long id = nextId++;
        channel.sendInBand(id, true, out, 0, length);
        return id;
    }

    long sendGpa(GpaRangeList ranges, int length) throws Exception {
        long id = nextId++;
        channel.sendGpaDirect(id, true, ranges, out, 0, length);
        return id;
    }

    /** Sends an initialization-style request (operation, and a version for QUERY_PROTOCOL_VERSION). */
    Answer call(int operation, int version) throws Exception {
        out.fill((byte) 0);
        out.set(INT, 0, operation);
        out.set(INT, 4, REQUEST_COMPLETION_FLAG);
        out.set(SHORT, HEADER_LENGTH, (short) version);
        long id = sendInBand(MAX_PACKET_LENGTH);
        return answer(id);
    }

    /** Runs the whole initialization at {@code version}. */
    void initialize(int version) throws Exception {
        assertEquals(STATUS_SUCCESS, call(BEGIN_INITIALIZATION, 0).status());
        assertEquals(STATUS_SUCCESS, call(QUERY_PROTOCOL_VERSION, version).status());
        assertEquals(STATUS_SUCCESS, call(QUERY_PROPERTIES, 0).status());
        assertEquals(STATUS_SUCCESS, call(END_INITIALIZATION, 0).status());
        assertTrue(vsp.isReady());
    }

    /** Lays out an SRB in {@link #out}: LUN, CDB, direction, transfer length; returns the payload length. */
    int srb(int version, int path, int targetId, int lun, byte[] cdb, int dataIn, long transferLength) {
        out.fill((byte) 0);
        out.set(INT, 0, EXECUTE_SRB);
        out.set(INT, 4, REQUEST_COMPLETION_FLAG);
        int b = HEADER_LENGTH;
        out.set(SHORT, b + SRB_LENGTH, (short) srbLength(version));
        out.set(ValueLayout.JAVA_BYTE, b + SRB_PATH, (byte) path);
        out.set(ValueLayout.JAVA_BYTE, b + SRB_TARGET, (byte) targetId);
        out.set(ValueLayout.JAVA_BYTE, b + SRB_LUN, (byte) lun);
        out.set(ValueLayout.JAVA_BYTE, b + SRB_CDB_LENGTH, (byte) cdb.length);
        out.set(ValueLayout.JAVA_BYTE, b + SRB_SENSE_LENGTH, (byte) senseLength(version));
        out.set(ValueLayout.JAVA_BYTE, b + SRB_DATA_IN, (byte) dataIn);
        out.set(INT, b + SRB_TRANSFER_LENGTH, (int) transferLength);
        MemorySegment.copy(cdb, 0, out, ValueLayout.JAVA_BYTE, b + SRB_CDB, Math.min(cdb.length, 16));
        return HEADER_LENGTH + srbLength(version);
    }

    /** An SRB moving {@code bytes} at {@link #DATA}; waits for its answer. */
    Answer execute(int version, int lun, byte[] cdb, int dataIn, int bytes) throws Exception {
        int length = srb(version, 0, 0, lun, cdb, dataIn, bytes);
        long id = bytes == 0 ? sendInBand(length) : sendGpa(new GpaRangeList().addBuffer(DATA, bytes), length);
        return answer(id);
    }

    /** Waits for the completion of {@code id}, skipping in-band messages. */
    Answer answer(long id) throws Exception {
        while (true) {
            assertTrue(channel.receive(packet, WAIT.toMillis(), TimeUnit.MILLISECONDS), "no answer from the VSP");
            if (packet.type() == PacketType.COMPLETION && packet.transactionId() == id) {
                break;
            }
        }
        VmbusPacket p = packet;
        int len = p.payloadLength();
        int b = HEADER_LENGTH;
        boolean srb = len >= HEADER_LENGTH + SRB_LENGTH_V1;
        int senseLength = srb ? p.payloadByte(b + SRB_SENSE_LENGTH) & 0xFF : 0;
        return new Answer(p.payloadInt(0), p.payloadInt(8),
                srb ? p.payloadByte(b + SRB_SRB_STATUS) & 0xFF : -1,
                srb ? p.payloadByte(b + SRB_SCSI_STATUS) & 0xFF : -1,
                senseLength,
                senseLength >= 14 ? p.payloadByte(b + SRB_SENSE + 2) & 0x0F : -1,
                senseLength >= 14 ? p.payloadByte(b + SRB_SENSE + 12) & 0xFF : -1,
                senseLength >= 14 ? p.payloadByte(b + SRB_SENSE + 13) & 0xFF : -1,
                srb ? p.payloadInt(b + SRB_TRANSFER_LENGTH) : -1,
                len,
                len >= HEADER_LENGTH + 2 ? Short.toUnsignedInt(p.payloadShort(HEADER_LENGTH)) : -1,
                len >= HEADER_LENGTH + 16 ? p.payloadInt(HEADER_LENGTH + PROPERTIES_MAX_TRANSFER) : -1);
    }

    /** Waits until the channel is closed by the parent; returns why. */
    String awaitClosed() throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (channel.isOpen()) {
            try {
                channel.receive(packet, 50, TimeUnit.MILLISECONDS);
            } catch (ChannelClosedException e) {
                break;
            }
            assertTrue(System.nanoTime() < deadline, "the channel stays open");
        }
        return channel.closure().toString();
    }

    static byte[] read16(long lba, int blocks) {
        byte[] cdb = new byte[16];
        cdb[0] = (byte) 0x88;
        for (int i = 0; i < 8; i++) {
            cdb[2 + i] = (byte) (lba >>> (56 - 8 * i));
        }
        for (int i = 0; i < 4; i++) {
            cdb[10 + i] = (byte) (blocks >>> (24 - 8 * i));
        }
        return cdb;
    }

    static byte[] write16(long lba, int blocks) {
        byte[] cdb = read16(lba, blocks);
        cdb[0] = (byte) 0x8A;
        return cdb;
    }

    @Override
    public void close() {
        server.close();
        memory.close();
    }
}
