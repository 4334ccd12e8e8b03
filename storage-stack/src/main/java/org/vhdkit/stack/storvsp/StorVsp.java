package org.vhdkit.stack.storvsp;

import static org.vhdkit.stack.protocol.storage.StorageProtocol.*;

import java.lang.System.Logger.Level;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.vhdkit.stack.memory.GuestMemoryException;
import org.vhdkit.stack.protocol.ProtocolException;
import org.vhdkit.stack.protocol.storage.ChannelProperties;
import org.vhdkit.stack.protocol.storage.PacketHeader;
import org.vhdkit.stack.protocol.storage.ProtocolVersion;
import org.vhdkit.stack.protocol.storage.SrbLayout;
import org.vhdkit.stack.protocol.storage.SrbView;
import org.vhdkit.stack.protocol.storage.StorageProtocol;
import org.vhdkit.stack.protocol.scsi.ScsiOpcodes;
import org.vhdkit.stack.scsi.LogicalUnit;
import org.vhdkit.stack.scsi.ScsiCommand;
import org.vhdkit.stack.scsi.ScsiStatus;
import org.vhdkit.stack.scsi.ScsiTarget;
import org.vhdkit.stack.scsi.Sense;
import org.vhdkit.stack.vmbus.ChannelClosedReason;
import org.vhdkit.stack.vmbus.ChannelClosure;
import org.vhdkit.stack.protocol.vmbus.PacketType;
import org.vhdkit.stack.vmbus.ParentChannel;
import org.vhdkit.stack.vmbus.VmbusDevice;
import org.vhdkit.stack.vmbus.VmbusException;
import org.vhdkit.stack.vmbus.VmbusPacket;

/**
 * The storage virtual service provider of one synthetic SCSI controller: the parent's end of the
 * controller's VMBus channel, speaking the {@link StorageProtocol} to the guest's StorVSC and
 * executing its SCSI request blocks through a {@link ScsiTarget} (every disk of the controller at
 * path 0, target 0, LUN = its slot, 0 to 63).
 *
 * <h2>Initialization</h2>
 * Strictly in order, as the protocol notes say: BEGIN_INITIALIZATION, QUERY_PROTOCOL_VERSION
 * (repeated until the guest proposes a version in {@link StorageProtocol#VERSIONS}; a refused one is
 * answered REVISION_MISMATCH and the step stays open, so the pair settles on the highest version
 * both support), QUERY_PROPERTIES (no sub-channels, 256 KiB per request), END_INITIALIZATION. A
 * known operation out of this order, or before initialization ended, is answered
 * STATUS_INVALID_DEVICE_STATE and not acted on; CREATE_SUB_CHANNELS is answered
 * STATUS_INVALID_PARAMETER (none are offered); an operation the parent never accepts from a guest
 * (COMPLETE_IO, ENUMERATE_BUS, ...) or does not know is answered STATUS_INVALID_DEVICE_REQUEST.
 * After END_INITIALIZATION the channel executes SRBs and the three resets (no-ops: nothing is ever
 * outstanding between two packets).
 *
 * <h2>An SRB</h2>
 * Checked before anything moves: the packet asks for a completion; its payload holds the header and
 * at least the version-1 SRB; its data transfer length equals the bytes of its GPA-direct ranges
 * (whose pages the ring reader has already checked against guest memory); its ranges fit the
 * command's scatter-gather list. A packet failing these is malformed: {@link #packet} throws
 * {@link VmbusException} ({@link ChannelClosedReason#DEVICE_REFUSED}) and the channel closes, this
 * one only. Then, answered without executing: a transfer over {@link StorageProtocol#MAX_TRANSFER_BYTES}
 * (SRB_STATUS_INVALID_REQUEST, CHECK CONDITION, INVALID FIELD IN CDB), a path other than 0, a target
 * other than 0, a LUN outside the target (INVALID_PATH_ID, INVALID_TARGET_ID, INVALID_LUN), a LUN
 * with no disk for anything but INQUIRY, REPORT LUNS and REQUEST SENSE (INVALID_LUN: a guest drops
 * the device), data with no direction (INVALID_REQUEST). Everything else executes through the
 * target, with the data moved straight between the disk and the guest's pages (the packet's runs
 * handed to one reused {@link ScsiCommand}), and is completed with the SRB status, SCSI status,
 * bytes transferred and, for a CHECK CONDITION, the fixed-format sense (autosense) cut to the
 * sense length the guest gave and the version allows.
 *
 * <h2>Threads and requests in flight</h2>
 * The channel's consumer thread reads each request and executes it to completion before it reads
 * the next, sending the completion itself: the guest keeps as many requests in flight as its ring
 * holds, and at queue depth 1 a request and its answer usually cost no signal (the consumer polls
 * before it parks). No thread is crossed per request and nothing is allocated per request in the
 * steady state (the command, the CDB copy, the request copy and the answer buffer are reused, and
 * the SRBs in them are read and written through one {@link SrbView} each, made with the session,
 * rather than decoded into an {@code Srb} record per request). A flush
 * (SYNCHRONIZE CACHE) holds the requests behind it until the host flush returns.
 *
 * <h2>Hot add and remove</h2>
 * {@link #hotAdd}/{@link #hotRemove} change the target (which posts REPORTED LUNS DATA HAS CHANGED
 * to the other disks) and send the guest ENUMERATE_BUS, as Hyper-V does from version 4.2 on, so a
 * controller whose only disk changed is rescanned too. {@link #hotRemove} returns once no command
 * runs on the disk any more, so the caller may close it.
 *
 * <h2>Save and restore: the honest model</h2>
 * What the provider keeps between requests is only whether a channel is open and the version
 * negotiated on it ({@link #state}). The VMBus server keeps no channel through save and restore, so
 * a restored guest opens the channel again and re-runs the initialization; the saved version is
 * kept for diagnostics and checked for sense. {@link #quiesce} closes the channel and waits for the
 * request being executed, so nothing touches the disk or guest memory after the state was taken.
 *
 * <p>Thread-safety: the {@link VmbusDevice} methods run on the channel's consumer thread. The other
 * methods may be called from any thread: the session of the open channel is published through an
 * {@link AtomicReference}; its initialization state and version are volatile, written only by the
 * consumer; the enumerate-bus announcement is claimed with an {@link AtomicBoolean}; sends are
 * serialized by the channel.
 */
public final class StorVsp implements VmbusDevice {
    private static final System.Logger LOG = System.getLogger(StorVsp.class.getName());
    /** The answer to QUERY_PROPERTIES: no sub-channels, {@link StorageProtocol#MAX_TRANSFER_BYTES} per request. */
    private static final ChannelProperties OFFERED_PROPERTIES = new ChannelProperties(0, 0, MAX_TRANSFER_BYTES);

    /** Scatter-gather entries of one command: every range split at most at each page, and then some. */
    static final int MAX_RUNS = 2 * VmbusPacket.MAX_GPA_RANGES + MAX_TRANSFER_BYTES / 4096 + 2;
    /** How long an announcement waits for room in the guest's ring before the consumer takes it over. */
    private static final long ANNOUNCE_WAIT_MILLIS = 100;

    private static final int BEGIN = 0;
    private static final int VERSION = 1;
    private static final int PROPERTIES = 2;
    private static final int END = 3;
    private static final int READY = 4;

    private final String name;
    private final ScsiTarget target;
    private final AtomicReference<Session> session = new AtomicReference<>();
    private final AtomicLong srbs = new AtomicLong();
    private final AtomicLong refused = new AtomicLong();
    private final AtomicLong announcements = new AtomicLong();

    /**
     * What the provider keeps: whether a channel is open and the version negotiated on it (0 while
     * initialization has not ended).
     */
    public record State(boolean open, int version) {
        public State {
            if (version != 0 && !isSupported(version)) {
                throw new IllegalArgumentException("protocol version 0x" + Integer.toHexString(version));
            }
        }
    }

    private StorVsp(String name, ScsiTarget target) {
        this.name = name;
        this.target = target;
    }

    /** A provider named {@code name} (for messages) serving {@code target}. Thread-safe. */
    public static StorVsp create(String name, ScsiTarget target) {
        return new StorVsp(Objects.requireNonNull(name, "name"), Objects.requireNonNull(target, "target"));
    }

    /** The controller's name. Thread-safe. */
    public String name() {
        return name;
    }

    /** The target the SRBs execute on. Thread-safe. */
    public ScsiTarget target() {
        return target;
    }

    /** Whether a channel is open and its initialization ended. Thread-safe. */
    public boolean isReady() {
        Session s = session.get();
        return s != null && s.state == READY && s.channel.isOpen();
    }

    /** The open channel's state. Thread-safe. */
    public State state() {
        Session s = session.get();
        boolean open = s != null && s.channel.isOpen();
        return new State(open, open && s.state == READY ? s.version : 0);
    }

    /** SRBs executed through the target, over every channel. Thread-safe. */
    public long requestsExecuted() {
        return srbs.get();
    }

    /** Requests answered with a refusal status (out of order, unknown, not acted on). Thread-safe. */
    public long requestsRefused() {
        return refused.get();
    }

    /** ENUMERATE_BUS messages sent to the guest. Thread-safe. */
    public long announcements() {
        return announcements.get();
    }

    /**
     * Puts {@code unit} at {@code lun} on a running controller and tells the guest (see the class
     * comment). Thread-safe.
     *
     * @throws IllegalArgumentException when the LUN is outside the target
     * @throws IllegalStateException when the LUN holds a unit
     */
    public void hotAdd(int lun, LogicalUnit unit) {
        target.hotAdd(lun, unit);
        announce();
    }

    /**
     * Takes the unit at {@code lun} away, tells the guest, and waits (up to {@code timeout}) until
     * no command runs on it, so the caller may close its disk. Returns the unit, or empty when the
     * LUN held none. Thread-safe.
     */
    public Optional<LogicalUnit> hotRemove(int lun, Duration timeout) throws InterruptedException {
        Optional<LogicalUnit> removed = target.hotRemove(lun);
        if (removed.isPresent()) {
            awaitIdle(timeout);
            announce();
        }
        return removed;
    }

    /**
     * Sends the guest ENUMERATE_BUS if its channel is initialized at version 4.2 or later; when its
     * ring has no room, the consumer sends it after the next request. Thread-safe.
     */
    public void announce() {
        Session s = session.get();
        if (s != null) {
            s.announce(true);
        }
    }

    /**
     * Waits up to {@code timeout} until the SRB executing at the time of the call (if any) has
     * finished; returns whether it did. Thread-safe.
     */
    public boolean awaitIdle(Duration timeout) throws InterruptedException {
        Session s = session.get();
        if (s == null) {
            return true;
        }
        long seen = s.executions;
        if ((seen & 1) == 0) {
            return true;
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        while (s.executions == seen) {
            if (System.nanoTime() - deadline >= 0) {
                return false;
            }
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
            Thread.onSpinWait();
            Thread.yield();
        }
        return true;
    }

    /**
     * Closes the open channel (the VM is being saved or turned off) and waits up to {@code timeout}
     * for its consumer to finish the request it executes; returns whether it did. Afterwards nothing
     * of this provider touches the disks or guest memory. Thread-safe.
     */
    public boolean quiesce(Duration timeout) throws InterruptedException {
        Session s = session.get();
        if (s == null) {
            return true;
        }
        s.channel.close(ChannelClosedReason.DEVICE_CLOSED, name + ": the VM is being saved or turned off");
        return s.exited.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    // ---- VmbusDevice, on the consumer thread ----

    @Override
    public void opened(ParentChannel channel) throws VmbusException {
        MemorySegment memory;
        try {
            memory = channel.memory().slice(0, channel.memory().size());
        } catch (GuestMemoryException e) {
            throw new VmbusException(ChannelClosedReason.MEMORY_FAULT, e.getMessage());
        }
        session.set(new Session(channel, memory));
    }

    @Override
    public void packet(ParentChannel channel, VmbusPacket packet) throws VmbusException, InterruptedException {
        Session s = session.get();
        if (s == null || s.channel != channel) {
            throw new IllegalStateException(name + ": a packet for a channel that is not open");
        }
        s.handle(packet);
        if (s.rescanPending.get()) {
            s.announce(false);
        }
    }

    @Override
    public void closed(ParentChannel channel, ChannelClosure closure) {
        Session s = session.get();
        if (s != null && s.channel == channel) {
            session.compareAndSet(s, null);
            s.exited.countDown();
        }
    }

    @Override
    public String toString() {
        return "StorVsp[" + name + ", " + state() + "]";
    }

    /** The state of one open channel. Confined to its consumer thread but for the volatile fields. */
    private final class Session {
        final ParentChannel channel;
        final MemorySegment guestMemory;
        final ScsiCommand command = new ScsiCommand(MAX_RUNS);
        final MemorySegment cdb = MemorySegment.ofArray(new byte[MAX_CDB_LENGTH]);
        /** The request's header and union, copied out of the packet before a field is read. */
        final MemorySegment request = MemorySegment.ofArray(new byte[MAX_PACKET_LENGTH]);
        final SrbView requestSrb = new SrbView(request, HEADER_LENGTH);
        final MemorySegment answer = MemorySegment.ofArray(new byte[MAX_PACKET_LENGTH]);
        final SrbView answerSrb = new SrbView(answer, HEADER_LENGTH);
        /** The ENUMERATE_BUS message; guarded by its own monitor. */
        final MemorySegment enumerate = MemorySegment.ofArray(new byte[MAX_PACKET_LENGTH]);
        final AtomicBoolean rescanPending = new AtomicBoolean();
        final CountDownLatch exited = new CountDownLatch(1);
        volatile int state = BEGIN;
        volatile int version;
        /** Odd while an SRB executes; written only by the consumer. */
        volatile long executions;

        Session(ParentChannel channel, MemorySegment guestMemory) {
            this.channel = channel;
            this.guestMemory = guestMemory;
        }

        void announce(boolean wait) {
            if (state != READY || version < VERSION_WIN7) {
                return;
            }
            rescanPending.set(true);
            if (!rescanPending.compareAndSet(true, false)) {
                return;
            }
            boolean sent = false;
            try {
                synchronized (enumerate) {
                    enumerate.fill((byte) 0);
                    PacketHeader.write(enumerate, 0, ENUMERATE_BUS, 0, STATUS_SUCCESS);
                    int length = HEADER_LENGTH + SrbLayout.of(version).length();
                    sent = wait
                            ? channel.sendInBand(0, false, enumerate, 0, length, ANNOUNCE_WAIT_MILLIS, TimeUnit.MILLISECONDS)
                            : channel.trySendInBand(0, false, enumerate, 0, length);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (VmbusException e) {
                return; // the channel closed: the guest will scan when it opens it again
            }
            if (sent) {
                announcements.incrementAndGet();
            } else {
                rescanPending.set(true);
            }
        }

        void handle(VmbusPacket p) throws VmbusException, InterruptedException {
            PacketType type = p.type();
            if (type != PacketType.IN_BAND && type != PacketType.GPA_DIRECT) {
                throw malformed("a " + type + " packet; storage requests are in-band or GPA-direct");
            }
            if (!p.completionRequested()) {
                throw malformed("a request that asks for no completion");
            }
            int length = p.payloadLength();
            if (length < HEADER_LENGTH) {
                throw malformed("a payload of " + length + " bytes, shorter than the " + HEADER_LENGTH + "-byte header");
            }
            request.fill((byte) 0);
            int copied = Math.min(length, MAX_PACKET_LENGTH);
            p.copyPayload(0, request, 0, copied);
            int operation = PacketHeader.operation(request, 0);
            if (operation == EXECUTE_SRB && state == READY) {
                executeSrb(p, length);
                return;
            }
            if (type == PacketType.GPA_DIRECT && operation != EXECUTE_SRB) {
                throw malformed(operationName(operation) + " with GPA ranges; only EXECUTE_SRB moves data");
            }
            int answerLength = Math.max(HEADER_LENGTH + SRB_LENGTH_V1, Math.min(length, MAX_PACKET_LENGTH));
            long id = p.transactionId();
            switch (operation) {
                case BEGIN_INITIALIZATION -> {
                    if (state != BEGIN) {
                        refuse(id, operation, answerLength, STATUS_INVALID_DEVICE_STATE);
                    } else {
                        state = VERSION;
                        answer(id, answerLength, STATUS_SUCCESS);
                    }
                }
                case QUERY_PROTOCOL_VERSION -> {
                    if (state != VERSION) {
                        refuse(id, operation, answerLength, STATUS_INVALID_DEVICE_STATE);
                        return;
                    }
                    ProtocolVersion asked;
                    try {
                        asked = ProtocolVersion.decode(request, HEADER_LENGTH, copied - HEADER_LENGTH);
                    } catch (ProtocolException e) {
                        throw malformed("QUERY_PROTOCOL_VERSION without its version");
                    }
                    int proposed = asked.version();
                    clearAnswer();
                    new ProtocolVersion(proposed, 0).encode(answer, HEADER_LENGTH);
                    if (isSupported(proposed)) {
                        version = proposed;
                        state = PROPERTIES;
                        send(id, answerLength, STATUS_SUCCESS);
                    } else {
                        refused.incrementAndGet();
                        send(id, answerLength, STATUS_REVISION_MISMATCH);
                    }
                }
                case QUERY_PROPERTIES -> {
                    if (state != PROPERTIES) {
                        refuse(id, operation, answerLength, STATUS_INVALID_DEVICE_STATE);
                        return;
                    }
                    clearAnswer();
                    OFFERED_PROPERTIES.encode(answer, HEADER_LENGTH);
                    state = END;
                    send(id, answerLength, STATUS_SUCCESS);
                }
                case CREATE_SUB_CHANNELS -> refuse(id, operation, answerLength,
                        state == END || state == READY ? STATUS_INVALID_PARAMETER : STATUS_INVALID_DEVICE_STATE);
                case END_INITIALIZATION -> {
                    if (state != END) {
                        refuse(id, operation, answerLength, STATUS_INVALID_DEVICE_STATE);
                    } else {
                        state = READY;
                        answer(id, answerLength, STATUS_SUCCESS);
                        LOG.log(Level.DEBUG, "{0}: the guest initialized the channel, protocol {1}", name,
                                describeVersion(version));
                    }
                }
                case RESET_LUN, RESET_ADAPTER, RESET_BUS -> {
                    if (state != READY) {
                        refuse(id, operation, answerLength, STATUS_INVALID_DEVICE_STATE);
                    } else {
                        answer(id, answerLength, STATUS_SUCCESS);
                    }
                }
                case EXECUTE_SRB -> refuse(id, operation, answerLength, STATUS_INVALID_DEVICE_STATE);
                default -> refuse(id, operation, answerLength, STATUS_INVALID_DEVICE_REQUEST);
            }
        }

        private void executeSrb(VmbusPacket p, int length) throws VmbusException, InterruptedException {
            try {
                SrbView.check(length - HEADER_LENGTH);
            } catch (ProtocolException e) {
                throw malformed("an SRB in " + length + " bytes; the header and SRB take at least "
                        + (HEADER_LENGTH + SRB_LENGTH_V1));
            }
            SrbView in = requestSrb;
            int path = in.pathId();
            int targetId = in.targetId();
            int lun = in.lun();
            int cdbLength = in.cdbLength();
            int senseWanted = in.senseInfoLength();
            int dataIn = in.dataIn();
            long transferLength = in.dataTransferLength();
            long rangeBytes = 0;
            for (int r = 0; r < p.rangeCount(); r++) {
                rangeBytes += p.rangeByteCount(r);
            }
            if (transferLength != rangeBytes) {
                throw malformed("an SRB moving " + transferLength + " bytes whose GPA ranges hold " + rangeBytes);
            }
            if (p.runCount() > command.maxRanges()) {
                throw malformed("an SRB whose GPA ranges split into " + p.runCount() + " runs; at most "
                        + command.maxRanges() + " are accepted");
            }
            long id = p.transactionId();
            SrbLayout layout = SrbLayout.of(version);
            int senseLength = Math.min(senseWanted, layout.senseLength());
            clearAnswer();
            answerSrb.length(layout.length()).port(in.port()).pathId(path).targetId(targetId).lun(lun)
                    .cdbLength(Math.min(cdbLength, MAX_CDB_LENGTH)).dataIn(dataIn);
            int answerLength = HEADER_LENGTH + layout.length();

            if (transferLength > MAX_TRANSFER_BYTES) {
                finish(id, answerLength, STATUS_INVALID_PARAMETER, SRB_STATUS_INVALID_REQUEST, ScsiStatus.CHECK_CONDITION,
                        Sense.INVALID_FIELD_IN_CDB, senseLength, 0);
                return;
            }
            if (path >= PATHS) {
                finish(id, answerLength, STATUS_DEVICE_DOES_NOT_EXIST, SRB_STATUS_INVALID_PATH_ID, ScsiStatus.GOOD, null, 0, 0);
                return;
            }
            if (targetId >= TARGETS) {
                finish(id, answerLength, STATUS_DEVICE_DOES_NOT_EXIST, SRB_STATUS_INVALID_TARGET_ID, ScsiStatus.GOOD, null, 0, 0);
                return;
            }
            in.copyCdbSense(cdb, 0, MAX_CDB_LENGTH);
            int opcode = cdb.get(ValueLayout.JAVA_BYTE, 0) & 0xFF;
            if (lun >= target.lunCount() || (!target.isAttached(lun) && !answeredWithoutUnit(opcode))) {
                finish(id, answerLength, STATUS_DEVICE_DOES_NOT_EXIST, SRB_STATUS_INVALID_LUN, ScsiStatus.GOOD, null, 0, 0);
                return;
            }
            ScsiCommand c = command;
            c.cdb(cdb, 0, cdbLength);
            if (transferLength == 0) {
                c.noData();
            } else if (dataIn == DATA_IN || dataIn == DATA_OUT) {
                c.scatter(guestMemory, dataIn == DATA_IN ? ScsiCommand.Direction.IN : ScsiCommand.Direction.OUT);
                for (int run = 0; run < p.runCount(); run++) {
                    c.addRange(p.runGpa(run), p.runLength(run));
                }
            } else {
                finish(id, answerLength, STATUS_INVALID_PARAMETER, SRB_STATUS_INVALID_REQUEST, ScsiStatus.CHECK_CONDITION,
                        Sense.INVALID_FIELD_IN_CDB, senseLength, 0);
                return;
            }
            executions++;
            try {
                target.execute(lun, c);
            } finally {
                executions++;
            }
            srbs.incrementAndGet();
            ScsiStatus status = c.status();
            if (status == ScsiStatus.GOOD) {
                finish(id, answerLength, STATUS_SUCCESS, SRB_STATUS_SUCCESS, status, null, 0, c.transferred());
            } else {
                int written = c.writeSense(answer, answerSrb.cdbSenseOffset(), senseLength);
                answerSrb.senseInfoLength(written)
                        .srbStatus(SRB_STATUS_ERROR | (written > 0 ? SRB_STATUS_AUTOSENSE_VALID : 0))
                        .scsiStatus(status.code())
                        .dataTransferLength((int) c.transferred());
                send(id, answerLength, STATUS_IO_DEVICE_ERROR);
            }
        }

        private static boolean answeredWithoutUnit(int opcode) {
            return opcode == ScsiOpcodes.INQUIRY || opcode == ScsiOpcodes.REPORT_LUNS
                    || opcode == ScsiOpcodes.REQUEST_SENSE;
        }

        /** Completes an SRB whose answer skeleton is in place. */
        private void finish(long id, int answerLength, int ntStatus, int srbStatus, ScsiStatus scsiStatus, Sense sense,
                int senseLength, long transferred) throws VmbusException, InterruptedException {
            int written = sense == null ? 0 : sense.writeFixed(answer, answerSrb.cdbSenseOffset(), senseLength);
            if (srbStatus != SRB_STATUS_SUCCESS) {
                refused.incrementAndGet();
            }
            answerSrb.srbStatus(srbStatus | (written > 0 ? SRB_STATUS_AUTOSENSE_VALID : 0))
                    .scsiStatus(scsiStatus.code())
                    .senseInfoLength(written)
                    .dataTransferLength((int) transferred);
            send(id, answerLength, ntStatus);
        }

        private void refuse(long id, int operation, int answerLength, int ntStatus)
                throws VmbusException, InterruptedException {
            refused.incrementAndGet();
            LOG.log(Level.DEBUG, "{0}: answered {1} with status 0x{2} (initialization state {3})", name,
                    operationName(operation), Integer.toHexString(ntStatus), state);
            answer(id, answerLength, ntStatus);
        }

        private void answer(long id, int answerLength, int ntStatus) throws VmbusException, InterruptedException {
            clearAnswer();
            send(id, answerLength, ntStatus);
        }

        private void clearAnswer() {
            answer.fill((byte) 0);
        }

        private void send(long id, int answerLength, int ntStatus) throws VmbusException, InterruptedException {
            PacketHeader.write(answer, 0, COMPLETE_IO, 0, ntStatus);
            channel.sendCompletion(id, answer, 0, answerLength);
        }

        private VmbusException malformed(String what) {
            return new VmbusException(ChannelClosedReason.DEVICE_REFUSED, name + ": the guest sent " + what);
        }
    }
}
