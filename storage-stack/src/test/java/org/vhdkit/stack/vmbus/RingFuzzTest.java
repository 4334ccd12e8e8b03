package org.vhdkit.stack.vmbus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.MemorySegment;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.vhdkit.stack.guest.vmbus.GuestChannel;
import org.vhdkit.stack.memory.GuestMemory;
import org.vhdkit.stack.protocol.vmbus.PacketType;

/**
 * Seeded random ring contents: the reader either hands out a packet that keeps every promise of
 * {@link VmbusPacket} or refuses with a reason; nothing else escapes, it always stops, and the
 * parent writes nowhere but its rings.
 */
class RingFuzzTest {
    private static final int PAGE = GuestMemory.PAGE_SIZE;
    private static final int MEMORY_PAGES = 64;

    @Test
    void theReaderRefusesOrDeliversWhateverTheRingHolds() throws Exception {
        Random random = new Random(0x5EED);
        int delivered = 0;
        int refused = 0;
        try (GuestMemory memory = GuestMemory.allocate("fuzz", (long) MEMORY_PAGES * PAGE)) {
            Ring ring = Gpadl.create(1, memory, new long[] {40, 41, 7, 42, 13}).ring(0, 5);
            VmbusPacket packet = new VmbusPacket();
            for (int iteration = 0; iteration < 5000; iteration++) {
                int start = random.nextInt(ring.size() / 8) * 8;
                int write = fill(ring, random, start);
                ring.publishWriteIndex(write);
                ring.publishReadIndex(start);
                if (random.nextInt(4) == 0) {
                    ring.setPendingSendSize(random.nextInt());
                    ring.setFeatureBits(random.nextInt());
                }
                RingReader reader = new RingReader(ring, new Signal(), start);
                for (int reads = 0;; reads++) {
                    assertTrue(reads <= ring.size() / 24, "the reader must run out of bytes");
                    try {
                        if (!reader.read(packet)) {
                            break;
                        }
                    } catch (RingException e) {
                        assertNotNull(e.reason());
                        refused++;
                        break;
                    }
                    delivered++;
                    checkPromises(packet, memory, ring);
                }
            }
        }
        assertTrue(delivered > 1000 && refused > 1000, delivered + " delivered, " + refused + " refused");
    }

    /** Writes a mix of valid packets, mutated packets and noise from {@code start}; returns the write index. */
    private static int fill(Ring ring, Random random, int start) throws Exception {
        int mode = random.nextInt(3);
        if (mode == 0) {
            // Pure noise and a random write index, aligned or not.
            byte[] noise = new byte[ring.size()];
            random.nextBytes(noise);
            ring.write(0, MemorySegment.ofArray(noise), 0, noise.length);
            return random.nextBoolean() ? random.nextInt(ring.size() / 8) * 8 : random.nextInt();
        }
        // Valid packets of every type, then (mode 2) a few words and bytes changed.
        RingWriter writer = new RingWriter(ring, new Signal(), start);
        ring.publishReadIndex(start);
        ring.setInterruptMask(1);
        int count = 1 + random.nextInt(6);
        for (int i = 0; i < count; i++) {
            writeRandomPacket(writer, random);
        }
        int end = writer.writeIndex();
        if (mode == 2) {
            int used = ring.available(end, start);
            for (int m = random.nextInt(4); m >= 0; m--) {
                int at = ring.advance(start, random.nextInt(Math.max(8, used)) & ~7);
                long word = ring.getLong(at);
                word = switch (random.nextInt(4)) {
                    case 0 -> random.nextLong();
                    case 1 -> word ^ (1L << random.nextInt(64));
                    case 2 -> word + random.nextInt(9) - 4;
                    default -> word & 0xFFFF_FFFFL | (long) random.nextInt(0x10000) << 32;
                };
                ring.putLong(at, word);
            }
        }
        return end;
    }

    private static void writeRandomPacket(RingWriter writer, Random random) throws RingException {
        int length = random.nextInt(300);
        MemorySegment payload = MemorySegment.ofArray(new byte[length]);
        int kind = random.nextInt(4);
        MemorySegment prefix = MemorySegment.NULL;
        int prefixLength = 0;
        PacketType type = PacketType.values()[kind];
        if (type == PacketType.GPA_DIRECT) {
            GpaRangeList ranges = new GpaRangeList();
            for (int r = random.nextInt(3); r >= 0; r--) {
                ranges.addBuffer((long) random.nextInt(MEMORY_PAGES - 4) * PAGE + random.nextInt(PAGE),
                        1 + random.nextInt(3 * PAGE));
            }
            prefixLength = ranges.encodedLength();
            prefix = MemorySegment.ofArray(new byte[prefixLength]);
            ranges.encode(prefix);
        } else if (type == PacketType.TRANSFER_PAGES) {
            TransferPageRanges ranges = new TransferPageRanges().clear(random.nextInt(0x10000));
            for (int r = random.nextInt(4); r >= 0; r--) {
                ranges.add(random.nextInt(), random.nextInt());
            }
            prefixLength = ranges.encodedLength();
            prefix = MemorySegment.ofArray(new byte[prefixLength]);
            ranges.encode(prefix);
        }
        writer.tryWrite(type, random.nextInt(2), random.nextLong(), prefix, prefixLength, payload, 0, length);
    }

    private static void checkPromises(VmbusPacket packet, GuestMemory memory, Ring ring) throws Exception {
        assertNotNull(packet.type());
        assertTrue(packet.flags() == 0 || packet.flags() == VmbusPacket.FLAG_COMPLETION_REQUESTED);
        assertTrue(packet.length() >= 16 && packet.length() + 8 <= ring.size() - 8);
        assertTrue(packet.payloadLength() >= 0 && packet.payloadLength() <= packet.length() - 16);
        if (packet.payloadLength() > 0) {
            packet.payloadByte(packet.payloadLength() - 1);
        }
        if (packet.type() == PacketType.GPA_DIRECT) {
            assertTrue(packet.rangeCount() >= 1);
            for (int r = 0; r < packet.rangeCount(); r++) {
                long bytes = 0;
                for (int run = packet.rangeFirstRun(r); run < packet.rangeEndRun(r); run++) {
                    memory.check(packet.runGpa(run), packet.runLength(run)); // throws if outside
                    assertTrue(packet.runLength(run) > 0);
                    bytes += packet.runLength(run);
                }
                assertEquals(packet.rangeByteCount(r), bytes);
            }
        } else {
            assertEquals(0, packet.runCount());
        }
        if (packet.type() == PacketType.TRANSFER_PAGES) {
            for (int i = 0; i < packet.transferRangeCount(); i++) {
                packet.transferRangeByteCount(i);
                packet.transferRangeOffset(i);
            }
        }
    }

    @Test
    void theParentSurvivesHostileRingsAndWritesOnlyIntoThem() throws Exception {
        Random random = new Random(0xBADC0DE);
        try (VmbusFixture vm = new VmbusFixture("fuzz-parent", MEMORY_PAGES * 4)) {
            // The device answers what asks for an answer, without ever waiting for room.
            VmbusDevice device = (channel, packet) -> {
                if (packet.completionRequested()) {
                    channel.trySendCompletion(packet.transactionId(), VmbusFixture.longs(packet.length()), 0, 8);
                }
            };
            ChannelOffer offer = vm.offer(device);
            VmbusFixture.EchoDevice bystanderDevice = new VmbusFixture.EchoDevice();
            long[] bystanderPages = vm.pages(4);
            GuestChannel bystander = vm.guest.open(vm.offer(bystanderDevice), bystanderPages, 2);
            long[] ringPages = vm.scatteredPages(6);
            int closed = 0;
            for (int iteration = 0; iteration < 400; iteration++) {
                GuestChannel channel = vm.guest.open(offer, ringPages, 3);
                Ring ring = channel.end().link().toParent;
                int start = ring.readIndex();
                int write = fill(ring, random, start);
                ring.publishWriteIndex(write);
                if (random.nextInt(3) == 0) {
                    Ring toGuest = channel.end().link().toGuest;
                    toGuest.publishReadIndex(random.nextBoolean() ? random.nextInt() : toGuest.readIndex());
                    toGuest.setInterruptMask(random.nextInt(2));
                }
                channel.end().link().parentEvent.raise();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (channel.isOpen() && ring.readIndex() != write) {
                    if (System.nanoTime() > deadline) {
                        fail("the parent neither consumed nor refused the ring in iteration " + iteration);
                    }
                    Thread.onSpinWait();
                }
                if (!channel.isOpen()) {
                    closed++;
                    assertTrue(channel.closure().reason().guestFault(), channel.closure().toString());
                }
                channel.close();
            }
            assertTrue(closed > 50, closed + " channels closed");
            // Still serving, and nothing outside the rings (and the bystander's) was written.
            VmbusPacket reply = new VmbusPacket();
            bystander.sendInBand(1, true, null, 0, 0);
            assertTrue(bystander.receive(reply, 10, TimeUnit.SECONDS));
            bystander.close();
            byte[] page = new byte[PAGE];
            for (long pfn = 0; pfn < vm.memory.pages(); pfn++) {
                if (contains(ringPages, pfn) || contains(bystanderPages, pfn)) {
                    continue;
                }
                vm.memory.read(pfn * PAGE, page);
                for (byte b : page) {
                    if (b != 0) {
                        fail("the parent wrote into page " + pfn + ", outside every ring");
                    }
                }
            }
        }
    }

    private static boolean contains(long[] pfns, long pfn) {
        for (long p : pfns) {
            if (p == pfn) {
                return true;
            }
        }
        return false;
    }
}
