package org.vhdkit.stack.guest.ic;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.vhdkit.stack.guest.GuestPages;
import org.vhdkit.stack.guest.storvsc.StorvscException;
import org.vhdkit.stack.guest.vmbus.GuestChannel;
import org.vhdkit.stack.guest.vmbus.VmbusGuest;
import org.vhdkit.stack.protocol.ic.IcMessage;
import org.vhdkit.stack.partition.GuestContext;
import org.vhdkit.stack.protocol.ProtocolException;
import org.vhdkit.stack.protocol.ic.IcHeader;
import org.vhdkit.stack.protocol.ic.IcMessage;
import org.vhdkit.stack.protocol.ic.Negotiate;
import org.vhdkit.stack.protocol.ic.ShutdownMessage;
import org.vhdkit.stack.vmbus.ChannelClosedException;
import org.vhdkit.stack.vmbus.ChannelOffer;
import org.vhdkit.stack.protocol.vmbus.PacketType;
import org.vhdkit.stack.vmbus.VmbusException;
import org.vhdkit.stack.vmbus.VmbusPacket;

/**
 * The guest's shutdown integration service: what a guest program runs to answer the parent's
 * shutdown requests over VMBus (the guest side of {@link IntegrationServices}). It opens the
 * partition's {@link ChannelOffer#SHUTDOWN} channel with its rings in {@link #RING_PAGES} pages from
 * the program's {@link GuestPages}, answers the parent's version negotiation, and hands each
 * shutdown request to a {@link Handler}, which decides; the default accepts and powers the VM off.
 *
 * <pre>{@code
 * try (ShutdownGuest shutdown = ShutdownGuest.open(ctx, pages)) {
 *     shutdown.serve();                        // answers until a shutdown powers the VM off
 * }
 * // or, between pieces of work:
 * shutdown.poll(request -> {
 *     disk.flush();  ...                       // tidy up
 *     return ShutdownGuest.Answer.accept();    // answered, then ctx.powerOff()
 * });
 * }</pre>
 *
 * <p>Every wait runs through {@link GuestContext#blocking} (a safe point: the VM can pause or stop
 * the processor while it waits). After a save and resume the program opens the service again: the
 * parent keeps no channel through a save.
 *
 * <p>Thread-safety: confined to the virtual processor whose context opened it.
 */
public final class ShutdownGuest implements AutoCloseable {
    /** The guest pages the channel's rings take: 3 to the parent, 3 from it (a control page and two data pages each). */
    public static final int RING_PAGES = 6;

    /** A shutdown request: the parent's reason code, how long it waits, its flags and its message. */
    public record Request(int reasonCode, int timeoutSeconds, int flags, String message) {
        /** Whether the parent asked for a forced shutdown. */
        public boolean force() {
            return (flags & IcMessage.SHUTDOWN_FLAG_FORCE) != 0;
        }

        /** Whether the parent asked for a restart. */
        public boolean restart() {
            return (flags & IcMessage.SHUTDOWN_FLAG_RESTART) != 0;
        }
    }

    /**
     * The guest's answer: accepted or refused (with a reason the host shows), and, when accepted,
     * whether the library powers the VM off right after answering.
     */
    public record Answer(boolean accepted, boolean powerOff, String reason) {
        public Answer {
            Objects.requireNonNull(reason, "reason");
            if (powerOff && !accepted) {
                throw new IllegalArgumentException("a refused shutdown does not power off");
            }
        }

        /** Accepted; the library powers the VM off after answering. */
        public static Answer accept() {
            return new Answer(true, true, "");
        }

        /** Accepted; the program powers off itself ({@link GuestContext#powerOff()}) once it is done. */
        public static Answer acceptAndReturn() {
            return new Answer(true, false, "");
        }

        /** Refused, for {@code reason}. */
        public static Answer refuse(String reason) {
            return new Answer(false, false, reason);
        }
    }

    /** Decides what to do with a shutdown request. Runs on the serving processor. */
    @FunctionalInterface
    public interface Handler {
        /** Accepts every request and powers off. */
        Handler POWER_OFF = request -> Answer.accept();

        /** The answer to {@code request}; throwing refuses it (the message goes to the host) and ends the serve. */
        Answer shutdownRequested(Request request) throws Exception;
    }

    private final GuestContext ctx;
    private final GuestChannel channel;
    private final VmbusPacket packet = new VmbusPacket();
    private final byte[] in = new byte[IcMessage.MAX_MESSAGE];
    private final MemorySegment inSegment = MemorySegment.ofArray(in);
    private final MemorySegment out = MemorySegment.ofArray(new byte[IcMessage.MAX_MESSAGE]);
    private int messageVersion; // 0 until negotiated
    private long requests;
    /** Set once an accepted request powers the VM off: the channel is left for the parent to close. */
    private boolean poweringOff;

    private ShutdownGuest(GuestContext ctx, GuestChannel channel) {
        this.ctx = ctx;
        this.channel = channel;
    }

    /**
     * Opens the shutdown channel the parent offers the guest of {@code ctx}, its rings in
     * {@link #RING_PAGES} pages taken from {@code pages}.
     *
     * @throws IcException when the partition has no VMBus (integration components off), the parent
     *     offers no shutdown channel, the pages run out or the channel does not open
     */
    public static ShutdownGuest open(GuestContext ctx, GuestPages pages) throws IcException {
        Objects.requireNonNull(ctx, "ctx");
        Objects.requireNonNull(pages, "pages");
        VmbusGuest bus = VmbusGuest.of(ctx).orElseThrow(() -> new IcException(
                "the partition has no VMBus: are its integration components on?"));
        ChannelOffer offer = bus.offer(ChannelOffer.SHUTDOWN).orElseThrow(() -> new IcException(
                "the parent offers no shutdown integration channel (is IntegrationServices among the hypervisor's"
                        + " device providers?)"));
        long gpa;
        try {
            gpa = pages.allocate(RING_PAGES);
        } catch (StorvscException e) {
            throw new IcException("no pages for the shutdown channel's rings: " + e.getMessage(), e);
        }
        try {
            return new ShutdownGuest(ctx, bus.open(offer, GuestPages.frames(gpa, RING_PAGES), RING_PAGES / 2));
        } catch (VmbusException e) {
            throw new IcException("cannot open the shutdown channel: " + e.getMessage(), e);
        }
    }

    /** The shutdown message version agreed with the parent ("3.0"), once negotiated. */
    public Optional<String> version() {
        return messageVersion == 0 ? Optional.empty() : Optional.of(IcMessage.describe(messageVersion));
    }

    /** How many shutdown requests were answered. */
    public long requests() {
        return requests;
    }

    /** The channel, for diagnostics. */
    public GuestChannel channel() {
        return channel;
    }

    /** Answers the parent forever: shutdown requests are accepted and the VM powers off. Returns only by throwing. */
    public void serve() throws IcException {
        while (true) {
            serve(Handler.POWER_OFF, Duration.ofDays(366));
        }
    }

    /**
     * Answers what the parent sends for up to {@code timeout}: negotiation, and shutdown requests
     * through {@code handler}. Returns true as soon as a request was accepted (if the answer says
     * power off, the VM is powered off instead and this does not return), false when the time
     * passed without one. A refused request is answered and the serve goes on.
     *
     * @throws IcException when the channel closed, the parent sent what the library cannot read, or
     *     the handler threw (the request is then refused)
     */
    public boolean serve(Handler handler, Duration timeout) throws IcException {
        Objects.requireNonNull(handler, "handler");
        long nanos = timeout.isNegative() ? 0 : timeout.compareTo(Duration.ofDays(365)) > 0 ? Long.MAX_VALUE
                : timeout.toNanos();
        long deadline = nanos == Long.MAX_VALUE ? Long.MAX_VALUE : System.nanoTime() + nanos;
        while (true) {
            long left = deadline == Long.MAX_VALUE ? Long.MAX_VALUE : deadline - System.nanoTime();
            if (!receive(Math.max(0, left))) {
                return false;
            }
            if (handle(handler)) {
                return true;
            }
        }
    }

    /** Answers what the parent has sent already, without waiting; true if a shutdown request was accepted (see {@link #serve(Handler, Duration)}). */
    public boolean poll(Handler handler) throws IcException {
        Objects.requireNonNull(handler, "handler");
        while (receive(0)) {
            if (handle(handler)) {
                return true;
            }
        }
        return false;
    }

    private boolean receive(long nanos) throws IcException {
        try {
            if (nanos == 0) {
                return channel.tryReceive(packet);
            }
            return ctx.blocking(() -> nanos == Long.MAX_VALUE ? receiveForever()
                    : channel.receive(packet, nanos, TimeUnit.NANOSECONDS));
        } catch (ChannelClosedException e) {
            throw new IcException("the shutdown channel closed: " + e.closure(), e);
        }
    }

    private boolean receiveForever() throws ChannelClosedException, InterruptedException {
        channel.receive(packet);
        return true;
    }

    /** Answers the packet just received; true if it was an accepted shutdown request. */
    private boolean handle(Handler handler) throws IcException {
        if (packet.type() != PacketType.IN_BAND) {
            throw new IcException("the parent sent a " + packet.type() + " packet on the shutdown channel");
        }
        int available = packet.payloadLength();
        if (available < IcMessage.HEADER || available > in.length) {
            throw new IcException("the parent sent a message of " + available + " bytes on the shutdown channel");
        }
        packet.copyPayload(0, inSegment, 0, available);
        IcHeader header;
        try {
            header = IcHeader.decode(inSegment, available, false);
        } catch (ProtocolException e) {
            throw new IcException("the parent sent a malformed message: " + e.getMessage(), e);
        }
        int payloadSize = header.payloadSize();
        int type = header.type();
        int flags = header.flags();
        if (flags != IcMessage.REQUEST) {
            throw new IcException("the parent sent a malformed message (flags " + flags + ", payload " + payloadSize
                    + " of " + available + " bytes)");
        }
        int transaction = header.transaction();
        long vmbusTransaction = packet.transactionId();
        if (type == IcMessage.TYPE_NEGOTIATE) {
            negotiate(payloadSize, transaction, vmbusTransaction);
            return false;
        }
        if (type != IcMessage.TYPE_SHUTDOWN || messageVersion == 0 || payloadSize < IcMessage.SHUTDOWN_PAYLOAD) {
            throw new IcException("the parent sent message type " + type + " of " + payloadSize + " bytes"
                    + (messageVersion == 0 ? " before negotiating" : ""));
        }
        ShutdownMessage asked;
        try {
            asked = ShutdownMessage.decode(inSegment, payloadSize, IcMessage.MESSAGE_BYTES);
        } catch (ProtocolException e) {
            throw new IcException("the parent sent a malformed shutdown request: " + e.getMessage(), e);
        }
        Request request = new Request(asked.reason(), asked.timeoutSeconds(), asked.flags(), asked.message());
        Answer answer;
        Exception failure = null;
        try {
            answer = Objects.requireNonNull(handler.shutdownRequested(request), "the handler's answer");
        } catch (Exception e) {
            failure = e;
            answer = Answer.refuse("the guest's shutdown handler failed: " + e.getMessage());
        }
        int payload = new ShutdownMessage(0, 0, 0, answer.reason()).encode(out);
        int length = new IcHeader(IcMessage.FRAMEWORK_3_0, IcMessage.TYPE_SHUTDOWN, messageVersion, payload,
                answer.accepted() ? IcMessage.S_OK : IcMessage.E_FAIL, transaction, IcMessage.RESPONSE).encode(out);
        send(vmbusTransaction, length);
        requests++;
        if (failure != null) {
            throw new IcException("the shutdown handler failed: " + failure.getMessage(), failure);
        }
        if (answer.accepted() && answer.powerOff()) {
            poweringOff = true;
            ctx.powerOff();
        }
        return answer.accepted();
    }

    private void negotiate(int payloadSize, int transaction, long vmbusTransaction) throws IcException {
        Negotiate offered;
        try {
            offered = Negotiate.decode(inSegment, payloadSize);
        } catch (ProtocolException e) {
            throw new IcException("the parent sent " + e.problem(), e);
        }
        int frame = Negotiate.choose(IcMessage.FRAMEWORK_VERSIONS, offered.frameworkVersions());
        int message = Negotiate.choose(IcMessage.SHUTDOWN_VERSIONS, offered.messageVersions());
        boolean agreed = frame != 0 && message != 0;
        Negotiate chosen = agreed ? new Negotiate(new int[] {frame}, new int[] {message})
                : new Negotiate(new int[0], new int[0]);
        int payload = chosen.encode(out);
        int length = new IcHeader(IcMessage.FRAMEWORK_3_0, IcMessage.TYPE_NEGOTIATE, IcMessage.FRAMEWORK_3_0, payload,
                agreed ? IcMessage.S_OK : IcMessage.E_FAIL, transaction, IcMessage.RESPONSE).encode(out);
        send(vmbusTransaction, length);
        if (!agreed) {
            throw new IcException("the parent offers no shutdown version this guest speaks");
        }
        messageVersion = message;
    }

    private void send(long vmbusTransaction, int length) throws IcException {
        try {
            ctx.blocking(() -> {
                channel.sendInBand(vmbusTransaction, false, out, 0, length);
                return null;
            });
        } catch (ChannelClosedException e) {
            throw new IcException("the shutdown channel closed: " + e.closure(), e);
        }
    }

    /**
     * Closes the channel (the parent then refuses shutdown requests as for a guest not running the
     * service). After an accepted request powered the VM off this does nothing: the channel stays
     * for the parent to read the answer and close as the VM stops.
     */
    @Override
    public void close() {
        if (!poweringOff) {
            channel.close();
        }
    }

    @Override
    public String toString() {
        return "ShutdownGuest[" + channel + "]";
    }
}
