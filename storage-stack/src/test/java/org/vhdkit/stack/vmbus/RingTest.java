package org.vhdkit.stack.vmbus;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.vhdkit.stack.memory.GuestMemory;
import org.vhdkit.stack.protocol.vmbus.PacketType;

/** One ring, a writer and a reader on the same thread: packet format, wrap-around, signalling. */
class RingTest {
    private static final int PAGE = GuestMemory.PAGE_SIZE;

    private GuestMemory memory;
    private Ring ring;
    private final Signal toReader = new Signal();
    private final Signal toWriter = new Signal();
    private RingWriter writer;
    private RingReader reader;
    private final VmbusPacket packet = new VmbusPacket();

    @BeforeEach
    void setUp() throws Exception {
        memory = GuestMemory.allocate("ring-test", 64L * PAGE);
        // Control page 10, then data pages 3 and 4 (contiguous), 20 and 7: 16 KiB, scattered.
        Gpadl gpadl = Gpadl.create(1, memory, new long[] {10, 3, 4, 20, 7});
        ring = gpadl.ring(0, 5);
        writer = new RingWriter(ring, toReader, 0);
        reader = new RingReader(ring, toWriter, 0);
    }

    @AfterEach
    void tearDown() {
        memory.close();
    }

    private static MemorySegment bytes(int length, int seed) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = (byte) (seed * 31 + i * 7);
        }
        return MemorySegment.ofArray(b);
    }

    private boolean writeInBand(long txid, int length, int seed) throws RingException {
        return writer.tryWrite(PacketType.IN_BAND, 0, txid, null, 0, bytes(length, seed), 0, length);
    }

    private void assertPayload(int length, int seed) {
        assertEquals(RingWriter.align8(length), packet.payloadLength());
        byte[] got = new byte[length];
        packet.copyPayload(0, MemorySegment.ofArray(got), 0, length);
        assertArrayEquals(bytes(length, seed).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), got);
        for (int i = length; i < packet.payloadLength(); i++) {
            assertEquals(0, packet.payloadByte(i), "padding is zero");
        }
    }

    @Test
    void inBandAndCompletionRoundTrip() throws Exception {
        for (int length = 0; length <= 41; length++) {
            assertTrue(writer.tryWrite(PacketType.IN_BAND, VmbusPacket.FLAG_COMPLETION_REQUESTED, 1000 + length, null, 0,
                    bytes(length, length), 0, length));
            assertTrue(reader.read(packet));
            assertEquals(PacketType.IN_BAND, packet.type());
            assertTrue(packet.completionRequested());
            assertEquals(1000 + length, packet.transactionId());
            assertEquals(16 + RingWriter.align8(length), packet.length());
            assertPayload(length, length);

            assertTrue(writer.tryWrite(PacketType.COMPLETION, 0, -length, null, 0, bytes(length, -length), 0, length));
            assertTrue(reader.read(packet));
            assertEquals(PacketType.COMPLETION, packet.type());
            assertFalse(packet.completionRequested());
            assertEquals(-length, packet.transactionId());
            assertPayload(length, -length);
        }
        assertFalse(reader.read(packet));
    }

    @Test
    void gpaDirectRoundTripExposesValidatedRuns() throws Exception {
        GpaRangeList ranges = new GpaRangeList()
                .addBuffer(5L * PAGE + 0x100, 10_000)              // pages 5, 6, 7: one run
                .add(100, 5000, new long[] {30, 12}, 0, 2);       // two runs, not contiguous
        MemorySegment prefix = MemorySegment.ofArray(new byte[ranges.encodedLength()]);
        ranges.encode(prefix);
        assertTrue(writer.tryWrite(PacketType.GPA_DIRECT, 1, 77, prefix, ranges.encodedLength(), bytes(20, 3), 0, 20));
        assertTrue(reader.read(packet));
        assertEquals(PacketType.GPA_DIRECT, packet.type());
        assertEquals(77, packet.transactionId());
        assertEquals(2, packet.rangeCount());
        assertEquals(10_000, packet.rangeByteCount(0));
        assertEquals(5000, packet.rangeByteCount(1));
        assertEquals(3, packet.runCount());
        assertEquals(0, packet.rangeFirstRun(0));
        assertEquals(1, packet.rangeEndRun(0));
        assertEquals(5L * PAGE + 0x100, packet.runGpa(0));
        assertEquals(10_000, packet.runLength(0));
        assertEquals(1, packet.rangeFirstRun(1));
        assertEquals(3, packet.rangeEndRun(1));
        assertEquals(30L * PAGE + 100, packet.runGpa(1));
        assertEquals(PAGE - 100, packet.runLength(1));
        assertEquals(12L * PAGE, packet.runGpa(2));
        assertEquals(5000 - (PAGE - 100), packet.runLength(2));
        assertPayload(20, 3);
    }

    @Test
    void transferPagesRoundTrip() throws Exception {
        TransferPageRanges ranges = new TransferPageRanges().clear(0xBEEF).add(0, 1500).add(4096, 60);
        MemorySegment prefix = MemorySegment.ofArray(new byte[ranges.encodedLength()]);
        ranges.encode(prefix);
        assertTrue(writer.tryWrite(PacketType.TRANSFER_PAGES, 1, 5, prefix, ranges.encodedLength(), bytes(4, 9), 0, 4));
        assertTrue(reader.read(packet));
        assertEquals(PacketType.TRANSFER_PAGES, packet.type());
        assertEquals(0xBEEF, packet.transferPageSetId());
        assertEquals(2, packet.transferRangeCount());
        assertEquals(1500, packet.transferRangeByteCount(0));
        assertEquals(0, packet.transferRangeOffset(0));
        assertEquals(60, packet.transferRangeByteCount(1));
        assertEquals(4096, packet.transferRangeOffset(1));
        assertPayload(4, 9);
    }

    @Test
    void packetsStraddleTheEndAndCarryThePreviousIndexInTheirTrailer() throws Exception {
        int size = ring.size();
        // Move both indices to 24 bytes before the end, then write a 100-byte payload across it.
        int start = size - 24;
        writer = new RingWriter(ring, toReader, start);
        reader = new RingReader(ring, toWriter, start);
        ring.publishWriteIndex(start);
        ring.publishReadIndex(start);
        assertTrue(writeInBand(42, 100, 5));
        int footprint = RingWriter.footprint(0, 100);
        assertEquals((start + footprint) % size, ring.writeIndex());
        long trailer = ring.getLong((start + footprint - 8) % size);
        assertEquals((long) start << 32, trailer, "trailer: write index before the packet << 32");
        assertTrue(reader.read(packet));
        assertEquals(42, packet.transactionId());
        assertPayload(100, 5);
        assertEquals(ring.writeIndex(), ring.readIndex());
    }

    @Test
    void aPacketExactlyFillingTheRingMinusEightFits() throws Exception {
        int size = ring.size();
        for (int start : new int[] {0, 8, 4000, size - 16, size - 8}) {
            writer = new RingWriter(ring, toReader, start);
            reader = new RingReader(ring, toWriter, start);
            ring.publishWriteIndex(start);
            ring.publishReadIndex(start);
            int payload = size - 8 - 16 - 8;
            assertTrue(writeInBand(start, payload, start), "footprint size - 8 fits an empty ring at " + start);
            assertEquals(size - 8, ring.available(ring.writeIndex(), ring.readIndex()));
            assertFalse(writeInBand(1, 0, 0), "not even an empty packet fits now");
            assertTrue(reader.read(packet));
            assertEquals(start, packet.transactionId());
            assertPayload(payload, start);
            assertFalse(reader.read(packet));
        }
        assertThrows(IllegalArgumentException.class, () -> writeInBand(1, size - 8 - 16 - 8 + 1, 0),
                "one byte more can never fit");
    }

    @Test
    void aFullRingRefusesUntilTheReaderFreesRoom() throws Exception {
        int written = 0;
        while (writeInBand(written, 1000, written)) {
            written++;
        }
        assertEquals(15, written, "16 KiB holds 15 packets of 1024 bytes plus trailer");
        assertTrue(reader.read(packet));
        assertTrue(writeInBand(written, 1000, written));
        for (int i = 1; i <= written; i++) {
            assertTrue(reader.read(packet));
            assertEquals(i, packet.transactionId());
            assertPayload(1000, i);
        }
        assertFalse(reader.read(packet));
    }

    @Test
    void randomSequenceMatchesAQueueModel() throws Exception {
        Random random = new Random(1234);
        ArrayDeque<long[]> model = new ArrayDeque<>(); // {txid, length, free-space footprint}
        int used = 0;
        long txid = 0;
        for (int op = 0; op < 30_000; op++) {
            if (random.nextInt(100) < 55) {
                int length = random.nextInt(random.nextInt(10) == 0 ? 6000 : 200);
                int footprint = RingWriter.footprint(0, length);
                boolean fits = used + footprint <= ring.size() - 8;
                assertEquals(fits, writeInBand(txid, length, (int) txid), "write " + op);
                if (fits) {
                    model.add(new long[] {txid, length, footprint});
                    used += footprint;
                    txid++;
                }
            } else {
                long[] expected = model.poll();
                assertEquals(expected != null, reader.read(packet), "read " + op);
                if (expected != null) {
                    assertEquals(expected[0], packet.transactionId());
                    assertPayload((int) expected[1], (int) expected[0]);
                    used -= (int) expected[2];
                }
            }
            assertEquals(used, ring.available(ring.writeIndex(), ring.readIndex()));
        }
    }

    @Test
    void aBurstWrittenWhileTheReaderWaitsCostsOneSignal() throws Exception {
        ring.setInterruptMask(0); // the reader is about to park
        for (int i = 0; i < 100; i++) {
            assertTrue(writeInBand(i, 16, i));
        }
        assertEquals(1, toReader.count(), "only the empty-to-non-empty write signals");
        while (reader.read(packet)) {
            // drain
        }
        assertTrue(writeInBand(100, 16, 100));
        assertEquals(2, toReader.count(), "the ring was empty again");
        assertEquals(0, toWriter.count());
    }

    @Test
    void theInterruptMaskSuppressesSignals() throws Exception {
        reader.setInterruptMask(true);
        for (int i = 0; i < 10; i++) {
            assertTrue(writeInBand(i, 8, i));
            assertTrue(reader.read(packet));
        }
        assertEquals(0, toReader.count());
        reader.setInterruptMask(false);
        assertTrue(writeInBand(10, 8, 10));
        assertEquals(1, toReader.count());
    }

    @Test
    void freeSpaceCrossingThePendingSendSizeSignalsTheWriterOnce() throws Exception {
        ring.setFeatureBits(Ring.FEATURE_PENDING_SEND_SIZE);
        while (writeInBand(0, 1000, 0)) {
            // fill
        }
        int want = 2 * RingWriter.footprint(0, 1000);
        writer.setPendingSendSize(want);
        assertTrue(reader.read(packet));
        assertEquals(0, toWriter.count(), "one packet freed is not yet what the writer asked for");
        assertTrue(reader.read(packet));
        assertEquals(1, toWriter.count(), "the second crosses the pending send size");
        assertTrue(reader.read(packet));
        assertEquals(1, toWriter.count(), "already above it: no further signal");
        writer.setPendingSendSize(0);
        assertTrue(reader.read(packet));
        assertEquals(1, toWriter.count(), "no pending send size, no signal");
    }

    @Test
    void noPendingSendSizeSignalWithoutTheFeatureBit() throws Exception {
        ring.setFeatureBits(0);
        while (writeInBand(0, 1000, 0)) {
            // fill
        }
        writer.setPendingSendSize(RingWriter.footprint(0, 1000));
        while (reader.read(packet)) {
            // drain
        }
        assertEquals(0, toWriter.count());
    }

    @Test
    void gpadlMapsOffsetsAcrossScatteredPages() throws Exception {
        Gpadl gpadl = Gpadl.create(7, memory, new long[] {9, 2, 40});
        assertEquals(9L * PAGE, gpadl.gpa(0));
        assertEquals(9L * PAGE + 4095, gpadl.gpa(4095));
        assertEquals(2L * PAGE, gpadl.gpa(4096));
        assertEquals(40L * PAGE + 17, gpadl.gpa(2 * 4096 + 17));
        assertThrows(IndexOutOfBoundsException.class, () -> gpadl.gpa(3 * 4096));
        VmbusException outside = assertThrows(VmbusException.class,
                () -> Gpadl.create(8, memory, new long[] {1, 64}));
        assertEquals(ChannelClosedReason.GPADL_OUTSIDE_MEMORY, outside.reason());
        assertEquals(ChannelClosedReason.GPADL_OUTSIDE_MEMORY,
                assertThrows(VmbusException.class, () -> Gpadl.create(8, memory, new long[] {-1})).reason());
        assertEquals(ChannelClosedReason.BAD_GPADL,
                assertThrows(VmbusException.class, () -> Gpadl.create(8, memory, new long[0])).reason());
    }
}
