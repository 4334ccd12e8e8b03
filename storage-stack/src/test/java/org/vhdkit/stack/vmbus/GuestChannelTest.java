package org.vhdkit.stack.vmbus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;
import org.vhdkit.stack.guest.vmbus.GuestChannel;
import org.vhdkit.stack.protocol.vmbus.PacketType;

/**
 * The guest library's channel as a guest program uses it: completing the parent's requests,
 * what it refuses to send, try-operations on a full ring or an interrupted thread, a wait the
 * parent's packet ends early, and a channel closed by the guest or under a blocked sender.
 */
@Timeout(60)
class GuestChannelTest {
    private final VmbusFixture vm = new VmbusFixture("guest-channel-test", 256);

    @AfterEach
    void tearDown() {
        vm.close();
    }

    /** What the parent saw of one guest packet. */
    record Seen(PacketType type, long transactionId, long firstLong) {
    }

    /** Records every guest packet; holds the consumer while {@link #hold} is set. */
    static final class RecordingDevice implements VmbusDevice {
        final CompletableFuture<ParentChannel> opened = new CompletableFuture<>();
        final CompletableFuture<ChannelClosure> closed = new CompletableFuture<>();
        final BlockingQueue<Seen> seen = new LinkedBlockingQueue<>();
        final CountDownLatch holding = new CountDownLatch(1);
        volatile CountDownLatch hold;

        @Override
        public void opened(ParentChannel channel) {
            opened.complete(channel);
        }

        @Override
        public void packet(ParentChannel channel, VmbusPacket packet) throws InterruptedException {
            CountDownLatch h = hold;
            if (h != null) {
                holding.countDown();
                h.await();
            }
            seen.add(new Seen(packet.type(), packet.transactionId(),
                    packet.payloadLength() >= 8 ? packet.payloadLong(0) : -1));
        }

        @Override
        public void closed(ParentChannel channel, ChannelClosure closure) {
            closed.complete(closure);
        }

        /** Lets the held consumer go on, and every packet after it. */
        void release() {
            CountDownLatch h = hold;
            hold = null;
            if (h != null) {
                h.countDown();
            }
        }

        ParentChannel parent() throws Exception {
            return opened.get(10, TimeUnit.SECONDS);
        }

        Seen next() throws InterruptedException {
            return seen.poll(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void theGuestCompletesTheParentsRequestsWithTheirTransactionIds() throws Exception {
        RecordingDevice device = new RecordingDevice();
        try (GuestChannel channel = vm.open(vm.offer(device), 2, 2)) {
            ParentChannel parent = device.parent();
            parent.sendInBand(41, true, VmbusFixture.longs(1), 0, 8);
            parent.sendInBand(42, true, VmbusFixture.longs(2), 0, 8);
            VmbusPacket request = new VmbusPacket();
            assertTrue(channel.receive(request, 10, TimeUnit.SECONDS));
            assertTrue(request.completionRequested());
            assertTrue(channel.trySendCompletion(request.transactionId(), VmbusFixture.longs(100), 0, 8));
            channel.receive(request);
            channel.sendCompletion(request.transactionId(), VmbusFixture.longs(200), 0, 8);
            assertEquals(new Seen(PacketType.COMPLETION, 41, 100), device.next());
            assertEquals(new Seen(PacketType.COMPLETION, 42, 200), device.next());
        }
    }

    /** A timed receive returns as soon as the parent's packet arrives, not when its time is up. */
    @Test
    void aTimedReceiveEndsWhenThePacketArrives() throws Exception {
        RecordingDevice device = new RecordingDevice();
        try (GuestChannel channel = vm.open(vm.offer(device), 2, 2)) {
            ParentChannel parent = device.parent();
            Thread sender = Thread.ofPlatform().start(() -> {
                try {
                    TimeUnit.MILLISECONDS.sleep(50);
                    parent.sendInBand(7, false, VmbusFixture.longs(0xFEED), 0, 8);
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            });
            VmbusPacket packet = new VmbusPacket();
            long start = System.nanoTime();
            assertTrue(channel.receive(packet, 20, TimeUnit.SECONDS));
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10), "the wait ran to its end");
            assertEquals(PacketType.IN_BAND, packet.type());
            assertEquals(7, packet.transactionId());
            assertEquals(0xFEED, packet.payloadLong(0));
            sender.join();
        }
    }

    @Test
    void aGpaDirectPacketWithoutRangesIsRefusedAndNothingIsSent() throws Exception {
        RecordingDevice device = new RecordingDevice();
        try (GuestChannel channel = vm.open(vm.offer(device), 2, 2)) {
            GpaRangeList none = new GpaRangeList();
            for (Executable send : List.<Executable>of(
                    () -> channel.trySendGpaDirect(1, true, none, null, 0, 0),
                    () -> channel.sendGpaDirect(2, true, none, null, 0, 0))) {
                assertEquals("a GPA-direct packet needs at least one range",
                        assertThrows(IllegalArgumentException.class, send).getMessage());
            }
            long buffer = (long) vm.pages(1)[0] * VmbusFixture.PAGE;
            assertTrue(channel.trySendGpaDirect(3, false, new GpaRangeList().addBuffer(buffer, 512), null, 0, 0));
            assertEquals(new Seen(PacketType.GPA_DIRECT, 3, -1), device.next(), "the refused packets never went");
            assertTrue(channel.isOpen(), "a refused send leaves the channel open");
        }
    }

    /**
     * The try-operations never wait: on a full ring they return false (and send nothing), and on
     * an interrupted thread they return false and leave the interrupt set, neither consuming a
     * waiting packet nor sending one. The blocking receive throws instead.
     */
    @Test
    void tryOperationsReturnFalseOnAFullRingOrAnInterruptedThread() throws Exception {
        RecordingDevice device = new RecordingDevice();
        device.hold = new CountDownLatch(1);
        try (GuestChannel channel = vm.open(vm.offer(device), 2, 2)) {
            ParentChannel parent = device.parent();
            parent.sendInBand(9, false, VmbusFixture.longs(9), 0, 8);
            VmbusPacket packet = new VmbusPacket();

            Thread.currentThread().interrupt();
            assertFalse(channel.tryReceive(packet));
            assertTrue(Thread.interrupted(), "tryReceive kept the interrupt");
            Thread.currentThread().interrupt();
            assertFalse(channel.trySendInBand(1, false, VmbusFixture.longs(1), 0, 8));
            assertTrue(Thread.interrupted(), "trySendInBand kept the interrupt");
            Thread.currentThread().interrupt();
            assertThrows(InterruptedException.class, () -> channel.receive(packet, 1, TimeUnit.SECONDS));
            assertFalse(Thread.interrupted());

            assertTrue(channel.tryReceive(packet), "the parent's packet is still there");
            assertEquals(9, packet.transactionId());
            assertFalse(channel.tryReceive(packet), "and nothing else");

            // Fill the ring to the parent while its consumer holds the first packet.
            assertTrue(channel.trySendInBand(0, false, VmbusFixture.longs(0), 0, 8));
            assertTrue(device.holding.await(10, TimeUnit.SECONDS));
            MemorySegment big = MemorySegment.ofArray(new byte[1000]);
            int sent = 1;
            while (channel.trySendInBand(sent, false, big, 0, 1000)) {
                sent++;
            }
            assertTrue(sent > 2, sent + " packets filled the ring");
            assertFalse(channel.trySendCompletion(99, big, 0, 1000), "a full ring takes no completion either");
            assertFalse(channel.trySendGpaDirect(99, false,
                    new GpaRangeList().addBuffer((long) vm.pages(1)[0] * VmbusFixture.PAGE, 512), big, 0, 1000));
            device.release();
            List<Long> ids = new ArrayList<>();
            for (int i = 0; i < sent; i++) {
                ids.add(device.next().transactionId());
            }
            assertEquals(LongStream.range(0, sent).boxed().toList(), ids,
                    "the packets a full ring refused were never sent; the interrupted send never went either");
            assertNull(device.seen.poll(50, TimeUnit.MILLISECONDS));
        }
    }

    /** A sender blocked on a full ring is woken by a close under it and told why. */
    @Test
    void aSenderBlockedOnAFullRingFailsWhenTheChannelClosesUnderIt() throws Exception {
        RecordingDevice device = new RecordingDevice();
        device.hold = new CountDownLatch(1);
        GuestChannel channel = vm.open(vm.offer(device), 2, 2);
        channel.sendInBand(0, false, null, 0, 0);
        assertTrue(device.holding.await(10, TimeUnit.SECONDS));
        MemorySegment big = MemorySegment.ofArray(new byte[1000]);
        for (int sent = 1; channel.trySendInBand(sent, false, big, 0, 1000); sent++) {
            // fill the ring
        }
        AtomicReference<Throwable> outcome = new AtomicReference<>();
        Thread sender = Thread.ofPlatform().start(() -> {
            try {
                channel.sendInBand(-1, false, big, 0, 1000);
            } catch (Throwable t) {
                outcome.set(t);
            }
        });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (sender.getState() != Thread.State.WAITING && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        device.parent().close(ChannelClosedReason.DEVICE_CLOSED, "the parent gave up");
        sender.join(10_000);
        assertFalse(sender.isAlive(), "the blocked sender woke");
        ChannelClosedException closed = assertInstanceOf(ChannelClosedException.class, outcome.get());
        assertEquals(new ChannelClosure(ChannelClosedReason.DEVICE_CLOSED, "the parent gave up"), closed.closure());
        assertFalse(channel.isOpen());
        device.release();
        channel.close();
    }

    /**
     * After the guest closes a channel every operation throws with the closure, the parent hears
     * of it, the GPADL the library made for it is gone, and closing again does nothing. A GPADL the
     * guest made itself stays for the guest to tear down.
     */
    @Test
    void aClosedChannelRefusesEverythingAndTheLibrarysGpadlGoesWithIt() throws Exception {
        RecordingDevice device = new RecordingDevice();
        ChannelOffer offer = vm.offer(device);
        GuestChannel channel = vm.open(offer, 2, 2);
        assertSame(offer, channel.offer());
        int gpadl = channel.gpadl();
        assertTrue(channel.toString().startsWith("GuestChannel[") && !channel.toString().contains("GUEST_CLOSED"));
        channel.close();
        ChannelClosure closure = new ChannelClosure(ChannelClosedReason.GUEST_CLOSED, "the guest closed the channel");
        assertFalse(channel.isOpen());
        assertEquals(closure, channel.closure());
        assertEquals(closure, device.closed.get(10, TimeUnit.SECONDS));
        assertTrue(channel.toString().endsWith(", " + closure + "]"), channel.toString());
        VmbusPacket packet = new VmbusPacket();
        GpaRangeList ranges = new GpaRangeList().addBuffer(VmbusFixture.PAGE, 512);
        List<Executable> operations = List.of(
                () -> channel.trySendInBand(1, false, null, 0, 0),
                () -> channel.sendInBand(1, false, null, 0, 0),
                () -> channel.trySendCompletion(1, null, 0, 0),
                () -> channel.sendCompletion(1, null, 0, 0),
                () -> channel.trySendGpaDirect(1, false, ranges, null, 0, 0),
                () -> channel.sendGpaDirect(1, false, ranges, null, 0, 0),
                () -> channel.tryReceive(packet),
                () -> channel.receive(packet),
                () -> channel.receive(packet, 1, TimeUnit.SECONDS));
        for (Executable op : operations) {
            assertEquals(closure, assertThrows(ChannelClosedException.class, op).closure());
        }
        channel.close();
        assertEquals(closure, channel.closure(), "a second close changes nothing");
        assertEquals(ChannelClosedReason.NO_SUCH_GPADL,
                assertThrows(VmbusException.class, () -> vm.guest.teardownGpadl(gpadl)).reason());

        int own = vm.guest.createGpadl(vm.pages(4));
        GuestChannel again = vm.guest.open(offer, own, 2);
        assertEquals(own, again.gpadl());
        again.close();
        vm.guest.teardownGpadl(own); // still there after the close
        assertEquals("VmbusGuest[guest-channel-test]", vm.guest.toString());
    }
}
