package org.vhdkit.stack.vmbus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.vhdkit.stack.protocol.vmbus.PacketType;
import org.vhdkit.stack.guest.vmbus.GuestChannel;
import org.vhdkit.stack.vmbus.VmbusFixture.EchoDevice;

/** Offers, GPADLs, open and close, rescind, and packets through the consumer thread. */
class VmbusServerTest {
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final VmbusFixture vm = new VmbusFixture("server-test", 1024);

    @AfterEach
    void tearDown() {
        vm.close();
    }

    @Test
    void offersArriveAsNotificationsAndRescindWithdrawsThem() throws Exception {
        ChannelOffer storage = vm.offer(new EchoDevice());
        ChannelOffer shutdown = vm.server.offer(ChannelOffer.SHUTDOWN, UUID.randomUUID(), new EchoDevice());
        assertEquals(List.of(storage, shutdown), vm.guest.offers());
        assertEquals(storage, vm.guest.offer(ChannelOffer.STORAGE).orElseThrow());
        assertEquals(new GuestNotification.Offered(storage), vm.guest.pollNotification());
        assertEquals(new GuestNotification.Offered(shutdown), vm.guest.pollNotification());
        assertNull(vm.guest.pollNotification());

        assertTrue(vm.server.rescind(storage));
        assertFalse(vm.server.rescind(storage));
        assertEquals(new GuestNotification.Rescinded(storage), vm.guest.nextNotification(1, TimeUnit.SECONDS));
        assertEquals(List.of(shutdown), vm.guest.offers());
        assertEquals(ChannelClosedReason.NO_SUCH_CHANNEL,
                assertThrows(VmbusException.class, () -> vm.open(storage, 2, 2)).reason());
    }

    @Test
    void inBandRequestsAreCompletedThroughTheConsumerThread() throws Exception {
        EchoDevice device = new EchoDevice();
        ChannelOffer offer = vm.offer(device);
        try (GuestChannel channel = vm.open(offer, 3, 3)) {
            VmbusPacket reply = new VmbusPacket();
            for (long i = 0; i < 1000; i++) {
                channel.sendInBand(i, true, VmbusFixture.longs(i, ~i), 0, 16);
                channel.receive(reply);
                assertEquals(PacketType.COMPLETION, reply.type());
                assertEquals(i, reply.transactionId());
                assertEquals(i, reply.payloadLong(0));
                assertEquals(~i, reply.payloadLong(8));
            }
            assertTrue(vm.server.channel(offer).isPresent());
        }
        assertEquals(ChannelClosedReason.GUEST_CLOSED, device.awaitClosed().reason());
        assertTrue(vm.server.channel(offer).isEmpty());
    }

    @Test
    void gpaDirectRangesReachGuestMemoryWithoutCopiesThroughTheRing() throws Exception {
        EchoDevice device = new EchoDevice();
        ChannelOffer offer = vm.offer(device);
        try (GuestChannel channel = vm.open(offer, 4, 2)) {
            long[] buffer = vm.scatteredPages(8); // 8 pages, not contiguous
            GpaRangeList ranges = new GpaRangeList().add(512, 7 * 4096, buffer, 0, 8);
            channel.sendGpaDirect(0x5A, true, ranges, MemorySegment.ofArray(new byte[24]), 0, 24);
            VmbusPacket reply = new VmbusPacket();
            channel.receive(reply);
            assertEquals(0x5A, reply.transactionId());
            assertEquals(7 * 4096, reply.payloadLong(0));
            for (int page = 0; page < 8; page++) {
                long base = buffer[page] * 4096;
                int from = page == 0 ? 512 : 0;
                int to = page == 7 ? 512 : 4096;
                if (from > 0) {
                    assertEquals(0, vm.memory.getByte(base + from - 1), "the range starts where it said");
                }
                for (int at = from; at < to; at += 511) {
                    assertEquals((byte) 0x5A, vm.memory.getByte(base + at), "page " + page + " byte " + at);
                }
                if (to < 4096) {
                    assertEquals(0, vm.memory.getByte(base + to), "the range ends where it said");
                }
            }
        }
    }

    @Test
    void theParentSendsInBandAndTransferPagePacketsTheGuestCompletes() throws Exception {
        AtomicReference<ParentChannel> parent = new AtomicReference<>();
        CountDownLatch completed = new CountDownLatch(2);
        VmbusDevice device = new VmbusDevice() {
            @Override
            public void opened(ParentChannel channel) {
                parent.set(channel);
            }

            @Override
            public void packet(ParentChannel channel, VmbusPacket packet) {
                assertEquals(PacketType.COMPLETION, packet.type());
                completed.countDown();
            }
        };
        ChannelOffer offer = vm.server.offer(ChannelOffer.SHUTDOWN, UUID.randomUUID(), device);
        try (GuestChannel channel = vm.open(offer, 2, 2)) {
            VmbusPacket packet = new VmbusPacket();
            while (parent.get() == null) {
                Thread.onSpinWait();
            }
            parent.get().sendInBand(1, true, VmbusFixture.longs(0xC0FFEE), 0, 8);
            parent.get().sendTransferPages(2, true, new TransferPageRanges().clear(3).add(64, 128), null, 0, 0);
            channel.receive(packet);
            assertEquals(PacketType.IN_BAND, packet.type());
            assertEquals(0xC0FFEE, packet.payloadLong(0));
            channel.sendCompletion(packet.transactionId(), null, 0, 0);
            channel.receive(packet);
            assertEquals(PacketType.TRANSFER_PAGES, packet.type());
            assertEquals(3, packet.transferPageSetId());
            assertEquals(128, packet.transferRangeByteCount(0));
            assertEquals(64, packet.transferRangeOffset(0));
            channel.sendCompletion(packet.transactionId(), null, 0, 0);
            assertTrue(completed.await(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void gpadlsAreCheckedCountedAndHeldWhileInUse() throws Exception {
        assertEquals(ChannelClosedReason.GPADL_OUTSIDE_MEMORY,
                assertThrows(VmbusException.class, () -> vm.guest.createGpadl(1, 2, 1024)).reason());
        assertEquals(ChannelClosedReason.GPADL_OUTSIDE_MEMORY,
                assertThrows(VmbusException.class, () -> vm.guest.createGpadl(Long.MIN_VALUE)).reason());
        assertEquals(ChannelClosedReason.BAD_GPADL,
                assertThrows(VmbusException.class, () -> vm.guest.createGpadl()).reason());
        assertEquals(ChannelClosedReason.NO_SUCH_GPADL,
                assertThrows(VmbusException.class, () -> vm.guest.teardownGpadl(999)).reason());

        ChannelOffer offer = vm.offer(new EchoDevice());
        int gpadl = vm.guest.createGpadl(vm.pages(5));
        assertEquals(ChannelClosedReason.BAD_RING_LAYOUT,
                assertThrows(VmbusException.class, () -> vm.guest.open(offer, gpadl, 1)).reason());
        assertEquals(ChannelClosedReason.BAD_RING_LAYOUT,
                assertThrows(VmbusException.class, () -> vm.guest.open(offer, gpadl, 4)).reason());
        GuestChannel channel = vm.guest.open(offer, gpadl, 3);
        assertEquals(ChannelClosedReason.ALREADY_OPEN,
                assertThrows(VmbusException.class, () -> vm.guest.open(offer, gpadl, 3)).reason());
        assertEquals(ChannelClosedReason.GPADL_IN_USE,
                assertThrows(VmbusException.class, () -> vm.guest.teardownGpadl(gpadl)).reason());
        channel.close();
        channel.close();
        vm.guest.teardownGpadl(gpadl);

        // Reopen on a fresh GPADL after a close.
        try (GuestChannel again = vm.open(offer, 2, 2)) {
            again.sendInBand(9, true, null, 0, 0);
            VmbusPacket reply = new VmbusPacket();
            again.receive(reply);
            assertEquals(9, reply.transactionId());
        }
    }

    @Test
    void rescindClosesAnOpenChannelAndTellsTheGuest() throws Exception {
        EchoDevice device = new EchoDevice();
        ChannelOffer offer = vm.offer(device);
        vm.guest.pollNotification();
        GuestChannel channel = vm.open(offer, 2, 2);
        CountDownLatch receiving = new CountDownLatch(1);
        AtomicReference<Throwable> outcome = new AtomicReference<>();
        Thread waiter = Thread.ofPlatform().start(() -> {
            receiving.countDown();
            try {
                channel.receive(new VmbusPacket());
            } catch (Throwable t) {
                outcome.set(t);
            }
        });
        receiving.await();
        assertTrue(vm.server.rescind(offer));
        waiter.join(10_000);
        assertFalse(waiter.isAlive(), "a parked receiver wakes when the channel closes");
        ChannelClosedException closed = assertInstanceOf(ChannelClosedException.class, outcome.get());
        assertEquals(ChannelClosedReason.RESCINDED, closed.closure().reason());
        assertEquals(ChannelClosedReason.RESCINDED, device.awaitClosed().reason());
        assertEquals(new GuestNotification.Rescinded(offer), vm.guest.nextNotification(1, TimeUnit.SECONDS));
        assertThrows(ChannelClosedException.class, () -> channel.trySendInBand(1, false, null, 0, 0));
        channel.close();
        assertTrue(vm.guest.offers().isEmpty());
    }

    @Test
    void closingTheServerStopsEveryConsumerAndRefusesTheGuest() throws Exception {
        EchoDevice first = new EchoDevice();
        EchoDevice second = new EchoDevice();
        GuestChannel a = vm.open(vm.offer(first), 2, 2);
        GuestChannel b = vm.open(vm.offer(second), 2, 2);
        vm.server.close();
        assertEquals(ChannelClosedReason.PARTITION_STOPPED, first.awaitClosed().reason());
        assertEquals(ChannelClosedReason.PARTITION_STOPPED, second.awaitClosed().reason());
        assertFalse(a.isOpen());
        assertFalse(b.isOpen());
        assertEquals(ChannelClosedReason.PARTITION_STOPPED,
                assertThrows(VmbusException.class, () -> vm.guest.createGpadl(vm.pages(2))).reason());
        GuestNotification note;
        int closedNotes = 0;
        while ((note = vm.guest.pollNotification()) != null) {
            if (note instanceof GuestNotification.Closed closed) {
                assertEquals(ChannelClosedReason.PARTITION_STOPPED, closed.closure().reason());
                closedNotes++;
            }
        }
        assertEquals(2, closedNotes);
    }

    @Test
    void aBurstWhileTheDeviceIsBusyCostsAtMostOneSignal() throws Exception {
        CountDownLatch busy = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch all = new CountDownLatch(201);
        VmbusDevice device = (channel, packet) -> {
            if (packet.transactionId() == 0) {
                busy.countDown();
                release.await();
            }
            all.countDown();
        };
        try (GuestChannel channel = vm.open(vm.offer(device), 8, 2)) {
            channel.sendInBand(0, false, null, 0, 0);
            assertTrue(busy.await(10, TimeUnit.SECONDS));
            long before = channel.signalsToParent();
            assertTrue(before <= 1);
            for (int i = 1; i <= 200; i++) {
                channel.sendInBand(i, false, VmbusFixture.longs(i), 0, 8);
            }
            assertEquals(before, channel.signalsToParent(), "the consumer is busy with its mask set: no signal");
            release.countDown();
            assertTrue(all.await(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void aWriterBlockedOnAFullRingIsWokenByThePendingSendSize() throws Exception {
        CountDownLatch busy = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        VmbusDevice device = (channel, packet) -> {
            if (packet.transactionId() == 0) {
                busy.countDown();
                release.await();
            }
        };
        GuestChannel channel = vm.open(vm.offer(device), 2, 2);
        channel.sendInBand(0, false, null, 0, 0);
        assertTrue(busy.await(10, TimeUnit.SECONDS));
        MemorySegment payload = MemorySegment.ofArray(new byte[1000]);
        int sent = 1;
        while (channel.trySendInBand(sent, false, payload, 0, 1000)) {
            sent++;
        }
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread writer = Thread.ofPlatform().start(() -> {
            try {
                channel.sendInBand(-1, false, payload, 0, 1000);
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (writer.getState() != Thread.State.WAITING && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertEquals(Thread.State.WAITING, writer.getState(), "the writer parks once the ring stays full");
        assertTrue(vm.memory.getInt(channel.end().link().toParent.controlGpa() + Ring.PENDING_SEND_SIZE) > 0,
                "it asked for room through the pending send size");
        assertEquals(0, channel.interruptsFromParent());
        release.countDown();
        writer.join(10_000);
        assertFalse(writer.isAlive());
        assertNull(failure.get());
        // Free space crossing the pending send size signals the writer; if it wakes before the reader
        // has freed enough, it asks again and is signalled once more. Never zero, never a storm.
        long interrupts = channel.interruptsFromParent();
        assertTrue(interrupts >= 1 && interrupts <= 2,
                interrupts + " signals; expected 1 (or 2 when the writer woke early and asked again)");
        assertEquals(0, vm.memory.getInt(channel.end().link().toParent.controlGpa() + Ring.PENDING_SEND_SIZE));
        channel.close();
    }

    @Test
    void queueDepthOneCostsAtMostTwoSignalsPerRequest() throws Exception {
        try (GuestChannel channel = vm.open(vm.offer(new EchoDevice()), 2, 2)) {
            VmbusPacket reply = new VmbusPacket();
            int requests = 10_000;
            for (long i = 0; i < requests; i++) {
                channel.sendInBand(i, true, null, 0, 0);
                channel.receive(reply);
                assertEquals(i, reply.transactionId());
            }
            long signals = channel.signalsToParent() + channel.interruptsFromParent();
            assertTrue(signals <= 2L * requests, signals + " signals");
            System.out.printf("QD1: %d requests, %d signals to the parent, %d interrupts to the guest%n",
                    requests, channel.signalsToParent(), channel.interruptsFromParent());
        }
    }

    @Test
    void serverTotalsCountSignalsOfClosedChannelsToo() throws Exception {
        ChannelOffer offer = vm.offer(new EchoDevice());
        long total;
        try (GuestChannel channel = vm.open(offer, 2, 2)) {
            VmbusPacket reply = new VmbusPacket();
            channel.sendInBand(1, true, null, 0, 0);
            channel.receive(reply);
            total = channel.signalsToParent() + channel.interruptsFromParent();
        }
        assertEquals(total, vm.server.signalsToParent() + vm.server.interruptsToGuest());
        assertNotNull(vm.server.lastClosure(offer).orElseThrow());
    }

    @Test
    void waitsTimeOut() throws Exception {
        VmbusFixture quiet = new VmbusFixture("quiet", 64, Duration.ZERO);
        try (quiet) {
            GuestChannel channel = quiet.open(quiet.offer((c, p) -> { }), 2, 2);
            assertFalse(channel.receive(new VmbusPacket(), 20, TimeUnit.MILLISECONDS));
            assertFalse(channel.tryReceive(new VmbusPacket()));
            channel.close();
        }
    }

    @Test
    void theSteadyStatePathAllocatesNothingPerPacket() throws Exception {
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        java.util.concurrent.atomic.AtomicLong consumer = new java.util.concurrent.atomic.AtomicLong();
        // A device the way StorVSP will be one: reads its request, touches the runs, completes from a reused buffer.
        MemorySegment completion = MemorySegment.ofArray(new byte[16]);
        VmbusDevice device = new VmbusDevice() {
            @Override
            public void opened(ParentChannel channel) {
                consumer.set(Thread.currentThread().threadId());
            }

            @Override
            public void packet(ParentChannel channel, VmbusPacket packet) throws VmbusException, InterruptedException {
                long sum = packet.payloadLong(0);
                try {
                    for (int run = 0; run < packet.runCount(); run++) {
                        channel.memory().setLong(packet.runGpa(run), packet.transactionId());
                    }
                } catch (org.vhdkit.stack.memory.GuestMemoryException e) {
                    throw new AssertionError(e);
                }
                completion.set(LONG, 0, sum);
                channel.sendCompletion(packet.transactionId(), completion, 0, 16);
            }
        };
        try (GuestChannel channel = vm.open(vm.offer(device), 2, 2)) {
            long[] buffer = vm.scatteredPages(3);
            GpaRangeList ranges = new GpaRangeList();
            MemorySegment request = MemorySegment.ofArray(new byte[40]);
            VmbusPacket reply = new VmbusPacket();
            channel.sendGpaDirect(-1, true, ranges.clear().add(0, 1, buffer, 0, 1), request, 0, 40);
            channel.receive(reply); // the device has seen opened() by now
            for (int round = 0; round < 2; round++) {
                long parentBefore = threads.getThreadAllocatedBytes(consumer.get());
                long guestBefore = threads.getCurrentThreadAllocatedBytes();
                int requests = 50_000;
                for (long i = 0; i < requests; i++) {
                    ranges.clear().add(100, 8192, buffer, 0, 3);
                    request.set(LONG, 0, i);
                    channel.sendGpaDirect(i, true, ranges, request, 0, 40);
                    channel.receive(reply);
                    if (reply.transactionId() != i || reply.payloadLong(0) != i) {
                        throw new AssertionError("request " + i + " answered by " + reply);
                    }
                }
                long parentBytes = threads.getThreadAllocatedBytes(consumer.get()) - parentBefore;
                long guestBytes = threads.getCurrentThreadAllocatedBytes() - guestBefore;
                System.out.printf("round %d: parent %d bytes, guest %d bytes for %d GPA-direct requests%n", round, parentBytes, guestBytes, requests);
                if (round == 1) {
                    // Parking now and then allocates a wait node; a packet allocates nothing.
                    assertTrue(parentBytes < requests, "parent allocated " + parentBytes + " bytes for " + requests);
                    assertTrue(guestBytes < requests, "guest allocated " + guestBytes + " bytes for " + requests);
                }
            }
        }
    }
}
