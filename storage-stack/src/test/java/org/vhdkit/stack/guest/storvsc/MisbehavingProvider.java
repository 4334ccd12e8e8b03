package org.vhdkit.stack.guest.storvsc;

import static org.vhdkit.stack.protocol.storage.StorageProtocol.COMPLETE_IO;
import static org.vhdkit.stack.protocol.storage.StorageProtocol.EXECUTE_SRB;
import static org.vhdkit.stack.protocol.storage.StorageProtocol.HEADER_LENGTH;
import static org.vhdkit.stack.protocol.storage.StorageProtocol.MAX_PACKET_LENGTH;
import static org.vhdkit.stack.protocol.storage.StorageProtocol.QUERY_PROTOCOL_VERSION;
import static org.vhdkit.stack.protocol.storage.StorageProtocol.SRB_STATUS_AUTOSENSE_VALID;
import static org.vhdkit.stack.protocol.storage.StorageProtocol.STATUS_SUCCESS;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.UUID;
import org.vhdkit.stack.bus.WorkerBus;
import org.vhdkit.stack.protocol.storage.PacketHeader;
import org.vhdkit.stack.protocol.storage.SrbView;
import org.vhdkit.stack.scsi.ScsiDisk;
import org.vhdkit.stack.scsi.ScsiTarget;
import org.vhdkit.stack.storvsp.StorVsp;
import org.vhdkit.stack.vm.DeviceProvider;
import org.vhdkit.stack.vmbus.ChannelClosure;
import org.vhdkit.stack.vmbus.ChannelOffer;
import org.vhdkit.stack.vmbus.ParentChannel;
import org.vhdkit.stack.vmbus.VmbusDevice;
import org.vhdkit.stack.vmbus.VmbusException;
import org.vhdkit.stack.vmbus.VmbusPacket;
import org.vhdkit.stack.vmbus.VmbusServer;
import org.vhdkit.vhd.disk.MemoryDisk;

/**
 * A storage provider that misbehaves on purpose: a real {@link StorVsp} with one memory disk at LUN
 * 0 answers every packet, except those its {@link Rule} takes; the rule answers them itself (with
 * {@link #answerInit} or {@link #answerSrb}), closes the channel, or changes the disks first.
 */
final class MisbehavingProvider implements VmbusDevice {
    /** What a packet asks for: its storage operation, and for EXECUTE_SRB its CDB and proposed version. */
    record Request(ParentChannel channel, VmbusPacket packet, int operation, int version, int opcode) {
    }

    /** Decides about each packet; returns true when it answered (or dropped) it, false to let StorVsp answer. */
    @FunctionalInterface
    interface Rule {
        boolean take(MisbehavingProvider provider, Request request) throws VmbusException, InterruptedException;
    }

    static final int BLOCKS = 2048;

    final ScsiTarget target = new ScsiTarget("misbehaving/scsi0", 64);
    final StorVsp vsp = StorVsp.create("misbehaving/scsi0", target);
    final MemoryDisk disk = MemoryDisk.create("lun0", BLOCKS * 512L);
    private final MemorySegment payload = MemorySegment.ofArray(new byte[MAX_PACKET_LENGTH]);
    private final Rule rule;

    MisbehavingProvider(Rule rule) {
        this.rule = rule;
        target.attach(0, ScsiDisk.of(disk, ScsiDisk.Settings.of(UUID.randomUUID())));
    }

    /** What a rule does with a packet it takes. */
    @FunctionalInterface
    interface Action {
        void run(MisbehavingProvider provider, Request request) throws VmbusException, InterruptedException;
    }

    /** A provider that takes the first EXECUTE_SRB with CDB opcode {@code opcode} and does {@code action} with it. */
    static MisbehavingProvider onceOn(int opcode, Action action) {
        java.util.concurrent.atomic.AtomicBoolean first = new java.util.concurrent.atomic.AtomicBoolean(true);
        return new MisbehavingProvider((p, r) -> {
            if (r.operation() != EXECUTE_SRB || r.opcode() != opcode || !first.getAndSet(false)) {
                return false;
            }
            action.run(p, r);
            return true;
        });
    }

    /** A provider that answers every request of {@code operation} itself, with {@code ntStatus}. */
    static MisbehavingProvider answering(int operation, int ntStatus) {
        return new MisbehavingProvider((p, r) -> {
            if (r.operation() != operation) {
                return false;
            }
            p.answerInit(r, ntStatus);
            return true;
        });
    }

    /** The provider that offers this device on the VM's VMBus. */
    DeviceProvider provider() {
        return worker -> {
            try {
                WorkerBus.of(worker, VmbusServer.DEFAULT_POLL).offer(ChannelOffer.STORAGE, UUID.randomUUID(), this);
            } catch (VmbusException e) {
                throw new java.io.IOException(e);
            }
        };
    }

    @Override
    public void opened(ParentChannel channel) throws VmbusException {
        vsp.opened(channel);
    }

    @Override
    public void packet(ParentChannel channel, VmbusPacket packet) throws VmbusException, InterruptedException {
        int length = Math.min(packet.payloadLength(), MAX_PACKET_LENGTH);
        payload.fill((byte) 0);
        packet.copyPayload(0, payload, 0, length);
        int operation = length >= HEADER_LENGTH ? PacketHeader.operation(payload, 0) : -1;
        int version = operation == QUERY_PROTOCOL_VERSION
                ? payload.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), HEADER_LENGTH) & 0xFFFF : -1;
        int opcode = operation == EXECUTE_SRB ? new SrbView(payload, HEADER_LENGTH).cdbSenseByte(0) : -1;
        if (!rule.take(this, new Request(channel, packet, operation, version, opcode))) {
            vsp.packet(channel, packet);
        }
    }

    @Override
    public void closed(ParentChannel channel, ChannelClosure closure) {
        vsp.closed(channel, closure);
    }

    /** Answers an initialization request with {@code ntStatus}. */
    void answerInit(Request r, int ntStatus) throws VmbusException, InterruptedException {
        MemorySegment answer = MemorySegment.ofArray(new byte[r.packet().payloadLength()]);
        PacketHeader.write(answer, 0, COMPLETE_IO, 0, ntStatus);
        r.channel().sendCompletion(r.packet().transactionId(), answer, 0, (int) answer.byteSize());
    }

    /** Answers an EXECUTE_SRB with {@code srbStatus} and {@code scsiStatus}, nothing moved, and fixed sense when given. */
    void answerSrb(Request r, int srbStatus, int scsiStatus, int senseKey, int asc, int ascq)
            throws VmbusException, InterruptedException {
        int length = r.packet().payloadLength();
        MemorySegment answer = MemorySegment.ofArray(new byte[length]);
        r.packet().copyPayload(0, answer, 0, length);
        PacketHeader.write(answer, 0, COMPLETE_IO, 0, STATUS_SUCCESS);
        SrbView srb = new SrbView(answer, HEADER_LENGTH);
        srb.dataTransferLength(0).scsiStatus(scsiStatus).senseInfoLength(0).srbStatus(srbStatus);
        if (senseKey >= 0) {
            byte[] sense = new byte[18];
            sense[0] = 0x70;
            sense[2] = (byte) senseKey;
            sense[7] = 10;
            sense[12] = (byte) asc;
            sense[13] = (byte) ascq;
            srb.cdbSense(sense, 0, sense.length).senseInfoLength(sense.length)
                    .srbStatus(srbStatus | SRB_STATUS_AUTOSENSE_VALID);
        }
        r.channel().sendCompletion(r.packet().transactionId(), answer, 0, length);
    }
}
