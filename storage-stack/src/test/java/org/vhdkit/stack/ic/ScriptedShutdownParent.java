package org.vhdkit.stack.ic;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.vhdkit.stack.bus.WorkerBus;
import org.vhdkit.stack.protocol.ic.IcHeader;
import org.vhdkit.stack.protocol.ic.IcMessage;
import org.vhdkit.stack.protocol.ic.Negotiate;
import org.vhdkit.stack.protocol.ic.ShutdownMessage;
import org.vhdkit.stack.protocol.vmbus.PacketType;
import org.vhdkit.stack.vm.DeviceProvider;
import org.vhdkit.stack.vm.VmException;
import org.vhdkit.stack.vm.VmWorker;
import org.vhdkit.stack.vmbus.ChannelOffer;
import org.vhdkit.stack.vmbus.ParentChannel;
import org.vhdkit.stack.vmbus.VmbusDevice;
import org.vhdkit.stack.vmbus.VmbusException;
import org.vhdkit.stack.vmbus.VmbusPacket;
import org.vhdkit.stack.vmbus.VmbusServer;

/**
 * A parent that offers the shutdown channel in place of {@link IntegrationServices} and, when the
 * guest opens it, plays a script instead of {@link ShutdownIc}'s protocol: the odd or hostile host
 * the guest library ({@code ShutdownGuest}) must cope with or refuse. It records every message the
 * guest sends back. One provider serves one VM.
 *
 * <p>Thread-safety: the script and the recording run on the channel's consumer thread; the test
 * thread reads {@link #answers} and {@link #channel()} through their own synchronization.
 */
final class ScriptedShutdownParent implements DeviceProvider, VmbusDevice {
    /** What the parent sends when the guest opens the channel (on the consumer thread). */
    @FunctionalInterface
    interface Script {
        void play(ParentChannel channel) throws VmbusException;
    }

    private final Script script;
    private final CompletableFuture<ParentChannel> opened = new CompletableFuture<>();
    /** The guest's answers, one for each in-band packet it sent. */
    final BlockingQueue<Answer> answers = new LinkedBlockingQueue<>();

    ScriptedShutdownParent(Script script) {
        this.script = script;
    }

    @Override
    public void attach(VmWorker worker) throws IOException {
        try {
            WorkerBus.of(worker, VmbusServer.DEFAULT_POLL).offer(ChannelOffer.SHUTDOWN,
                    IntegrationServices.SHUTDOWN_INSTANCE, this);
        } catch (VmbusException e) {
            throw new VmException("cannot offer the scripted shutdown channel: " + e.getMessage(), e);
        }
    }

    @Override
    public void opened(ParentChannel channel) throws VmbusException {
        opened.complete(channel);
        script.play(channel);
    }

    @Override
    public void packet(ParentChannel channel, VmbusPacket packet) {
        byte[] payload = new byte[packet.payloadLength()];
        packet.copyPayload(0, MemorySegment.ofArray(payload), 0, payload.length);
        answers.add(new Answer(packet.type(), packet.transactionId(), payload));
    }

    /** The channel the guest opened, once it did. */
    ParentChannel channel() throws Exception {
        return opened.get(IcVms.WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    /** The guest's next answer: fails if none comes within {@link IcVms#WAIT}. */
    Answer nextAnswer() throws Exception {
        Answer a = answers.poll(IcVms.WAIT.toSeconds(), TimeUnit.SECONDS);
        assertTrue(a != null, "the guest did not answer");
        return a;
    }

    /** One packet of the guest: its type, its VMBus transaction id and its payload (a message). */
    record Answer(PacketType type, long transactionId, byte[] bytes) {
        /** The message's headers, checked as the parent checks them (pipe header included). */
        IcHeader header() throws Exception {
            return IcHeader.decode(MemorySegment.ofArray(bytes), bytes.length, true);
        }

        Negotiate negotiate() throws Exception {
            return Negotiate.decode(MemorySegment.ofArray(bytes), header().payloadSize());
        }

        ShutdownMessage shutdown() throws Exception {
            return ShutdownMessage.decode(MemorySegment.ofArray(bytes), header().payloadSize(), IcMessage.MESSAGE_BYTES);
        }
    }

    // ---- what a script sends ----

    /** Sends {@code message} in band as transaction {@code transaction}; the fresh ring has room for a script's few. */
    static void send(ParentChannel channel, long transaction, byte[] message) throws VmbusException {
        assertTrue(channel.trySendInBand(transaction, false, MemorySegment.ofArray(message), 0, message.length),
                "no room in the guest's ring");
    }

    /** A negotiation request for transaction {@code transaction} offering {@code frames} and {@code messages}. */
    static byte[] negotiation(int transaction, int[] frames, int[] messages) {
        MemorySegment m = MemorySegment.ofArray(new byte[IcMessage.MAX_MESSAGE]);
        int payload = new Negotiate(frames, messages).encode(m);
        int length = new IcHeader(IcMessage.FRAMEWORK_3_0, IcMessage.TYPE_NEGOTIATE, IcMessage.FRAMEWORK_3_0, payload,
                IcMessage.S_OK, transaction, IcMessage.REQUEST).encode(m);
        return m.asSlice(0, length).toArray(ValueLayout.JAVA_BYTE);
    }

    /** The negotiation {@link ShutdownIc} sends: framework 3.0, shutdown 3.0 and 1.0. */
    static byte[] negotiation(int transaction) {
        return negotiation(transaction, IcMessage.FRAMEWORK_VERSIONS, IcMessage.SHUTDOWN_VERSIONS);
    }

    /** A shutdown request of message version {@code version}. */
    static byte[] shutdownRequest(int transaction, int version, int reason, int timeoutSeconds, int flags,
            String message) {
        MemorySegment m = MemorySegment.ofArray(new byte[IcMessage.MAX_MESSAGE]);
        int payload = new ShutdownMessage(reason, timeoutSeconds, flags, message).encode(m);
        int length = new IcHeader(IcMessage.FRAMEWORK_3_0, IcMessage.TYPE_SHUTDOWN, version, payload, IcMessage.S_OK,
                transaction, IcMessage.REQUEST).encode(m);
        return m.asSlice(0, length).toArray(ValueLayout.JAVA_BYTE);
    }

    /** Headers of {@code type} announcing {@code payloadSize} bytes, followed by {@code payloadSize} zero bytes. */
    static byte[] message(int type, int version, int payloadSize, int flags) {
        byte[] bytes = new byte[IcMessage.HEADER + payloadSize];
        new IcHeader(IcMessage.FRAMEWORK_3_0, type, version, payloadSize, IcMessage.S_OK, 1, flags)
                .encode(MemorySegment.ofArray(bytes));
        return bytes;
    }

    /** {@code bytes} with the {@code size} little-endian bytes at {@code at} set to {@code value}. */
    static byte[] put(byte[] bytes, int at, int value, int size) {
        for (int i = 0; i < size; i++) {
            bytes[at + i] = (byte) (value >>> (8 * i));
        }
        return bytes;
    }
}
