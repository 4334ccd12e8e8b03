package org.vhdkit.stack.ic;

import java.lang.System.Logger.Level;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.vhdkit.stack.protocol.ProtocolException;
import org.vhdkit.stack.protocol.ic.IcHeader;
import org.vhdkit.stack.protocol.ic.IcMessage;
import org.vhdkit.stack.protocol.ic.Negotiate;
import org.vhdkit.stack.protocol.ic.ShutdownMessage;
import org.vhdkit.stack.vm.ShutdownService;
import org.vhdkit.stack.vm.VmException;
import org.vhdkit.stack.vmbus.ChannelClosedException;
import org.vhdkit.stack.vmbus.ChannelClosedReason;
import org.vhdkit.stack.vmbus.ChannelClosure;
import org.vhdkit.stack.protocol.vmbus.PacketType;
import org.vhdkit.stack.vmbus.ParentChannel;
import org.vhdkit.stack.vmbus.VmbusDevice;
import org.vhdkit.stack.vmbus.VmbusException;
import org.vhdkit.stack.vmbus.VmbusPacket;

/**
 * The parent's end of the shutdown integration service for one VM: the device behind the VM's
 * {@link org.vhdkit.stack.vmbus.ChannelOffer#SHUTDOWN} offer, and the VM's {@link ShutdownService}.
 *
 * <p>When the guest opens the channel the parent sends a version negotiation (see
 * {@link IcMessage}); once the guest answered with versions the parent offered, the channel is ready.
 * {@link #requestShutdown(String, Duration)} sends a shutdown message and waits for the guest's
 * answer: accepted returns (the guest then powers off and the VM turns Off), refused throws with the
 * guest's reason. A guest that has not opened the channel is asked through the fallback service (the
 * VM's default {@code GuestShutdown}) if it listens there; otherwise the request is refused at once.
 *
 * <p>Everything the guest sends is checked against what the parent asked: a packet that is not an
 * in-band message of the layout, carries flags other than a response, names another transaction or
 * message type, or answers nothing the parent asked closes the channel
 * ({@link ChannelClosedReason#DEVICE_REFUSED}); the VM runs on, and the guest may open it again. An
 * answer arriving after the caller stopped waiting is dropped.
 *
 * <p>Thread-safety: the channel, the negotiation state and the request waiting for its answer are
 * guarded by {@code this}; the device callbacks run on the channel's consumer thread, the service
 * methods on any thread. Sends happen outside the lock.
 */
final class ShutdownIc implements VmbusDevice, ShutdownService {
    private static final System.Logger LOG = System.getLogger(ShutdownIc.class.getName());
    /** The timeout {@link #requestShutdown(String)} waits for an answer. */
    static final Duration DEFAULT_ANSWER_WAIT = Duration.ofSeconds(30);
    /** The most characters of the guest's reason kept for messages. */
    static final int MAX_REASON_CHARS = 200;

    private enum State { CLOSED, NEGOTIATING, READY }

    /** A request sent and not yet answered. */
    private static final class Pending {
        final int transaction;
        final int type;
        /** Set when answered: S_OK or E_FAIL. */
        boolean answered;
        int status;
        String reason = "";
        /** The caller gave up waiting; a late answer is dropped. */
        boolean abandoned;
        /** Why the channel closed before an answer came, or null. */
        ChannelClosure closedBy;

        Pending(int transaction, int type) {
            this.transaction = transaction;
            this.type = type;
        }
    }

    private final String vm;
    private final ShutdownService fallback;
    private final byte[] received = new byte[IcMessage.MAX_MESSAGE]; // consumer thread only

    private ParentChannel channel; // guarded by this
    private State state = State.CLOSED; // guarded by this
    private int messageVersion; // guarded by this
    private Pending pending; // guarded by this
    /** The transaction of a request whose caller stopped waiting before a newer one was sent, or -1. */
    private int abandonedTransaction = -1; // guarded by this
    private int nextTransaction; // guarded by this

    /** The service for VM {@code vm}; {@code fallback} (may be null) serves guests that never open the channel. */
    ShutdownIc(String vm, ShutdownService fallback) {
        this.vm = vm;
        this.fallback = fallback;
    }

    // ---- the channel (consumer thread) ----

    @Override
    public void opened(ParentChannel ch) throws VmbusException {
        MemorySegment m = MemorySegment.ofArray(new byte[IcMessage.MAX_MESSAGE]);
        int transaction;
        synchronized (this) {
            channel = ch;
            state = State.NEGOTIATING;
            transaction = next();
            pending = new Pending(transaction, IcMessage.TYPE_NEGOTIATE);
        }
        int payload = new Negotiate(IcMessage.FRAMEWORK_VERSIONS, IcMessage.SHUTDOWN_VERSIONS).encode(m);
        int length = new IcHeader(IcMessage.FRAMEWORK_3_0, IcMessage.TYPE_NEGOTIATE, IcMessage.FRAMEWORK_3_0, payload,
                IcMessage.S_OK, transaction, IcMessage.REQUEST).encode(m);
        if (!ch.trySendInBand(transaction, false, m, 0, length)) {
            throw new VmbusException(ChannelClosedReason.DEVICE_CLOSED, "no room in a fresh ring for the negotiation");
        }
    }

    @Override
    public void packet(ParentChannel ch, VmbusPacket packet) throws VmbusException {
        if (packet.type() != PacketType.IN_BAND) {
            throw refuse("a " + packet.type() + " packet; the shutdown service takes in-band messages only");
        }
        int available = packet.payloadLength();
        if (available > received.length) {
            throw refuse("a message of " + available + " bytes; the longest answer is " + received.length);
        }
        MemorySegment m = MemorySegment.ofArray(received);
        packet.copyPayload(0, m, 0, available);
        IcHeader header;
        try {
            header = IcHeader.decode(m, available, true);
        } catch (ProtocolException e) {
            throw refuse(e.problem());
        }
        int frame = header.frameworkVersion();
        int type = header.type();
        int version = header.messageVersion();
        int status = header.status();
        int transaction = header.transaction();
        int flags = header.flags();
        int payloadSize = header.payloadSize();
        if (flags != IcMessage.RESPONSE) {
            throw refuse(String.format("message flags 0x%x; the guest sends answers (0x%x) only", flags,
                    IcMessage.RESPONSE));
        }
        if (status != IcMessage.S_OK && status != IcMessage.E_FAIL) {
            throw refuse(String.format("status 0x%08x; answers are S_OK or E_FAIL", status));
        }
        if (frame != IcMessage.FRAMEWORK_3_0) {
            throw refuse("framework version " + IcMessage.describe(frame) + "; the parent speaks "
                    + IcMessage.describe(IcMessage.FRAMEWORK_3_0));
        }
        synchronized (this) {
            Pending p = pending;
            if (type == IcMessage.TYPE_SHUTDOWN && transaction == abandonedTransaction
                    && (p == null || p.transaction != transaction)) {
                abandonedTransaction = -1; // a late answer to a request the host gave up on
                LOG.log(Level.INFO, "''{0}'': dropped a late answer to a shutdown request", vm);
                return;
            }
            if (p == null || p.transaction != transaction || p.type != type) {
                throw refuse("an answer to transaction " + transaction + " of type " + type + ", which the parent"
                        + (p == null ? " did not ask" : " did not ask (it waits for transaction " + p.transaction
                                + " of type " + p.type + ")"));
            }
            if (type == IcMessage.TYPE_NEGOTIATE) {
                negotiated(ch, m, version, status, payloadSize);
            } else {
                answered(p, m, version, status, payloadSize);
            }
        }
    }

    /** The guest answered the version negotiation. Holds the lock. */
    private void negotiated(ParentChannel ch, MemorySegment m, int version, int status, int payloadSize)
            throws VmbusException {
        if (version != IcMessage.FRAMEWORK_3_0) {
            throw refuse("a negotiation answer of version " + IcMessage.describe(version));
        }
        if (status != IcMessage.S_OK) {
            pending = null;
            ch.close(ChannelClosedReason.DEVICE_CLOSED, "the guest supports none of the shutdown versions offered");
            return;
        }
        if (payloadSize != 8 + 8) {
            throw refuse("a negotiation answer of " + payloadSize + " bytes; it names one framework and one"
                    + " message version (16 bytes)");
        }
        Negotiate answer;
        try {
            answer = Negotiate.decode(m, payloadSize);
        } catch (ProtocolException e) {
            throw refuse(e.problem());
        }
        int[] frames = answer.frameworkVersions();
        int[] messages = answer.messageVersions();
        if (frames.length != 1 || messages.length != 1 || !offered(IcMessage.FRAMEWORK_VERSIONS, frames[0])
                || !offered(IcMessage.SHUTDOWN_VERSIONS, messages[0])) {
            throw refuse("a negotiation answer choosing " + answer + ", not one of each of those offered");
        }
        int message = messages[0];
        messageVersion = message;
        pending = null;
        state = State.READY;
        notifyAll();
    }

    private static boolean offered(int[] versions, int v) {
        for (int o : versions) {
            if (o == v) {
                return true;
            }
        }
        return false;
    }

    /** The guest answered a shutdown request. Holds the lock. */
    private void answered(Pending p, MemorySegment m, int version, int status, int payloadSize) throws VmbusException {
        if (state != State.READY || version != messageVersion) {
            throw refuse("a shutdown answer of version " + IcMessage.describe(version) + "; the channel agreed on "
                    + IcMessage.describe(messageVersion));
        }
        if (payloadSize != 0 && payloadSize != IcMessage.SHUTDOWN_PAYLOAD) {
            throw refuse("a shutdown answer of " + payloadSize + " bytes; it carries none or "
                    + IcMessage.SHUTDOWN_PAYLOAD);
        }
        String reason = "";
        if (payloadSize != 0) {
            try {
                reason = ShutdownMessage.decode(m, payloadSize, MAX_REASON_CHARS).message();
            } catch (ProtocolException e) {
                throw refuse(e.problem());
            }
        }
        pending = null;
        if (p.abandoned) {
            LOG.log(Level.INFO, "''{0}'': the guest answered a shutdown request after the host stopped waiting ({1})",
                    vm, status == IcMessage.S_OK ? "accepted" : "refused");
            return;
        }
        p.answered = true;
        p.status = status;
        p.reason = reason;
        notifyAll();
    }

    @Override
    public void closed(ParentChannel ch, ChannelClosure closure) {
        synchronized (this) {
            if (channel == ch) {
                channel = null;
                state = State.CLOSED;
                if (pending != null) {
                    pending.closedBy = closure;
                }
                pending = null;
                abandonedTransaction = -1;
                notifyAll();
            }
        }
    }

    private VmbusException refuse(String what) {
        return new VmbusException(ChannelClosedReason.DEVICE_REFUSED, "the guest sent " + what);
    }

    private int next() {
        nextTransaction = (nextTransaction + 1) & 0xFF;
        return nextTransaction;
    }

    // ---- the service (any thread) ----

    /** Whether the guest has the channel open and agreed on a version. Thread-safe. */
    synchronized boolean ready() {
        return state == State.READY;
    }

    /** As {@link #requestShutdown(String, Duration)}, waiting {@link #DEFAULT_ANSWER_WAIT} for the answer. */
    @Override
    public void requestShutdown(String reason) throws VmException {
        requestShutdown(reason, DEFAULT_ANSWER_WAIT);
    }

    @Override
    public void requestShutdown(String reason, Duration timeout) throws VmException {
        long deadline = System.nanoTime() + Math.max(0, timeout.toNanos());
        ParentChannel ch;
        Pending p;
        int version;
        try {
            synchronized (this) {
                while (state == State.NEGOTIATING && deadline - System.nanoTime() > 0) {
                    TimeUnit.NANOSECONDS.timedWait(this, deadline - System.nanoTime());
                }
                if (state == State.NEGOTIATING) {
                    throw new VmException("cannot shut down '" + vm + "': its guest opened the shutdown channel but did"
                            + " not agree on a version within " + timeout.toMillis() + " ms; turn it off instead");
                }
                if (state == State.CLOSED) {
                    ch = null;
                    p = null;
                    version = 0;
                } else {
                    if (pending != null && !pending.abandoned) {
                        throw new VmException("cannot shut down '" + vm + "': a shutdown request is already waiting"
                                + " for its guest's answer");
                    }
                    if (pending != null) {
                        abandonedTransaction = pending.transaction;
                    }
                    ch = channel;
                    p = new Pending(next(), IcMessage.TYPE_SHUTDOWN);
                    pending = p;
                    version = messageVersion;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new VmException("stopped asking '" + vm + "' to shut down: interrupted");
        }
        if (ch == null) {
            fallBack(reason, timeout);
            return;
        }
        ask(ch, p, version, reason, timeout, deadline);
    }

    private void fallBack(String reason, Duration timeout) throws VmException {
        if (fallback != null) {
            try {
                fallback.requestShutdown(reason, timeout);
                return;
            } catch (VmException notListening) {
                // the guest listens on neither: refuse with what it lacks on VMBus
            }
        }
        throw new VmException("cannot shut down '" + vm + "': its guest has not opened the shutdown integration"
                + " channel on VMBus (its integration services are not running); turn it off instead");
    }

    private void ask(ParentChannel ch, Pending p, int version, String reason, Duration timeout, long deadline)
            throws VmException {
        MemorySegment m = MemorySegment.ofArray(new byte[IcMessage.MAX_MESSAGE]);
        int seconds = (int) Math.min(Integer.MAX_VALUE, Math.max(0, timeout.toSeconds()));
        int payload = new ShutdownMessage(0, seconds, 0, reason).encode(m);
        int length = new IcHeader(IcMessage.FRAMEWORK_3_0, IcMessage.TYPE_SHUTDOWN, version, payload, IcMessage.S_OK,
                p.transaction, IcMessage.REQUEST).encode(m);
        try {
            if (!ch.sendInBand(p.transaction, false, m, 0, length, Math.max(0, deadline - System.nanoTime()),
                    TimeUnit.NANOSECONDS)) {
                abandon(p);
                throw new VmException("cannot shut down '" + vm + "': its guest did not make room for the shutdown"
                        + " request within " + timeout.toMillis() + " ms; turn it off instead");
            }
            synchronized (this) {
                while (!p.answered && pending == p) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        p.abandoned = true;
                        throw new VmException("cannot shut down '" + vm + "': its guest did not answer the shutdown"
                                + " request within " + timeout.toMillis() + " ms; it is still Running (turn it off to"
                                + " stop it at once)");
                    }
                    TimeUnit.NANOSECONDS.timedWait(this, left);
                }
                if (!p.answered) {
                    if (p.closedBy != null && p.closedBy.reason() == ChannelClosedReason.PARTITION_STOPPED) {
                        return; // the VM is stopping (the guest may have answered and powered off at once)
                    }
                    throw new VmException("cannot shut down '" + vm + "': its guest closed the shutdown channel"
                            + " before answering (" + (p.closedBy == null ? "closed" : p.closedBy.reason())
                            + "); turn it off instead");
                }
                if (p.status != IcMessage.S_OK) {
                    throw new VmException("cannot shut down '" + vm + "': its guest refused"
                            + (p.reason.isEmpty() ? "" : ": " + p.reason) + "; it is still Running");
                }
            }
        } catch (ChannelClosedException e) {
            abandon(p);
            throw new VmException("cannot shut down '" + vm + "': its shutdown channel closed ("
                    + e.closure().reason() + "); turn it off instead");
        } catch (InterruptedException e) {
            abandon(p);
            Thread.currentThread().interrupt();
            throw new VmException("stopped asking '" + vm + "' to shut down: interrupted");
        }
    }

    private synchronized void abandon(Pending p) {
        p.abandoned = true;
    }

    @Override
    public String toString() {
        return "ShutdownIc[" + vm + "]";
    }
}
