package org.vhdkit.stack.protocol.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.vhdkit.stack.protocol.ProtocolException;

/** The storage protocol's codecs: exact bytes, round trips, and refusal of short, long and garbage input. */
class StorageCodecTest {
    private static String hex(MemorySegment s, long from, long count) {
        return HexFormat.of().formatHex(s.asSlice(from, count).toArray(ValueLayout.JAVA_BYTE));
    }

    @Test
    void packetHeaderRoundTripsInTwelveBytes() throws Exception {
        PacketHeader h = new PacketHeader(StorageProtocol.COMPLETE_IO, 0, StorageProtocol.STATUS_REVISION_MISMATCH);
        MemorySegment s = MemorySegment.ofArray(new byte[PacketHeader.LENGTH]);
        h.encode(s, 0);
        assertEquals("01000000" + "00000000" + "590000c0", hex(s, 0, 12));
        assertEquals(h, PacketHeader.decode(s, 0, 12));
        assertEquals(12, PacketHeader.LENGTH);
        assertEquals(StorageProtocol.COMPLETE_IO, PacketHeader.operation(s, 0));
        assertEquals(StorageProtocol.STATUS_REVISION_MISMATCH, PacketHeader.status(s, 0));
    }

    @Test
    void packetHeaderRefusesATruncatedPacket() {
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> PacketHeader.decode(MemorySegment.ofArray(new byte[11]), 0, 11));
        assertEquals("storage protocol: packet header: 11 bytes; it takes 12", e.getMessage());
    }

    @Test
    void protocolVersionRoundTripsInFourBytes() throws Exception {
        ProtocolVersion v = new ProtocolVersion(StorageProtocol.VERSION_WIN8, 3);
        MemorySegment s = MemorySegment.ofArray(new byte[8]);
        v.encode(s, 2);
        assertEquals("0000" + "0105" + "0300" + "0000", hex(s, 0, 8));
        assertEquals(v, ProtocolVersion.decode(s, 2, 4));
        assertEquals("5.1 revision 3", v.toString());
        assertThrows(ProtocolException.class, () -> ProtocolVersion.decode(s, 2, 3));
        assertThrows(IllegalArgumentException.class, () -> new ProtocolVersion(0x1_0000, 0));
    }

    @Test
    void channelPropertiesRoundTripInTwentyFourBytes() throws Exception {
        ChannelProperties p = new ChannelProperties(2, 1, StorageProtocol.MAX_TRANSFER_BYTES);
        MemorySegment s = MemorySegment.ofArray(new byte[ChannelProperties.LENGTH]);
        s.fill((byte) 0x5A);
        p.encode(s, 0);
        assertEquals("00000000" + "0200" + "0000" + "01000000" + "00000400" + "0000000000000000", hex(s, 0, 24));
        assertEquals(p, ChannelProperties.decode(s, 0, 24));
        assertEquals(StorageProtocol.MAX_TRANSFER_BYTES, ChannelProperties.maxTransferBytes(s, 0, 16));
        assertEquals(0, ChannelProperties.maxTransferBytes(s, 0, 15), "a short answer gives no limit");
        ProtocolException e = assertThrows(ProtocolException.class, () -> ChannelProperties.decode(s, 0, 20));
        assertTrue(e.getMessage().contains("QUERY_PROPERTIES union: 20 bytes; it takes 24"), e.getMessage());
    }

    @Test
    void layoutsHaveTheSizesOfTheProtocolNotes() {
        assertEquals(0x24, SrbLayout.V1.length());
        assertEquals(0x12, SrbLayout.V1.senseLength());
        assertEquals(0x34, SrbLayout.V2.length());
        assertEquals(0x14, SrbLayout.V2.senseLength());
        assertEquals(SrbLayout.V1, SrbLayout.of(StorageProtocol.VERSION_WIN7));
        assertEquals(SrbLayout.V2, SrbLayout.of(StorageProtocol.VERSION_WIN8));
        assertEquals(SrbLayout.V2, SrbLayout.of(StorageProtocol.VERSION_THRESHOLD));
        assertEquals(0x40, StorageProtocol.MAX_PACKET_LENGTH);
    }

    @Test
    void srbV1RoundTripsIn0x24Bytes() throws Exception {
        byte[] cdb = {(byte) 0x88, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 8, 0, 0};
        Srb srb = Srb.request(SrbLayout.V1, 5, cdb, 0x12, StorageProtocol.DATA_IN, 4096);
        MemorySegment s = MemorySegment.ofArray(new byte[0x24]);
        srb.encode(s, 0);
        assertEquals("2400" + "0000" + "00000005" + "10120100" + "00100000"
                + "880000000000000000070000000800000000" + "0000", hex(s, 0, 0x24));
        Srb back = Srb.decode(s, 0, 0x24, SrbLayout.V1);
        assertEquals(srb, back);
        assertArrayEquals(java.util.Arrays.copyOf(cdb, 20), back.cdbOrSense());
    }

    @Test
    void srbV2RoundTripsIn0x34BytesWithItsExtension() throws Exception {
        byte[] area = new byte[20];
        area[0] = 0x70;
        area[2] = 0x05;
        area[12] = 0x24;
        Srb srb = new Srb(SrbLayout.V2, 0x84, 0x02, 1, 0, 0, 3, 16, 0x14, StorageProtocol.DATA_OUT, 512, area, 7, 0x20,
                0x82, 60, 9);
        MemorySegment s = MemorySegment.ofArray(new byte[0x40]);
        srb.encode(s, 0x0C);
        assertEquals("3400" + "8402" + "01000003" + "10140000" + "00020000", hex(s, 0x0C, 16));
        assertEquals("0000" + "07" + "20" + "82000000" + "3c000000" + "09000000", hex(s, 0x0C + 36, 16));
        assertEquals(srb, Srb.decode(s, 0x0C, 0x34, SrbLayout.V2));
        SrbView v = new SrbView(s, 0x0C);
        assertEquals(0x84, v.srbStatus());
        assertEquals(0x05, v.cdbSenseByte(2));
        assertEquals(0x24, v.cdbSenseByte(12));
        assertEquals(512, v.dataTransferLength());
        assertEquals(0x82, v.srbFlags());
        assertEquals(60, v.timeOutValue());
    }

    @Test
    void srbRefusesTruncatedOversizedAndGarbageInput() {
        MemorySegment s = MemorySegment.ofArray(new byte[0x40]);
        Srb.request(SrbLayout.V2, 0, new byte[] {0}, 0x14, StorageProtocol.DATA_UNKNOWN, 0).encode(s, 0);
        ProtocolException truncated = assertThrows(ProtocolException.class, () -> Srb.decode(s, 0, 0x33, SrbLayout.V2));
        assertEquals("storage protocol: SRB (layout V2): 51 bytes; it takes 52", truncated.getMessage());
        ProtocolException oversized = assertThrows(ProtocolException.class, () -> Srb.decode(s, 0, 0x34, SrbLayout.V1));
        assertEquals("storage protocol: SRB (layout V1): 52 bytes; it takes 36", oversized.getMessage());

        s.set(ValueLayout.JAVA_BYTE, 8, (byte) 17);
        ProtocolException cdb = assertThrows(ProtocolException.class, () -> Srb.decode(s, 0, 0x34, SrbLayout.V2));
        assertEquals("storage protocol: SRB CDB length at offset 8 (0x8): 17 bytes; at most 16", cdb.getMessage());
        s.set(ValueLayout.JAVA_BYTE, 8, (byte) 1);

        s.set(ValueLayout.JAVA_BYTE, 9, (byte) 0x15);
        ProtocolException sense = assertThrows(ProtocolException.class, () -> Srb.decode(s, 0, 0x34, SrbLayout.V2));
        assertEquals("SRB sense info length", sense.field());
        assertEquals(9, sense.offset());
        s.set(ValueLayout.JAVA_BYTE, 9, (byte) 0x14);

        s.set(ValueLayout.JAVA_BYTE, 10, (byte) 3);
        assertEquals("SRB data in", assertThrows(ProtocolException.class,
                () -> Srb.decode(s, 0, 0x34, SrbLayout.V2)).field());
        s.set(ValueLayout.JAVA_BYTE, 10, (byte) 2);

        s.set(ValueLayout.JAVA_BYTE, 0, (byte) 0x30);
        assertEquals("SRB length", assertThrows(ProtocolException.class,
                () -> Srb.decode(s, 0, 0x34, SrbLayout.V2)).field());
    }

    @Test
    void srbViewCheckRefusesLessThanTheSmallerLayout() throws Exception {
        SrbView.check(0x24);
        ProtocolException e = assertThrows(ProtocolException.class, () -> SrbView.check(0x23));
        assertEquals("storage protocol: SRB: 35 bytes; the SRB takes at least 36", e.getMessage());
    }

    @Test
    void srbViewWritesWhatTheRecordReads() throws Exception {
        MemorySegment s = MemorySegment.ofArray(new byte[0x34]);
        new SrbView(s, 0).clear(SrbLayout.V2).length(0x34).lun(9).cdbLength(6).senseInfoLength(0x14)
                .dataIn(StorageProtocol.DATA_IN).dataTransferLength(36).cdbSense(new byte[] {0x12, 0, 0, 0, 36, 0}, 0, 6);
        Srb srb = Srb.decode(s, 0, 0x34, SrbLayout.V2);
        assertEquals(Srb.request(SrbLayout.V2, 9, new byte[] {0x12, 0, 0, 0, 36, 0}, 0x14, StorageProtocol.DATA_IN, 36),
                srb);
    }

    @Test
    void aViewNeedsRoomForTheLargerLayout() {
        assertThrows(IndexOutOfBoundsException.class, () -> new SrbView(MemorySegment.ofArray(new byte[0x33]), 0));
        assertThrows(IllegalArgumentException.class,
                () -> Srb.request(SrbLayout.V1, 0, new byte[17], 0, StorageProtocol.DATA_IN, 0));
        assertThrows(IllegalArgumentException.class, () -> new Srb(SrbLayout.V1, 0, 0, 0, 0, 0, 0, 0, 0,
                StorageProtocol.DATA_IN, 0, new byte[20], 0, 0, 1, 0, 0));
    }

    @Test
    void decodeRefusesABoundOutsideTheSegment() {
        assertThrows(IllegalArgumentException.class, () -> PacketHeader.decode(MemorySegment.ofArray(new byte[12]), 4, 12));
    }
}
