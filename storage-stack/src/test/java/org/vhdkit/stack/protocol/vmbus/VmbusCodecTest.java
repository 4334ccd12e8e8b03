package org.vhdkit.stack.protocol.vmbus;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.vhdkit.stack.protocol.ProtocolException;

/** The VMBus packet codecs: exact bytes, round trips, and refusal of truncated and garbage input. */
class VmbusCodecTest {
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static String hex(MemorySegment s, long from, long count) {
        return HexFormat.of().formatHex(s.asSlice(from, count).toArray(ValueLayout.JAVA_BYTE));
    }

    @Test
    void aDescriptorRoundTripsInSixteenBytes() throws Exception {
        PacketDescriptor d = new PacketDescriptor(PacketType.GPA_DIRECT, 48, 112,
                PacketDescriptor.FLAG_COMPLETION_REQUESTED, 0x0102030405060708L);
        MemorySegment s = MemorySegment.ofArray(new byte[PacketDescriptor.LENGTH]);
        d.encode(s, 0);
        assertEquals("0900" + "0600" + "0e00" + "0100" + "0807060504030201", hex(s, 0, 16));
        assertEquals(d, PacketDescriptor.decode(s, 0, 112));
        long word = s.get(LONG, 0);
        assertEquals(9, PacketDescriptor.typeCode(word));
        assertEquals(48, PacketDescriptor.dataOffset(word));
        assertEquals(112, PacketDescriptor.length(word));
        assertEquals(1, PacketDescriptor.flags(word));
        assertNull(PacketDescriptor.check(word, 112));
        assertEquals(0xFFFF * 8, PacketDescriptor.MAX_PACKET_LENGTH);
    }

    @Test
    void checkNamesEachProblemOfADescriptor() {
        // {type, data offset, length, flags} of a packet that may take 100 bytes, and the problem
        int[][] words = {{6, 16, 8, 0}, {6, 16, 104, 0}, {6, 8, 32, 0}, {6, 40, 32, 0}, {5, 16, 32, 0}, {11, 16, 32, 2}};
        PacketDescriptor.Problem[] problems = {PacketDescriptor.Problem.SHORTER_THAN_DESCRIPTOR,
                PacketDescriptor.Problem.LONGER_THAN_AVAILABLE, PacketDescriptor.Problem.DATA_OFFSET_OUTSIDE,
                PacketDescriptor.Problem.DATA_OFFSET_OUTSIDE, PacketDescriptor.Problem.UNKNOWN_TYPE,
                PacketDescriptor.Problem.UNKNOWN_FLAGS};
        for (int i = 0; i < words.length; i++) {
            int[] w = words[i];
            assertEquals(problems[i], PacketDescriptor.check(PacketDescriptor.word(w[0], w[1], w[2], w[3]), 100),
                    java.util.Arrays.toString(w));
        }
    }

    @Test
    void decodeRefusesTruncatedAndGarbageDescriptors() {
        MemorySegment s = MemorySegment.ofArray(new byte[16]);
        ProtocolException truncated = assertThrows(ProtocolException.class, () -> PacketDescriptor.decode(s, 0, 15));
        assertEquals("VMBus packet: packet descriptor: 15 bytes; it takes 16", truncated.getMessage());
        s.set(LONG, 0, PacketDescriptor.word(7, 16, 64, 0));
        ProtocolException oversized = assertThrows(ProtocolException.class, () -> PacketDescriptor.decode(s, 0, 56));
        assertEquals("a packet of 64 bytes in 56", oversized.problem());
        s.set(LONG, 0, 0xFFFF_FFFF_FFFF_FFFFL);
        ProtocolException garbage = assertThrows(ProtocolException.class, () -> PacketDescriptor.decode(s, 0, 1 << 20));
        assertEquals("type 65535", garbage.problem()); // all ones: the lengths fit, the type does not
        assertThrows(IllegalArgumentException.class, () -> new PacketDescriptor(PacketType.IN_BAND, 8, 16, 0, 0));
    }

    @Test
    void aGpaRangeRoundTripsWithExactlyItsPages() throws Exception {
        GpaRange r = new GpaRange(8192, 100, new long[] {0x200, 0x201, 0x300});
        assertEquals(8 + 3 * 8, r.encodedLength());
        MemorySegment s = MemorySegment.ofArray(new byte[r.encodedLength()]);
        r.encode(s, 0);
        assertEquals("00200000" + "64000000" + "0002000000000000", hex(s, 0, 16));
        assertEquals(r, GpaRange.decode(s, 0, s.byteSize()));
        assertArrayEquals(new long[] {0x200, 0x201, 0x300}, GpaRange.decode(s, 0, s.byteSize()).pageNumbers());
        assertEquals(3, RangeHeaders.pagesSpanned(100, 8192));
        assertEquals(1, RangeHeaders.pagesSpanned(0, 4096));
    }

    @Test
    void aGpaRangeRefusesTruncatedAndImpossibleRanges() {
        MemorySegment s = MemorySegment.ofArray(new byte[32]);
        new GpaRange(8192, 100, new long[] {1, 2, 3}).encode(s, 0);
        ProtocolException pages = assertThrows(ProtocolException.class, () -> GpaRange.decode(s, 0, 24));
        assertEquals("8192 bytes at offset 100 need 3 page numbers, the bytes give 2", pages.problem());
        assertThrows(ProtocolException.class, () -> GpaRange.decode(s, 0, 7));
        s.set(LONG, 0, RangeHeaders.rangeWord(0, 0));
        assertEquals("GPA range", assertThrows(ProtocolException.class, () -> GpaRange.decode(s, 0, 32)).field());
        s.set(LONG, 0, RangeHeaders.rangeWord(1, 4096));
        assertThrows(ProtocolException.class, () -> GpaRange.decode(s, 0, 32));
        assertThrows(IllegalArgumentException.class, () -> new GpaRange(4096, 1, new long[] {1}));
    }

    @Test
    void rangeHeadersAndTransferPageRangesRoundTrip() throws Exception {
        MemorySegment s = MemorySegment.ofArray(new byte[16]);
        RangeHeaders.writeTransferPages(s, 0, 0xBEEF, 1);
        new TransferPageRange(0xFFFF_FFFFL, 0x1000).encode(s, 8);
        assertEquals("efbe" + "0000" + "01000000" + "ffffffff" + "00100000", hex(s, 0, 16));
        assertEquals(0xBEEF, RangeHeaders.transferPageSetId(s, 0));
        assertEquals(1, RangeHeaders.rangeCount(s, 0));
        assertEquals(new TransferPageRange(0xFFFF_FFFFL, 0x1000), TransferPageRange.decode(s, 8, 8));
        assertThrows(ProtocolException.class, () -> TransferPageRange.decode(s, 8, 7));
        RangeHeaders.writeGpaDirect(s, 0, 3);
        assertEquals("00000000" + "03000000", hex(s, 0, 8));
    }

    @Test
    void packetTypesHaveTheirWireCodes() {
        assertEquals(6, PacketType.IN_BAND.code());
        assertEquals(7, PacketType.TRANSFER_PAGES.code());
        assertEquals(9, PacketType.GPA_DIRECT.code());
        assertEquals(11, PacketType.COMPLETION.code());
        assertNull(PacketType.of(8));
    }
}
