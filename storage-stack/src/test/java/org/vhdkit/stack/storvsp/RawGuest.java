package org.vhdkit.stack.storvsp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.stack.protocol.storage.StorageProtocol.*;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.vhdkit.stack.guest.vmbus.GuestChannel;
import org.vhdkit.stack.guest.vmbus.VmbusGuest;
import org.vhdkit.stack.memory.GuestMemory;
import org.vhdkit.stack.protocol.storage.ChannelProperties;
import org.vhdkit.stack.protocol.storage.PacketHeader;
import org.vhdkit.stack.protocol.storage.ProtocolVersion;
import org.vhdkit.stack.protocol.storage.SrbLayout;
import org.vhdkit.stack.protocol.storage.SrbView;
import org.vhdkit.stack.scsi.ScsiDisk;
import org.vhdkit.stack.scsi.ScsiTarget;
import org.vhdkit.stack.vmbus.ChannelClosedException;
import org.vhdkit.stack.vmbus.ChannelOffer;
import org.vhdkit.stack.vmbus.GpaRangeList;
import org.vhdkit.stack.protocol.vmbus.PacketType;
import org.vhdkit.stack.vmbus.VmbusPacket;
import org.vhdkit.stack.vmbus.VmbusServer;
import org.vhdkit.vhd.disk.MemoryDisk;

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
    private final SrbView outSrb = new SrbView(out, HEADER_LENGTH);
    private final MemorySegment in = MemorySegment.ofArray(new byte[MAX_PACKET_LENGTH]);
    private final SrbView inSrb = new SrbView(in, HEADER_LENGTH);
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
        PacketHeader.write(out, 0, operation, REQUEST_COMPLETION_FLAG, STATUS_SUCCESS);
        new ProtocolVersion(version, 0).encode(out, HEADER_LENGTH);
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
        PacketHeader.write(out, 0, EXECUTE_SRB, REQUEST_COMPLETION_FLAG, STATUS_SUCCESS);
        SrbLayout layout = SrbLayout.of(version);
        outSrb.length(layout.length()).pathId(path).targetId(targetId).lun(lun).cdbLength(cdb.length)
                .senseInfoLength(layout.senseLength()).dataIn(dataIn).dataTransferLength((int) transferLength)
                .cdbSense(cdb, 0, Math.min(cdb.length, 16));
        return HEADER_LENGTH + layout.length();
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
        in.fill((byte) 0);
        p.copyPayload(0, in, 0, Math.min(len, MAX_PACKET_LENGTH));
        SrbView a = inSrb;
        boolean srb = len >= HEADER_LENGTH + SRB_LENGTH_V1;
        int senseLength = srb ? a.senseInfoLength() : 0;
        return new Answer(PacketHeader.operation(in, 0), PacketHeader.status(in, 0),
                srb ? a.srbStatus() : -1,
                srb ? a.scsiStatus() : -1,
                senseLength,
                senseLength >= 14 ? a.cdbSenseByte(2) & 0x0F : -1,
                senseLength >= 14 ? a.cdbSenseByte(12) : -1,
                senseLength >= 14 ? a.cdbSenseByte(13) : -1,
                srb ? (int) a.dataTransferLength() : -1,
                len,
                len >= HEADER_LENGTH + 2 ? Short.toUnsignedInt(in.get(SHORT, HEADER_LENGTH)) : -1,
                len >= HEADER_LENGTH + 16 ? ChannelProperties.maxTransferBytes(in, HEADER_LENGTH, len - HEADER_LENGTH) : -1);
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
