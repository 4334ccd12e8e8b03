package org.vhdkit.stack.vmbus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.vhdkit.stack.protocol.vmbus.PacketType;
import org.vhdkit.stack.guest.vmbus.GuestChannel;

/**
 * Guest and parent on different threads, millions of small packets: every one arrives intact and
 * in order, through full rings, pending send sizes and parked consumers.
 */
class ChannelConcurrencyTest {
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final VmbusFixture vm = new VmbusFixture("concurrency", 1024);

    @AfterEach
    void tearDown() {
        vm.close();
    }

    /** Payload of packet {@code seq}: 8 to 32 bytes, every long derived from seq. */
    static int fillPayload(MemorySegment payload, long seq) {
        int words = 1 + (int) (seq & 3);
        for (int i = 0; i < words; i++) {
            payload.set(LONG, 8L * i, seq * 0x9E3779B97F4A7C15L + i);
        }
        return words * 8;
    }

    static void checkPayload(VmbusPacket packet, long seq) {
        int words = 1 + (int) (seq & 3);
        if (packet.transactionId() != seq || packet.payloadLength() != words * 8) {
            throw new AssertionError("expected packet " + seq + " of " + words * 8 + " bytes, got " + packet);
        }
        for (int i = 0; i < words; i++) {
            if (packet.payloadLong(8 * i) != seq * 0x9E3779B97F4A7C15L + i) {
                throw new AssertionError("packet " + seq + " corrupt at word " + i);
            }
        }
    }

    /** Checks every packet in order, per stream (the transaction id's top byte names the stream). */
    static final class SequenceDevice implements VmbusDevice {
        private final long[] next = new long[256];
        private final long expected;
        final CountDownLatch done = new CountDownLatch(1);
        final AtomicReference<ChannelClosure> closure = new AtomicReference<>();
        private long received;

        SequenceDevice(long expected) {
            this.expected = expected;
        }

        @Override
        public void packet(ParentChannel channel, VmbusPacket packet) {
            int stream = (int) (packet.transactionId() >>> 56);
            long seq = packet.transactionId() & 0x00FF_FFFF_FFFF_FFFFL;
            if (seq != next[stream]) {
                throw new AssertionError("stream " + stream + ": expected " + next[stream] + ", got " + seq);
            }
            checkPayload(packet, packet.transactionId());
            next[stream]++;
            if (++received == expected) {
                done.countDown();
            }
        }

        @Override
        public void closed(ParentChannel channel, ChannelClosure why) {
            closure.set(why);
            done.countDown();
        }
    }

    @Test
    void twoMillionPacketsFromGuestToParent() throws Exception {
        long count = 2_000_000;
        SequenceDevice device = new SequenceDevice(count);
        try (GuestChannel channel = vm.open(vm.offer(device), 9, 2)) {
            MemorySegment payload = MemorySegment.ofArray(new byte[32]);
            for (long seq = 0; seq < count; seq++) {
                channel.sendInBand(seq, false, payload, 0, fillPayload(payload, seq));
            }
            assertTrue(device.done.await(60, TimeUnit.SECONDS));
            assertNull(device.closure.get());
            System.out.printf("guest to parent: %d packets, %d signals to the parent, %d back%n",
                    count, channel.signalsToParent(), channel.interruptsFromParent());
        }
    }

    @Test
    void oneMillionPacketsFromParentToGuest() throws Exception {
        long count = 1_000_000;
        AtomicReference<Throwable> failure = new AtomicReference<>();
        VmbusDevice device = (channel, packet) -> {
            MemorySegment payload = MemorySegment.ofArray(new byte[32]);
            for (long seq = 0; seq < count; seq++) {
                channel.sendInBand(seq, false, payload, 0, fillPayload(payload, seq));
            }
        };
        try (GuestChannel channel = vm.open(vm.offer(device), 2, 9)) {
            channel.sendInBand(-1, false, null, 0, 0);
            VmbusPacket packet = new VmbusPacket();
            for (long seq = 0; seq < count; seq++) {
                channel.receive(packet);
                checkPayload(packet, seq);
            }
            assertNull(failure.get());
            assertTrue(channel.isOpen(), String.valueOf(channel.closure()));
        }
    }

    @Test
    void concurrentSendersKeepTheirOwnOrder() throws Exception {
        int threads = 3;
        long each = 300_000;
        SequenceDevice device = new SequenceDevice(threads * each);
        try (GuestChannel channel = vm.open(vm.offer(device), 5, 2)) {
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread[] senders = new Thread[threads];
            for (int t = 0; t < threads; t++) {
                long stream = (long) t << 56;
                senders[t] = Thread.ofPlatform().start(() -> {
                    MemorySegment payload = MemorySegment.ofArray(new byte[32]);
                    try {
                        for (long seq = 0; seq < each; seq++) {
                            channel.sendInBand(stream | seq, false, payload, 0, fillPayload(payload, stream | seq));
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                });
            }
            for (Thread sender : senders) {
                sender.join();
            }
            assertNull(failure.get());
            assertTrue(device.done.await(60, TimeUnit.SECONDS));
            assertNull(device.closure.get());
        }
    }

    @Test
    void requestsInFlightAreAllCompletedInOrder() throws Exception {
        long count = 300_000;
        try (GuestChannel channel = vm.open(vm.offer(new VmbusFixture.EchoDevice()), 3, 3)) {
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread receiver = Thread.ofPlatform().start(() -> {
                VmbusPacket reply = new VmbusPacket();
                try {
                    for (long seq = 0; seq < count; seq++) {
                        channel.receive(reply);
                        assertEquals(PacketType.COMPLETION, reply.type());
                        checkPayload(reply, seq);
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            });
            MemorySegment payload = MemorySegment.ofArray(new byte[32]);
            for (long seq = 0; seq < count && failure.get() == null; seq++) {
                channel.sendInBand(seq, true, payload, 0, fillPayload(payload, seq));
            }
            receiver.join(60_000);
            assertNull(failure.get());
            System.out.printf("%d requests in flight: %d signals to the parent, %d interrupts to the guest%n",
                    count, channel.signalsToParent(), channel.interruptsFromParent());
        }
    }
}
