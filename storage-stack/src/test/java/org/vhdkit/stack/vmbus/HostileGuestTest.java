package org.vhdkit.stack.vmbus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.vhdkit.stack.guest.vmbus.GuestChannel;
import org.vhdkit.stack.testing.LogCapture;
import org.vhdkit.stack.vmbus.VmbusFixture.EchoDevice;

/**
 * A guest that writes its ring by hand: every corruption closes that channel with its reason, the
 * parent keeps serving another channel of the same VM, and the closed offer can be opened again.
 */
class HostileGuestTest {
    private static final int MEMORY_PAGES = 1024;

    private VmbusFixture vm;
    private EchoDevice victimDevice;
    private EchoDevice bystanderDevice;
    private ChannelOffer victimOffer;
    private GuestChannel victim;
    private GuestChannel bystander;

    @BeforeEach
    void setUp() throws Exception {
        vm = new VmbusFixture("hostile", MEMORY_PAGES);
        victimDevice = new EchoDevice();
        bystanderDevice = new EchoDevice();
        victimOffer = vm.offer(victimDevice);
        victim = vm.open(victimOffer, 2, 2);
        bystander = vm.open(vm.offer(bystanderDevice), 2, 2);
        roundTrip(victim, 1);
        roundTrip(bystander, 1);
    }

    @AfterEach
    void tearDown() {
        vm.close();
    }

    /** A request with completion through {@code channel}, in-band and GPA direct. */
    private void roundTrip(GuestChannel channel, long txid) throws Exception {
        VmbusPacket reply = new VmbusPacket();
        channel.sendInBand(txid, true, VmbusFixture.longs(txid), 0, 8);
        assertTrue(channel.receive(reply, 10, TimeUnit.SECONDS));
        assertEquals(txid, reply.transactionId());
        assertEquals(txid, reply.payloadLong(0));
        long[] buffer = vm.pages(2);
        channel.sendGpaDirect(txid + 1, true, new GpaRangeList().add(10, 5000, buffer, 0, 2), null, 0, 0);
        assertTrue(channel.receive(reply, 10, TimeUnit.SECONDS));
        assertEquals(5000, reply.payloadLong(0));
        assertEquals((byte) (txid + 1), vm.memory.getByte(buffer[1] * 4096 + 5010 - 4096 - 1));
    }

    static long descriptor(int type, int offset8, int length8, int flags) {
        return (type & 0xFFFFL) | (offset8 & 0xFFFFL) << 16 | (length8 & 0xFFFFL) << 32 | (flags & 0xFFFFL) << 48;
    }

    /** Writes {@code words} at the ring's write index, publishes the new index and signals. */
    static void inject(GuestChannel channel, long... words) throws Exception {
        Ring ring = channel.end().link().toParent;
        int w = ring.writeIndex();
        for (long word : words) {
            ring.putLong(w, word);
            w = ring.advance(w, 8);
        }
        ring.publishWriteIndex(w);
        channel.end().link().parentEvent.raise();
    }

    /** Publishes a write index as is, and signals. */
    static void publishWriteIndex(GuestChannel channel, int index) throws Exception {
        channel.end().link().toParent.publishWriteIndex(index);
        channel.end().link().parentEvent.raise();
    }

    @FunctionalInterface
    interface Corruption {
        void apply(GuestChannel channel) throws Exception;
    }

    static Stream<Arguments> corruptions() {
        long trailer = 0;
        int pages = MEMORY_PAGES;
        return Stream.of(
                Arguments.of("write index not 8-aligned", ChannelClosedReason.BAD_WRITE_INDEX,
                        (Corruption) c -> publishWriteIndex(c, c.end().link().toParent.readIndex() + 12)),
                Arguments.of("write index at the end of the data area", ChannelClosedReason.BAD_WRITE_INDEX,
                        (Corruption) c -> publishWriteIndex(c, c.end().link().toParent.size())),
                Arguments.of("write index far past the ring", ChannelClosedReason.BAD_WRITE_INDEX,
                        (Corruption) c -> publishWriteIndex(c, 0x7FFF_FFF8)),
                Arguments.of("write index negative as a u32", ChannelClosedReason.BAD_WRITE_INDEX,
                        (Corruption) c -> publishWriteIndex(c, -8)),
                Arguments.of("fewer bytes than a descriptor and trailer", ChannelClosedReason.BAD_PACKET_LENGTH,
                        (Corruption) c -> inject(c, descriptor(6, 2, 2, 0), 7)),
                Arguments.of("length beyond the bytes written", ChannelClosedReason.BAD_PACKET_LENGTH,
                        (Corruption) c -> inject(c, descriptor(6, 2, 100, 0), 1, 2, trailer)),
                Arguments.of("length larger than the ring", ChannelClosedReason.BAD_PACKET_LENGTH,
                        (Corruption) c -> inject(c, descriptor(6, 2, 0xFFFF, 0), 1, 2, trailer)),
                Arguments.of("length shorter than the descriptor", ChannelClosedReason.BAD_PACKET_LENGTH,
                        (Corruption) c -> inject(c, descriptor(6, 1, 1, 0), 1, trailer)),
                Arguments.of("data offset beyond the packet", ChannelClosedReason.BAD_DATA_OFFSET,
                        (Corruption) c -> inject(c, descriptor(6, 4, 3, 0), 1, 2, trailer)),
                Arguments.of("data offset inside the descriptor", ChannelClosedReason.BAD_DATA_OFFSET,
                        (Corruption) c -> inject(c, descriptor(6, 1, 3, 0), 1, 2, trailer)),
                Arguments.of("unknown packet type", ChannelClosedReason.BAD_PACKET_TYPE,
                        (Corruption) c -> inject(c, descriptor(5, 2, 3, 0), 1, 2, trailer)),
                Arguments.of("type 0xFFFF", ChannelClosedReason.BAD_PACKET_TYPE,
                        (Corruption) c -> inject(c, descriptor(0xFFFF, 2, 2, 0), 1, trailer)),
                Arguments.of("unknown flags", ChannelClosedReason.BAD_PACKET_FLAGS,
                        (Corruption) c -> inject(c, descriptor(6, 2, 2, 0x8001), 1, trailer)),
                Arguments.of("GPA direct without room for its range header", ChannelClosedReason.BAD_DATA_OFFSET,
                        (Corruption) c -> inject(c, descriptor(9, 2, 3, 1), 1, 1L << 32, trailer)),
                Arguments.of("GPA direct with 2^32-1 ranges", ChannelClosedReason.BAD_GPA_RANGE_COUNT,
                        (Corruption) c -> inject(c, descriptor(9, 5, 5, 1), 1, 0xFFFF_FFFFL << 32, 4096, 3, trailer)),
                Arguments.of("GPA direct with no ranges", ChannelClosedReason.BAD_GPA_RANGE_COUNT,
                        (Corruption) c -> inject(c, descriptor(9, 3, 3, 1), 1, 0, trailer)),
                Arguments.of("GPA direct with more ranges than it holds", ChannelClosedReason.BAD_GPA_RANGE_COUNT,
                        (Corruption) c -> inject(c, descriptor(9, 5, 5, 1), 1, 2L << 32, 4096, 3, trailer)),
                Arguments.of("GPA range on a page past the end of memory", ChannelClosedReason.GPA_OUTSIDE_MEMORY,
                        (Corruption) c -> inject(c, descriptor(9, 5, 5, 1), 1, 1L << 32, 4096, pages, trailer)),
                Arguments.of("GPA range on a negative page number", ChannelClosedReason.GPA_OUTSIDE_MEMORY,
                        (Corruption) c -> inject(c, descriptor(9, 5, 5, 1), 1, 1L << 32, 4096, Long.MIN_VALUE, trailer)),
                Arguments.of("GPA range whose second page is outside memory", ChannelClosedReason.GPA_OUTSIDE_MEMORY,
                        (Corruption) c -> inject(c, descriptor(9, 6, 6, 1), 1, 1L << 32, 8192, 3, 1L << 40, trailer)),
                Arguments.of("GPA range starting past its first page", ChannelClosedReason.BAD_GPA_RANGE,
                        (Corruption) c -> inject(c, descriptor(9, 5, 5, 1), 1, 1L << 32, 16 | 4096L << 32, 3, trailer)),
                Arguments.of("GPA range of zero bytes", ChannelClosedReason.BAD_GPA_RANGE,
                        (Corruption) c -> inject(c, descriptor(9, 5, 5, 1), 1, 1L << 32, 0, 3, trailer)),
                Arguments.of("GPA range with more bytes than its pages", ChannelClosedReason.BAD_GPA_RANGE,
                        (Corruption) c -> inject(c, descriptor(9, 5, 5, 1), 1, 1L << 32, 4097, 3, trailer)),
                Arguments.of("GPA range of 4 GiB with one page", ChannelClosedReason.BAD_GPA_RANGE,
                        (Corruption) c -> inject(c, descriptor(9, 5, 5, 1), 1, 1L << 32, 0xFFFF_FFFFL | 4095L << 32, 3, trailer)),
                Arguments.of("transfer pages with more ranges than they hold", ChannelClosedReason.BAD_TRANSFER_RANGES,
                        (Corruption) c -> inject(c, descriptor(7, 4, 4, 1), 1, 2L << 32, 100, trailer)),
                Arguments.of("read index of the parent's ring corrupted", ChannelClosedReason.BAD_READ_INDEX,
                        (Corruption) c -> {
                            c.end().link().toGuest.publishReadIndex(4);
                            c.sendInBand(99, true, null, 0, 0);
                        }),
                Arguments.of("read index of the parent's ring past its end", ChannelClosedReason.BAD_READ_INDEX,
                        (Corruption) c -> {
                            c.end().link().toGuest.publishReadIndex(c.end().link().toGuest.size() + 8);
                            c.sendInBand(99, true, null, 0, 0);
                        }));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corruptions")
    void eachCorruptionClosesOnlyThatChannel(String name, ChannelClosedReason reason, Corruption corruption)
            throws Exception {
        corruption.apply(victim);
        ChannelClosure closure = victimDevice.awaitClosed();
        assertEquals(reason, closure.reason(), closure.detail());
        assertEquals(closure, vm.server.lastClosure(victimOffer).orElseThrow());
        assertFalse(victim.isOpen());
        assertThrows(ChannelClosedException.class, () -> victim.sendInBand(1, true, null, 0, 0));
        GuestNotification note;
        boolean told = false;
        while ((note = vm.guest.nextNotification(10, TimeUnit.MILLISECONDS)) != null) {
            told |= note.equals(new GuestNotification.Closed(victimOffer, closure));
        }
        assertTrue(told, "the guest is told why");

        roundTrip(bystander, 50);
        assertTrue(bystander.isOpen());
        assertFalse(bystanderDevice.closed.isDone());

        victim.close();
        try (GuestChannel again = vm.open(victimOffer, 2, 2)) {
            roundTrip(again, 70);
        }
    }

    @Test
    void aGpadlNamingPagesOutsideMemoryIsRefused() throws Exception {
        VmbusException refused = assertThrows(VmbusException.class,
                () -> vm.guest.createGpadl(vm.pages(3)[0], MEMORY_PAGES + 5, 7));
        assertEquals(ChannelClosedReason.GPADL_OUTSIDE_MEMORY, refused.reason());
        victim.close();
        assertEquals(ChannelClosedReason.GPADL_OUTSIDE_MEMORY, assertThrows(VmbusException.class,
                () -> vm.guest.open(victimOffer, new long[] {1, 2, 3, MEMORY_PAGES}, 2)).reason());
        roundTrip(bystander, 5);
    }

    @Test
    void ringsWithCorruptIndicesAtOpenAreRefused() throws Exception {
        victim.close();
        int gpadl = vm.guest.createGpadl(vm.pages(4));
        ChannelClosedException refused = assertThrows(ChannelClosedException.class,
                () -> vm.server.open(victimOffer.channelId(), gpadl, 2, (g, n) -> g.ring(n, 2).publishWriteIndex(13)));
        assertEquals(ChannelClosedReason.BAD_WRITE_INDEX, refused.closure().reason());
        assertEquals(refused.closure(), vm.server.lastClosure(victimOffer).orElseThrow());
        assertEquals(ChannelClosedReason.BAD_READ_INDEX, assertThrows(ChannelClosedException.class,
                () -> vm.server.open(victimOffer.channelId(), gpadl, 2, (g, n) -> g.ring(0, n).publishReadIndex(1 << 20)))
                .closure().reason());
        vm.guest.teardownGpadl(gpadl);
        roundTrip(bystander, 5);
    }

    @Test
    void aDeviceThatRefusesOrFailsClosesItsChannelAndNothingElse() throws Exception {
        class Picky extends EchoDevice {
            @Override
            public void packet(ParentChannel channel, VmbusPacket packet) throws VmbusException, InterruptedException {
                if (packet.transactionId() == 666) {
                    throw new VmbusException(ChannelClosedReason.DEVICE_REFUSED, "operation 666 is not in the protocol");
                }
                if (packet.transactionId() == 777) {
                    throw new IllegalStateException("a bug in the device");
                }
                super.packet(channel, packet);
            }
        }
        Picky refusing = new Picky();
        Picky failing = new Picky();
        try (LogCapture log = LogCapture.of(ParentChannel.class, VmbusServer.class)) {
            GuestChannel a = vm.open(vm.offer(refusing), 2, 2);
            GuestChannel b = vm.open(vm.offer(failing), 2, 2);
            a.sendInBand(666, true, null, 0, 0);
            b.sendInBand(777, true, null, 0, 0);
            assertEquals(ChannelClosedReason.DEVICE_REFUSED, refusing.awaitClosed().reason());
            ChannelClosure failed = failing.awaitClosed();
            assertEquals(ChannelClosedReason.DEVICE_FAILED, failed.reason());
            assertTrue(failed.detail().contains("a bug in the device"));
            // A device's bug is an error in the log, with its exception; a refusal is not.
            int channel = b.offer().channelId();
            LogRecord bug = log.assertOne(Level.SEVERE, "VMBus channel " + channel + " of hostile: device "
                    + Picky.class.getName() + " failed");
            assertEquals("a bug in the device", bug.getThrown().getMessage());
            log.assertOne(Level.SEVERE, "VMBus channel " + channel + " of hostile closed: DEVICE_FAILED");
            assertEquals(2, log.records().stream().filter(r -> r.getLevel() == Level.SEVERE).count(),
                    () -> log.records().toString());
        }
        roundTrip(bystander, 5);
        roundTrip(victim, 9);
    }

    @Test
    void aGuestThatNeverReadsBlocksOnlyItsOwnChannel() throws Exception {
        // The guest floods requests asking for completions and never reads one: the parent's
        // completions fill the guest's ring, its consumer waits for room, and the channel still
        // closes promptly on request; the other channel never notices.
        MemorySegment payload = MemorySegment.ofArray(new byte[200]);
        long sent = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline && sent < 10_000) {
            if (victim.trySendInBand(sent, true, payload, 0, 200)) {
                sent++;
            } else if (ringFullFor(victim)) {
                break;
            }
        }
        assertTrue(ringFullFor(victim), "the parent waits for room in the guest's ring");
        roundTrip(bystander, 11);
        victim.close();
        assertEquals(ChannelClosedReason.GUEST_CLOSED, victimDevice.awaitClosed().reason());
        roundTrip(bystander, 13);
    }

    private static boolean ringFullFor(GuestChannel channel) throws Exception {
        Ring toGuest = channel.end().link().toGuest;
        // The parent has stopped: its completions fill the guest's ring.
        return toGuest.free(toGuest.writeIndex(), toGuest.readIndex()) < 2 * RingWriter.footprint(0, 200);
    }
}
