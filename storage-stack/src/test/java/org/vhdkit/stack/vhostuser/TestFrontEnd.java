package org.vhdkit.stack.vhostuser;

import static org.vhdkit.stack.protocol.vhostuser.VhostUser.*;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;
import org.vhdkit.stack.protocol.vhostuser.MemoryTable;
import org.vhdkit.stack.protocol.vhostuser.MessageHeader;
import org.vhdkit.stack.protocol.vhostuser.VirtioScsi;
import org.vhdkit.stack.protocol.vhostuser.VringAddress;
import org.vhdkit.stack.protocol.vhostuser.VringFile;
import org.vhdkit.stack.protocol.vhostuser.VringState;

/**
 * A vhost-user front-end for tests, in the role qemu and the guest's virtio driver play together:
 * guest memory on a memfd (two regions of {@link #REGION} bytes, handed over as two descriptors),
 * the message sequence qemu sends, split rings it builds in that memory, kicks and calls.
 * Thread-safety: none; one test thread.
 */
final class TestFrontEnd implements AutoCloseable {
    static final long REGION = 2 << 20;
    static final long MEMORY = 2 * REGION;
    static final int RING_SIZE = 128;
    /** Where the buffers of {@link #scsi} go: well after the rings. */
    static final long BUFFERS = 0x100000;

    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle U16_ACCESS = ValueLayout.JAVA_SHORT.varHandle();

    final Arena arena = Arena.ofShared();
    final int memfd;
    final long base;
    /** The guest's memory: offset = guest physical address. */
    final MemorySegment guest;
    int socket;
    private final MemorySegment message = arena.allocate(MessageHeader.LENGTH + MAX_PAYLOAD);
    private final LinuxCalls.Scratch scratch = new LinuxCalls.Scratch(arena);
    final Ring[] rings = new Ring[16];

    @SuppressWarnings("restricted")
    private TestFrontEnd(Path path) throws IOException {
        memfd = LinuxCalls.memfd("test-guest", MEMORY);
        base = LinuxCalls.reserve(MEMORY);
        LinuxCalls.mapFixed(base, MEMORY, memfd, 0);
        guest = MemorySegment.ofAddress(base).reinterpret(MEMORY);
        socket = LinuxCalls.connect(path);
    }

    static TestFrontEnd connect(Path path) throws IOException {
        return new TestFrontEnd(path);
    }

    // ---- messages ----

    void send(int request, int flags, MemorySegment payload, int size, int... fds) throws IOException {
        new MessageHeader(request, VERSION | flags, size).encode(message, 0);
        if (size > 0) {
            MemorySegment.copy(payload, 0, message, MessageHeader.LENGTH, size);
        }
        LinuxCalls.send(socket, message, MessageHeader.LENGTH + size, fds);
    }

    /** Sends raw bytes (a truncated message). */
    void sendRaw(byte[] bytes) throws IOException {
        MemorySegment s = arena.allocate(bytes.length);
        MemorySegment.copy(bytes, 0, s, ValueLayout.JAVA_BYTE, 0, bytes.length);
        LinuxCalls.send(socket, s, bytes.length, new int[0]);
    }

    /** Reads a reply to {@code request}; returns its payload. */
    MemorySegment reply(int request) throws IOException {
        MemorySegment h = arena.allocate(MessageHeader.LENGTH);
        if (LinuxCalls.readFully(socket, h, MessageHeader.LENGTH) < MessageHeader.LENGTH) {
            throw new IOException("the backend closed the connection instead of answering " + requestName(request));
        }
        MessageHeader header = MessageHeader.decode(h, 0);
        if (header.request() != request || (header.flags() & FLAG_REPLY) == 0) {
            throw new IOException("expected a reply to " + requestName(request) + ", got " + header);
        }
        MemorySegment payload = arena.allocate(Math.max(header.size(), 1));
        LinuxCalls.readFully(socket, payload, header.size());
        return payload.asSlice(0, header.size());
    }

    long getU64(int request) throws IOException {
        send(request, 0, MemorySegment.NULL, 0);
        return reply(request).get(U64, 0);
    }

    /** Sends a request with NEED_REPLY; returns the acknowledgement (0: done). */
    long acked(int request, MemorySegment payload, int size, int... fds) throws IOException {
        send(request, FLAG_NEED_REPLY, payload, size, fds);
        return reply(request).get(U64, 0);
    }

    long ackedU64(int request, long value, int... fds) throws IOException {
        MemorySegment p = arena.allocate(8);
        p.set(U64, 0, value);
        return acked(request, p, 8, fds);
    }

    long ackedState(int request, int index, int num) throws IOException {
        MemorySegment p = arena.allocate(VringState.LENGTH);
        new VringState(index, num).encode(p);
        return acked(request, p, VringState.LENGTH);
    }

    /** The handshake qemu makes, then SET_MEM_TABLE with both regions; returns the features set. */
    long handshake(long wantedFeatures) throws IOException {
        long offered = getU64(GET_FEATURES);
        long protocol = getU64(GET_PROTOCOL_FEATURES);
        send(SET_PROTOCOL_FEATURES, 0, u64(protocol & (1L << PROTOCOL_F_MQ | 1L << PROTOCOL_F_REPLY_ACK
                | 1L << PROTOCOL_F_LOG_SHMFD)), 8);
        check(ackedU64(SET_OWNER, 0), "SET_OWNER");
        long features = offered & wantedFeatures;
        check(ackedU64(SET_FEATURES, features), "SET_FEATURES");
        check(setMemTable(2, memfd, memfd), "SET_MEM_TABLE");
        return features;
    }

    long setMemTable(int regions, int... fds) throws IOException {
        return setMemTable(List.of(new MemoryTable.Region(0, REGION, base, 0),
                new MemoryTable.Region(REGION, REGION, base + REGION, REGION)).subList(0, regions), fds);
    }

    long setMemTable(List<MemoryTable.Region> regions, int... fds) throws IOException {
        MemoryTable table = new MemoryTable(regions);
        int count = regions.size();
        MemorySegment p = arena.allocate(8 + 32 * count);
        int n = table.encode(p);
        return acked(SET_MEM_TABLE, p, n, fds);
    }

    private MemorySegment u64(long v) {
        MemorySegment p = arena.allocate(8);
        p.set(U64, 0, v);
        return p;
    }

    static void check(long ack, String what) {
        if (ack != 0) {
            throw new AssertionError(what + " was refused: " + ack);
        }
    }

    /** Sets ring {@code index} up as qemu does (num, base, addr, kick, call, enable). */
    Ring ring(int index) throws IOException {
        return ring(index, false);
    }

    /** As {@link #ring(int)}; with {@code logUsed} the ring's used ring writes go to the dirty-page log. */
    Ring ring(int index, boolean logUsed) throws IOException {
        return ring(index, logUsed, 0);
    }

    /**
     * As {@link #ring(int, boolean)}, for a ring that resumes at {@code start} (set up again after
     * GET_VRING_BASE): both indices in guest memory and the base are {@code start} before the kick
     * descriptor arrives, in qemu's order, so the backend never sees a ring half set up.
     */
    Ring ring(int index, boolean logUsed, int start) throws IOException {
        Ring r = new Ring(index, 0x10000L * (index + 1));
        r.availableIndex = start & 0xFFFF;
        r.usedSeen = start & 0xFFFF;
        guest.set(U16, r.available + 2, (short) start);
        guest.set(U16, r.used + 2, (short) start);
        check(ackedState(SET_VRING_NUM, index, RING_SIZE), "SET_VRING_NUM");
        check(ackedState(SET_VRING_BASE, index, start), "SET_VRING_BASE");
        MemorySegment p = arena.allocate(VringAddress.LENGTH);
        new VringAddress(index, logUsed ? VringAddress.F_LOG : 0, base + r.descriptors, base + r.used,
                base + r.available, logUsed ? r.used : 0).encode(p);
        check(acked(SET_VRING_ADDR, p, VringAddress.LENGTH), "SET_VRING_ADDR");
        MemorySegment f = arena.allocate(8);
        new VringFile(index, false).encode(f);
        check(acked(SET_VRING_CALL, f, 8, r.call), "SET_VRING_CALL");
        check(acked(SET_VRING_KICK, f, 8, r.kick), "SET_VRING_KICK");
        check(ackedState(SET_VRING_ENABLE, index, 1), "SET_VRING_ENABLE");
        rings[index] = r;
        return r;
    }

    /** A split ring in guest memory: descriptors, available ring, used ring; the driver's side. */
    final class Ring {
        final int index;
        final long descriptors;
        final long available;
        final long used;
        final int kick;
        final int call;
        int availableIndex;
        int usedSeen;

        Ring(int index, long at) throws IOException {
            this.index = index;
            this.descriptors = at;
            this.available = at + 16L * RING_SIZE;
            this.used = (available + 6 + 2L * RING_SIZE + 3) & ~3L;
            guest.asSlice(at, 0x10000).fill((byte) 0);
            this.kick = LinuxCalls.eventfd();
            this.call = LinuxCalls.eventfd();
        }

        void descriptor(int i, long address, long length, int flags, int next) {
            descriptorAt(descriptors, i, address, length, flags, next);
        }

        /** Makes {@code head} available and kicks. */
        void publish(int head) {
            guest.set(U16, available + 4 + 2L * (availableIndex % RING_SIZE), (short) head);
            availableIndex = (availableIndex + 1) & 0xFFFF;
            U16_ACCESS.setRelease(guest, available + 2, (short) availableIndex);
            kick();
        }

        void kick() {
            VarHandle.fullFence();
            LinuxCalls.signal(kick, scratch);
        }

        /** Sets the available index itself (a driver that lies). */
        void availableIndex(int value) {
            availableIndex = value & 0xFFFF;
            U16_ACCESS.setRelease(guest, available + 2, (short) availableIndex);
        }

        /** Waits (10 s at most) for the next used element; returns {id, length}. */
        int[] awaitUsed() throws IOException {
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (true) {
                int idx = Short.toUnsignedInt((short) U16_ACCESS.getAcquire(guest, used + 2));
                if (idx != usedSeen) {
                    long at = used + 4 + 8L * (usedSeen % RING_SIZE);
                    usedSeen = (usedSeen + 1) & 0xFFFF;
                    return new int[] {guest.get(U32, at), guest.get(U32, at + 4)};
                }
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("ring " + index + ": nothing was used within 10 s");
                }
                // used_event (read only with EVENT_IDX): interrupt me once the used index passes usedSeen.
                guest.set(U16, available + 4 + 2L * RING_SIZE, (short) usedSeen);
                VarHandle.fullFence();
                if (Short.toUnsignedInt((short) U16_ACCESS.getAcquire(guest, used + 2)) != usedSeen) {
                    continue;
                }
                LinuxCalls.poll(call, -1, 50, scratch);
                LinuxCalls.drain(call, scratch);
            }
        }

        /** Whether nothing more was used within {@code millis}. */
        boolean nothingUsedWithin(int millis) throws IOException {
            long deadline = System.nanoTime() + millis * 1_000_000L;
            while (System.nanoTime() < deadline) {
                if (Short.toUnsignedInt((short) U16_ACCESS.getAcquire(guest, used + 2)) != usedSeen) {
                    return false;
                }
                LinuxCalls.poll(call, -1, 10, scratch);
            }
            return true;
        }
    }

    void descriptorAt(long table, int i, long address, long length, int flags, int next) {
        long at = table + 16L * i;
        guest.set(U64, at, address);
        guest.set(U32, at + 8, (int) length);
        guest.set(U16, at + 12, (short) flags);
        guest.set(U16, at + 14, (short) next);
    }

    // ---- virtio-scsi ----

    /** What came back for one command. */
    record Outcome(int usedLength, int response, int status, int residual, byte[] sense, byte[] data) {
        int senseKey() {
            return sense.length > 2 ? sense[2] & 0x0F : 0;
        }
    }

    static final long HEADER = BUFFERS;
    static final long RESPONSE = BUFFERS + 0x1000;
    /** Data buffers straddle the boundary between the two regions. */
    static final long DATA = REGION - 0x3000;

    /** Runs {@code cdb} on {@code lun} of target 0 through {@code ring}, with data out or a data-in buffer. */
    Outcome scsi(Ring ring, int lun, byte[] cdb, byte[] dataOut, int dataIn) throws IOException {
        byte[] field = {1, 0, (byte) (0x40 | lun >> 8), (byte) lun, 0, 0, 0, 0};
        return scsi(ring, field, cdb, dataOut, dataIn);
    }

    Outcome scsi(Ring ring, byte[] lunField, byte[] cdb, byte[] dataOut, int dataIn) throws IOException {
        guest.asSlice(HEADER, VirtioScsi.REQUEST_LENGTH).fill((byte) 0);
        MemorySegment.copy(lunField, 0, guest, ValueLayout.JAVA_BYTE, HEADER, 8);
        guest.set(U64, HEADER + VirtioScsi.REQ_TAG, 0x1234);
        MemorySegment.copy(cdb, 0, guest, ValueLayout.JAVA_BYTE, HEADER + VirtioScsi.REQ_CDB, cdb.length);
        guest.asSlice(RESPONSE, VirtioScsi.RESPONSE_LENGTH).fill((byte) 0xEE);
        int d = 0;
        ring.descriptor(d, HEADER, VirtioScsi.REQUEST_LENGTH, SplitRing.DESC_F_NEXT, d + 1);
        d++;
        if (dataOut != null) {
            MemorySegment.copy(dataOut, 0, guest, ValueLayout.JAVA_BYTE, DATA, dataOut.length);
            ring.descriptor(d, DATA, dataOut.length, SplitRing.DESC_F_NEXT, d + 1);
            d++;
        }
        ring.descriptor(d, RESPONSE, VirtioScsi.RESPONSE_LENGTH,
                SplitRing.DESC_F_WRITE | (dataIn > 0 ? SplitRing.DESC_F_NEXT : 0), d + 1);
        d++;
        if (dataIn > 0) {
            guest.asSlice(DATA, dataIn).fill((byte) 0xEE);
            ring.descriptor(d, DATA, dataIn, SplitRing.DESC_F_WRITE, 0);
        }
        ring.publish(0);
        int[] used = ring.awaitUsed();
        if (used[0] != 0) {
            throw new AssertionError("used id " + used[0] + ", not the head 0");
        }
        return outcome(used[1], dataIn);
    }

    Outcome outcome(int usedLength, int dataIn) {
        int senseLength = Math.min(guest.get(U32, RESPONSE + VirtioScsi.RESP_SENSE_LEN), VirtioScsi.SENSE_SIZE);
        byte[] sense = new byte[Math.max(senseLength, 0)];
        MemorySegment.copy(guest, ValueLayout.JAVA_BYTE, RESPONSE + VirtioScsi.RESP_SENSE, sense, 0, sense.length);
        int dataLength = Math.max(0, Math.min(dataIn, usedLength - VirtioScsi.RESPONSE_LENGTH));
        byte[] data = new byte[dataLength];
        MemorySegment.copy(guest, ValueLayout.JAVA_BYTE, DATA, data, 0, dataLength);
        return new Outcome(usedLength, guest.get(ValueLayout.JAVA_BYTE, RESPONSE + VirtioScsi.RESP_RESPONSE) & 0xFF,
                guest.get(ValueLayout.JAVA_BYTE, RESPONSE + VirtioScsi.RESP_STATUS) & 0xFF,
                guest.get(U32, RESPONSE + VirtioScsi.RESP_RESID), sense, data);
    }

    /** Closes the connection only (the backend should wait for the next). */
    void disconnect() {
        LinuxCalls.closeQuietly(socket);
        socket = -1;
    }

    @Override
    public void close() {
        disconnect();
        for (Ring r : rings) {
            if (r != null) {
                LinuxCalls.closeQuietly(r.kick);
                LinuxCalls.closeQuietly(r.call);
            }
        }
        LinuxCalls.unmap(base, MEMORY);
        LinuxCalls.closeQuietly(memfd);
        arena.close();
    }
}
