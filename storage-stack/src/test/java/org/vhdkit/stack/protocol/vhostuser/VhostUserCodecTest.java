package org.vhdkit.stack.protocol.vhostuser;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.vhdkit.stack.protocol.ProtocolException;

/**
 * The vhost-user payloads against the layouts of qemu's docs/interop/vhost-user.rst and the virtio
 * specification's SCSI host device, byte for byte, and the refusals of what a front-end may not
 * send, each naming the request, the field and its offset in the message (header included).
 */
class VhostUserCodecTest {
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Arena arena = Arena.ofAuto();

    private static String hex(MemorySegment s, long length) {
        return HexFormat.of().formatHex(s.asSlice(0, length).toArray(ValueLayout.JAVA_BYTE));
    }

    private static MessageHeader header(int request, int size) {
        return new MessageHeader(request, VhostUser.VERSION, size);
    }

    /** The front-end's message types of vhost-user.rst, by number; the ones the backend names, and the rest. */
    @Test
    void requestCodesAndNamesAreTheSpecs() {
        Map<Integer, String> spec = Map.ofEntries(Map.entry(1, "GET_FEATURES"), Map.entry(2, "SET_FEATURES"),
                Map.entry(3, "SET_OWNER"), Map.entry(4, "RESET_OWNER"), Map.entry(5, "SET_MEM_TABLE"),
                Map.entry(6, "SET_LOG_BASE"), Map.entry(7, "SET_LOG_FD"), Map.entry(8, "SET_VRING_NUM"),
                Map.entry(9, "SET_VRING_ADDR"), Map.entry(10, "SET_VRING_BASE"), Map.entry(11, "GET_VRING_BASE"),
                Map.entry(12, "SET_VRING_KICK"), Map.entry(13, "SET_VRING_CALL"), Map.entry(14, "SET_VRING_ERR"),
                Map.entry(15, "GET_PROTOCOL_FEATURES"), Map.entry(16, "SET_PROTOCOL_FEATURES"),
                Map.entry(17, "GET_QUEUE_NUM"), Map.entry(18, "SET_VRING_ENABLE"), Map.entry(21, "SET_BACKEND_REQ_FD"),
                Map.entry(23, "SET_VRING_ENDIAN"), Map.entry(24, "GET_CONFIG"), Map.entry(25, "SET_CONFIG"),
                Map.entry(31, "GET_INFLIGHT_FD"), Map.entry(32, "SET_INFLIGHT_FD"), Map.entry(34, "RESET_DEVICE"),
                Map.entry(36, "GET_MAX_MEM_SLOTS"));
        for (int code = 0; code <= 40; code++) {
            String expected = spec.getOrDefault(code, "request") + " (" + code + ")";
            assertEquals(expected, VhostUser.requestName(code), "request " + code);
        }
        assertEquals("request (4294967295)", VhostUser.requestName(-1), "unsigned, as on the wire");
        assertEquals(5, VhostUser.SET_MEM_TABLE);
        assertEquals(36, VhostUser.GET_MAX_MEM_SLOTS);
    }

    @Test
    void theHeaderIsThreeLittleEndianWordsAndRefusesAnotherVersionOrAnOversizedPayload() throws Exception {
        MemorySegment s = arena.allocate(MessageHeader.LENGTH);
        MessageHeader.reply(VhostUser.GET_CONFIG, 48).encode(s, 0);
        assertEquals("18000000" + "05000000" + "30000000", hex(s, 12), "request 24, version 1 | REPLY, 48 bytes");
        MessageHeader back = MessageHeader.decode(s, 0);
        assertEquals(new MessageHeader(24, 5, 48), back);
        assertFalse(back.needsReply());
        assertTrue(new MessageHeader(1, VhostUser.VERSION | VhostUser.FLAG_NEED_REPLY, 0).needsReply());

        new MessageHeader(VhostUser.GET_FEATURES, 2, 0).encode(s, 0);
        ProtocolException version = assertThrows(ProtocolException.class, () -> MessageHeader.decode(s, 0));
        assertTrue(version.getMessage().contains("GET_FEATURES (1) flags") && version.getMessage().contains("version 2"),
                version.getMessage());
        assertEquals(4, version.offset());
        new MessageHeader(VhostUser.SET_CONFIG, VhostUser.VERSION, VhostUser.MAX_PAYLOAD + 1).encode(s, 0);
        ProtocolException size = assertThrows(ProtocolException.class, () -> MessageHeader.decode(s, 0));
        assertTrue(size.getMessage().contains("SET_CONFIG (25) size") && size.getMessage().contains("4097 bytes; at most 4096"),
                size.getMessage());
        assertEquals(8, size.offset());
        new MessageHeader(VhostUser.SET_CONFIG, VhostUser.VERSION, -1).encode(s, 0);
        assertTrue(assertThrows(ProtocolException.class, () -> MessageHeader.decode(s, 0)).getMessage()
                .contains("4294967295 bytes"), "a size of 2^32 - 1 is read unsigned");
    }

    @Test
    void aMemoryTableIsACountPaddingAndFourWordsPerRegion() throws Exception {
        MemoryTable table = new MemoryTable(List.of(new MemoryTable.Region(0, 0x10000, 0x7f0000000000L, 0),
                new MemoryTable.Region(0x100000, 0x2000, 0x7f0000100000L, 0x10000)));
        MemorySegment p = arena.allocate(8 + 2 * 32);
        assertEquals(72, table.encode(p));
        assertEquals("02000000" + "00000000"
                + "0000000000000000" + "0000010000000000" + "00000000007f0000" + "0000000000000000"
                + "0000100000000000" + "0020000000000000" + "00001000007f0000" + "0000010000000000", hex(p, 72));
        assertEquals(table, MemoryTable.decode(header(VhostUser.SET_MEM_TABLE, 72), p, 2));
    }

    /** Decodes a one- or two-region table with the given region 1 (region 0 is 64 KiB at 0) and expects a refusal. */
    private ProtocolException refusedTable(int fds, MemoryTable.Region... regions) {
        MemorySegment p = arena.allocate(8 + 32L * regions.length);
        new MemoryTable(List.of(regions)).encode(p);
        return assertThrows(ProtocolException.class,
                () -> MemoryTable.decode(header(VhostUser.SET_MEM_TABLE, (int) p.byteSize()), p, fds));
    }

    private static void names(ProtocolException e, String field, long offset) {
        assertTrue(e.getMessage().contains("SET_MEM_TABLE " + field), e.getMessage());
        assertEquals(offset, e.offset(), e.getMessage());
    }

    @Test
    void aMemoryTableThatCannotBeMappedSafelyIsRefusedNamingTheRegionAndField() {
        MemoryTable.Region first = new MemoryTable.Region(0, 0x10000, 0x10000000, 0);
        MemorySegment none = arena.allocate(8);
        names(assertThrows(ProtocolException.class,
                () -> MemoryTable.decode(header(VhostUser.SET_MEM_TABLE, 8), none, 0)), "nregions", 12);
        MemorySegment nine = arena.allocate(8 + 9 * 32);
        nine.set(U32, 0, 9);
        ProtocolException tooMany = assertThrows(ProtocolException.class,
                () -> MemoryTable.decode(header(VhostUser.SET_MEM_TABLE, 8 + 9 * 32), nine, 9));
        names(tooMany, "nregions", 12);
        assertTrue(tooMany.getMessage().contains("9; 1 to 8"), tooMany.getMessage());
        ProtocolException fds = refusedTable(1, first, new MemoryTable.Region(0x10000, 0x10000, 0x20000000, 0));
        assertTrue(fds.getMessage().contains("2 regions came with 1 file descriptors"), fds.getMessage());
        MemorySegment one = arena.allocate(8 + 32);
        one.set(U32, 0, 1);
        ProtocolException shortPayload = assertThrows(ProtocolException.class,
                () -> MemoryTable.decode(header(VhostUser.SET_MEM_TABLE, 8 + 16), one, 1));
        assertTrue(shortPayload.getMessage().contains("24 bytes; the payload is 40"), shortPayload.getMessage());

        // Region 1's fields are at 12 + 8 + 32 = 52 (guest), 60 (size), 68 (user), 76 (mmap offset).
        names(refusedTable(2, first, new MemoryTable.Region(0x10000, 0, 0x20000000, 0)), "region 1 memory_size", 60);
        names(refusedTable(2, first, new MemoryTable.Region(Long.MAX_VALUE - 10, 0x1000, 0x20000000, 0)),
                "region 1 guest_phys_addr", 52);
        names(refusedTable(2, first, new MemoryTable.Region(0x10000, 0x1000, -0x800L, 0)),
                "region 1 userspace_addr", 68);
        names(refusedTable(2, first, new MemoryTable.Region(0x10000, 0x1000, 0x20000000, -4096)),
                "region 1 mmap_offset", 76);
        ProtocolException overlap = refusedTable(2, first, new MemoryTable.Region(0xF000, 0x2000, 0x20000000, 0));
        names(overlap, "region 1 guest_phys_addr", 52);
        assertTrue(overlap.getMessage().contains("0xf000 overlaps the region at 0x0"), overlap.getMessage());
    }

    @Test
    void theSmallPayloadsRoundTripAndRefuseWhatTheyCannotHold() throws Exception {
        MemorySegment p = arena.allocate(64);
        assertEquals(16, new LogBase(0x2000, 0x1000).encode(p));
        assertEquals("0020000000000000" + "0010000000000000", hex(p, 16));
        assertEquals(new LogBase(0x2000, 0x1000), LogBase.decode(header(VhostUser.SET_LOG_BASE, 16), p));
        new LogBase(0, 0).encode(p);
        ProtocolException empty = assertThrows(ProtocolException.class,
                () -> LogBase.decode(header(VhostUser.SET_LOG_BASE, 16), p));
        assertTrue(empty.getMessage().contains("SET_LOG_BASE (6) mmap_size and mmap_offset"), empty.getMessage());
        new LogBase(0x1000, Long.MAX_VALUE).encode(p);
        assertThrows(ProtocolException.class, () -> LogBase.decode(header(VhostUser.SET_LOG_BASE, 16), p));
        assertThrows(ProtocolException.class, () -> LogBase.decode(header(VhostUser.SET_LOG_BASE, 8), p),
                "a payload of 8 bytes");

        assertEquals(8, new VringFile(5, true).encode(p));
        assertEquals("0501000000000000", hex(p, 8), "index in bits 0-7, no-descriptor in bit 8");
        assertEquals(new VringFile(5, true), VringFile.decode(header(VhostUser.SET_VRING_CALL, 8), p));
        p.set(U64, 0, 0x1_0000_0002L);
        ProtocolException bits = assertThrows(ProtocolException.class,
                () -> VringFile.decode(header(VhostUser.SET_VRING_KICK, 8), p));
        assertTrue(bits.getMessage().contains("SET_VRING_KICK (12) u64") && bits.getMessage().contains("0x100000002"),
                bits.getMessage());

        assertEquals(12, new ConfigPayload(32, 4, 0).encode(p));
        assertEquals("20000000" + "04000000" + "00000000", hex(p, 12));
        assertEquals(new ConfigPayload(32, 4, 0), ConfigPayload.decode(header(VhostUser.GET_CONFIG, 16), p));
        ProtocolException missing = assertThrows(ProtocolException.class,
                () -> ConfigPayload.decode(header(VhostUser.GET_CONFIG, 12), p));
        assertTrue(missing.getMessage().contains("12 bytes; the payload is 16"), missing.getMessage());
        new ConfigPayload(250, 10, 0).encode(p);
        ProtocolException beyond = assertThrows(ProtocolException.class,
                () -> ConfigPayload.decode(header(VhostUser.GET_CONFIG, 22), p));
        assertTrue(beyond.getMessage().contains("GET_CONFIG (24) offset and size")
                && beyond.getMessage().contains("250 and 10; at most 256"), beyond.getMessage());
        new ConfigPayload(0, -1, 0).encode(p);
        assertThrows(ProtocolException.class, () -> ConfigPayload.decode(header(VhostUser.GET_CONFIG, 12), p));
    }

    /** struct virtio_scsi_config: eight le32 but max_channel and max_target, le16, then max_lun. */
    @Test
    void theConfigurationSpaceIsTheVirtioLayout() {
        MemorySegment s = arena.allocate(VirtioScsi.CONFIG_LENGTH);
        new VirtioScsi.Config(4, 126, 65535, 128, 63).encode(s, 0);
        assertEquals("04000000" + "7e000000" + "ffff0000" + "80000000" + "10000000" + "60000000" + "20000000"
                + "0000" + "0000" + "3f000000", hex(s, 36),
                "num_queues, seg_max, max_sectors, cmd_per_lun, event_info_size 16, sense_size 96, cdb_size 32,"
                        + " max_channel, max_target, max_lun");
    }

    /** The 8-byte LUN field: 1, target, then the LUN as SAM's single-level peripheral or flat address. */
    @Test
    void lunFieldsAddressTargetZeroOnly() {
        MemorySegment s = arena.allocate(8);
        for (int lun : new int[] {0, 5, 255, 256, 16383}) {
            VirtioScsi.putLun(s, 0, lun);
            assertEquals(lun, VirtioScsi.lun(s, 0), "LUN " + lun);
        }
        VirtioScsi.putLun(s, 0, 5);
        assertEquals("0100000500000000", hex(s, 8), "peripheral addressing below 256");
        VirtioScsi.putLun(s, 0, 300);
        assertEquals("0100412c00000000", hex(s, 8), "flat addressing (0x40) above");
        assertThrows(IllegalArgumentException.class, () -> VirtioScsi.putLun(s, 0, VirtioScsi.MAX_LUNS));
        assertThrows(IllegalArgumentException.class, () -> VirtioScsi.putLun(s, 0, -1));
        for (String field : new String[] {"0101000500000000", "0200000500000000", "0100800500000000",
            "0100000500000001"}) {
            MemorySegment.copy(HexFormat.of().parseHex(field), 0, s, ValueLayout.JAVA_BYTE, 0, 8);
            assertEquals(-1, VirtioScsi.lun(s, 0), "addresses nothing here: " + field);
        }
    }

    /** SPC's group codes: 0 six bytes, 1 and 2 ten, 5 twelve, 4 sixteen; reserved and vendor groups 16. */
    @Test
    void aCdbsLengthFollowsItsGroupCode() {
        assertEquals(6, VirtioScsi.cdbLength(0x12), "INQUIRY");
        assertEquals(10, VirtioScsi.cdbLength(0x28), "READ(10)");
        assertEquals(10, VirtioScsi.cdbLength(0x5A), "MODE SENSE(10)");
        assertEquals(16, VirtioScsi.cdbLength(0x88), "READ(16)");
        assertEquals(12, VirtioScsi.cdbLength(0xA0), "REPORT LUNS");
        assertEquals(16, VirtioScsi.cdbLength(0x60), "reserved group 3");
        assertEquals(16, VirtioScsi.cdbLength(0xC0), "vendor-specific group 6");
    }
}
