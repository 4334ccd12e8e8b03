package org.vhdkit.export.nbd.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Each message's bytes against proto.md's layout, its stated size, and decode(encode(x)) == x. */
class CodecTest {
    private static ByteBuffer encoded(int size, java.util.function.Consumer<ByteBuffer> encoder) {
        ByteBuffer b = ByteBuffer.allocate(size + 16);
        encoder.accept(b);
        assertEquals(size, b.position(), "bytes written");
        return b.flip();
    }

    private static String hex(ByteBuffer b) {
        byte[] bytes = new byte[b.remaining()];
        b.duplicate().get(bytes);
        return HexFormat.of().formatHex(bytes);
    }

    @Test
    void handshakeMessages() throws Exception {
        ByteBuffer g = encoded(Greeting.SIZE, new Greeting(3)::encode);
        assertEquals("4e42444d41474943" + "49484156454f5054" + "0003", hex(g));
        assertEquals(new Greeting(3), Greeting.decode(g));

        ByteBuffer o = encoded(OptionHeader.SIZE, new OptionHeader(OptionType.GO, 0xfffffff0L)::encode);
        assertEquals("49484156454f5054" + "00000007" + "fffffff0", hex(o));
        assertEquals(new OptionHeader(7, 0xfffffff0L), OptionHeader.decode(o));

        ByteBuffer r = encoded(OptionReplyHeader.SIZE, new OptionReplyHeader(7, OptionReplyType.ERR_UNSUP, 5)::encode);
        assertEquals("0003e889045565a9" + "00000007" + "80000001" + "00000005", hex(r));
        assertEquals(new OptionReplyHeader(7, OptionReplyType.ERR_UNSUP, 5), OptionReplyHeader.decode(r));

        ExportNameReply longer = new ExportNameReply(1 << 20, 0x0d, false);
        ByteBuffer e = encoded(ExportNameReply.LONG_SIZE, longer::encode);
        assertEquals(134, e.remaining());
        assertEquals(longer, ExportNameReply.decode(e, false));
        ExportNameReply shorter = new ExportNameReply(1 << 20, 0x0d, true);
        assertEquals("0000000000100000" + "000d", hex(encoded(ExportNameReply.SHORT_SIZE, shorter::encode)));

        InfoRequest go = new InfoRequest("disk", List.of(InfoType.BLOCK_SIZE, InfoType.NAME));
        ByteBuffer gb = encoded(go.size(), go::encode);
        assertEquals("00000004" + "6469736b" + "0002" + "0003" + "0001", hex(gb));
        assertEquals(go, InfoRequest.decode(gb));

        MetaContextQuery q = new MetaContextQuery("d", List.of("base:allocation"));
        ByteBuffer qb = encoded(q.size(), q::encode);
        assertEquals(q, MetaContextQuery.decode(qb));

        InfoReply.Export export = new InfoReply.Export(4096, 0x1ff);
        ByteBuffer xb = encoded(InfoReply.Export.SIZE, export::encode);
        assertEquals("0000" + "0000000000001000" + "01ff", hex(xb));
        assertEquals(export, InfoReply.decode(xb));
        InfoReply.BlockSize bs = new InfoReply.BlockSize(1, 4096, 32 << 20);
        ByteBuffer bb = encoded(InfoReply.BlockSize.SIZE, bs::encode);
        assertEquals("0003" + "00000001" + "00001000" + "02000000", hex(bb));
        assertEquals(bs, InfoReply.decode(bb));

        MetaContextReply m = new MetaContextReply(1, "base:allocation");
        assertEquals(m, MetaContextReply.decode(encoded(m.size(), m::encode)));
        ServerReply s = new ServerReply("a", "a disk");
        assertEquals(s, ServerReply.decode(encoded(s.size(), s::encode)));
    }

    @Test
    void transmissionMessages() throws Exception {
        RequestHeader req = new RequestHeader(CommandFlags.FUA, CommandType.WRITE, 0x1122334455667788L, 512, 4096);
        ByteBuffer rb = encoded(RequestHeader.SIZE, req::encode);
        assertEquals("25609513" + "0001" + "0001" + "1122334455667788" + "0000000000000200" + "00001000", hex(rb));
        assertEquals(req, RequestHeader.decode(rb));

        ByteBuffer sb = encoded(SimpleReply.SIZE, new SimpleReply(ErrorCode.EINVAL, 9)::encode);
        assertEquals("67446698" + "00000016" + "0000000000000009", hex(sb));

        Chunk.OffsetHole hole = new Chunk.OffsetHole(1 << 20, 4096);
        ChunkHeader ch = new ChunkHeader(ChunkType.FLAG_DONE, hole.type(), 9, hole.payloadSize());
        ByteBuffer hb = encoded(ChunkHeader.SIZE + Chunk.OffsetHole.SIZE, b -> {
            ch.encode(b);
            hole.encode(b);
        });
        assertEquals("668e33ef" + "0001" + "0002" + "0000000000000009" + "0000000c" + "0000000000100000" + "00001000", hex(hb));
        ChunkHeader decoded = ChunkHeader.decode(hb);
        assertEquals(ch, decoded);
        assertEquals(hole, Chunk.decode(decoded, hb));

        Chunk.BlockStatus status = new Chunk.BlockStatus(1, List.of(new Chunk.Descriptor(4096, 3), new Chunk.Descriptor(512, 0)));
        ByteBuffer stb = encoded((int) status.payloadSize(), status::encode);
        assertEquals("00000001" + "00001000" + "00000003" + "00000200" + "00000000", hex(stb));
        assertEquals(status, Chunk.decode(new ChunkHeader(0, ChunkType.BLOCK_STATUS, 1, 20), stb));

        Chunk.Error error = new Chunk.Error(ErrorCode.EPERM, "no");
        ByteBuffer eb = encoded((int) error.payloadSize(), error::encode);
        assertEquals("00000001" + "0002" + "6e6f", hex(eb));
        assertEquals(error, Chunk.decode(new ChunkHeader(1, ChunkType.ERROR, 1, 8), eb));

        Chunk.OffsetData data = new Chunk.OffsetData(512, 3);
        ByteBuffer db = ByteBuffer.allocate(11);
        data.encode(db);
        db.put(new byte[] {1, 2, 3}).flip();
        assertEquals(data, Chunk.decode(new ChunkHeader(0, ChunkType.OFFSET_DATA, 1, 11), db));
        byte[] rest = new byte[3];
        db.get(rest);
        assertArrayEquals(new byte[] {1, 2, 3}, rest);
    }

    @Test
    void decodersRefuseWhatTheProtocolForbids() {
        ByteBuffer badMagic = ByteBuffer.allocate(RequestHeader.SIZE).putInt(0x12560953).position(0);
        assertEquals("request magic", assertThrows(NbdProtocolException.class, () -> RequestHeader.decode(badMagic)).field());
        assertThrows(NbdProtocolException.class, () -> OptionHeader.decode(ByteBuffer.allocate(8)));
        // A name longer than the option's data.
        assertThrows(NbdProtocolException.class, () -> InfoRequest.decode(ByteBuffer.allocate(8).putInt(0, 100)));
        // A name of invalid UTF-8, and one with NUL.
        ByteBuffer invalid = ByteBuffer.allocate(7).putInt(1).put((byte) 0xff).putShort((short) 0).flip();
        assertThrows(NbdProtocolException.class, () -> InfoRequest.decode(invalid));
        ByteBuffer nul = ByteBuffer.allocate(7).putInt(1).put((byte) 0).putShort((short) 0).flip();
        assertThrows(NbdProtocolException.class, () -> InfoRequest.decode(nul));
        // A query count that the data cannot hold.
        ByteBuffer queries = ByteBuffer.allocate(8).putInt(0).putInt(1_000_000).flip();
        assertThrows(NbdProtocolException.class, () -> MetaContextQuery.decode(queries));
        assertThrows(NbdProtocolException.class, () -> Chunk.decode(new ChunkHeader(0, ChunkType.OFFSET_HOLE, 1, 11),
                ByteBuffer.allocate(11)));
        assertThrows(IllegalArgumentException.class, () -> WireString.bytes("x".repeat(WireString.MAX_BYTES + 1)));
    }

    private static NbdProtocolException refused(ChunkHeader header, ByteBuffer payload) {
        return assertThrows(NbdProtocolException.class, () -> Chunk.decode(header, payload));
    }

    private static ChunkHeader chunk(int type, long length) {
        return new ChunkHeader(ChunkType.FLAG_DONE, type, 7, length);
    }

    /** proto.md's structured reply chunks: each length and value it forbids is refused naming the field. */
    @Test
    void chunksTheProtocolForbidsAreRefusedNamingTheField() {
        assertEquals("NBD_REPLY_TYPE_NONE length", refused(chunk(ChunkType.NONE, 4), ByteBuffer.allocate(4)).field());
        assertEquals("NBD_REPLY_TYPE_OFFSET_DATA length",
                refused(chunk(ChunkType.OFFSET_DATA, 8), ByteBuffer.allocate(8)).field(), "an offset and no data");
        assertEquals("NBD_REPLY_TYPE_OFFSET_HOLE size",
                refused(chunk(ChunkType.OFFSET_HOLE, 12), ByteBuffer.allocate(12)).field());
        assertEquals("NBD_REPLY_TYPE_BLOCK_STATUS length",
                refused(chunk(ChunkType.BLOCK_STATUS, 10), ByteBuffer.allocate(10)).field());
        ByteBuffer zeroLength = ByteBuffer.allocate(12).putInt(1).putInt(0).putInt(3).flip();
        assertEquals("block status descriptor length", refused(chunk(ChunkType.BLOCK_STATUS, 12), zeroLength).field());
        assertEquals("NBD_REPLY_TYPE_ERROR length", refused(chunk(ChunkType.ERROR, 5), ByteBuffer.allocate(5)).field());
        ByteBuffer longMessage = ByteBuffer.allocate(8).putInt(ErrorCode.EIO).putShort((short) 3).put((byte) 'x')
                .put((byte) 'y').flip();
        NbdProtocolException beyond = refused(chunk(ChunkType.ERROR, 8), longMessage);
        assertEquals("NBD_REPLY_TYPE_ERROR message length", beyond.field());
        assertEquals("NBD_REPLY_TYPE_ERROR message length: 3 is beyond the chunk", beyond.getMessage());
        ByteBuffer noError = ByteBuffer.allocate(6).putInt(0).putShort((short) 0).flip();
        assertEquals("NBD_REPLY_TYPE_ERROR error", refused(chunk(ChunkType.ERROR, 6), noError).field());
        assertEquals("chunk type", refused(chunk(ChunkType.ERROR_OFFSET, 14), ByteBuffer.allocate(14)).field(),
                "a type this side does not read");
        assertEquals("NBD_REPLY_TYPE_BLOCK_STATUS", refused(chunk(ChunkType.BLOCK_STATUS, 20),
                ByteBuffer.allocate(12)).field(), "a payload shorter than its header says");

        ByteBuffer none = ByteBuffer.allocate(4);
        new Chunk.None().encode(none);
        assertEquals(0, none.position(), "NBD_REPLY_TYPE_NONE has no payload");
        assertEquals(new Chunk.None(), decodedEmpty(chunk(ChunkType.NONE, 0)));
        assertEquals(ChunkType.NONE, new Chunk.None().type());
        assertEquals(0, new Chunk.None().payloadSize());
    }

    private static Chunk decodedEmpty(ChunkHeader header) {
        try {
            return Chunk.decode(header, ByteBuffer.allocate(0));
        } catch (NbdProtocolException e) {
            throw new AssertionError(e);
        }
    }

    /** What cannot be sent is refused before it is encoded: a reply the client would refuse. */
    @Test
    void chunksAndInfoRepliesTheProtocolForbidsCannotBeMade() {
        assertThrows(IllegalArgumentException.class, () -> new Chunk.OffsetData(0, 0));
        assertThrows(IllegalArgumentException.class, () -> new Chunk.OffsetData(0, 0xffff_fff8L));
        assertThrows(IllegalArgumentException.class, () -> new Chunk.OffsetHole(0, 0));
        assertThrows(IllegalArgumentException.class, () -> new Chunk.OffsetHole(0, 1L << 32));
        assertThrows(IllegalArgumentException.class, () -> new Chunk.Descriptor(0, 0));
        assertThrows(IllegalArgumentException.class, () -> new Chunk.BlockStatus(1, List.of()));
        assertThrows(IllegalArgumentException.class, () -> new Chunk.Error(0, "no error"));
        assertThrows(IllegalArgumentException.class, () -> new InfoReply.Text(InfoType.EXPORT, "not text"));
        assertThrows(IllegalArgumentException.class, () -> new InfoReply.BlockSize(3, 4096, 1 << 20), "minimum");
        assertThrows(IllegalArgumentException.class, () -> new InfoReply.BlockSize(1, 256, 1 << 20), "preferred");
        assertThrows(IllegalArgumentException.class, () -> new InfoReply.BlockSize(4096, 4096, 6000), "maximum");
        assertEquals(-1, new InfoReply.BlockSize(1, 4096, -1).maximum(), "-1: no maximum");
        assertThrows(IllegalArgumentException.class, () -> WireString.bytes("a\0b"), "NUL");
        assertThrows(IllegalArgumentException.class, () -> WireString.bytes("\uD800"), "a lone surrogate");
    }

    @Test
    void infoRepliesOfEveryKindRoundTripAndBadOnesAreRefused() throws Exception {
        InfoReply.Text name = new InfoReply.Text(InfoType.NAME, "disk");
        ByteBuffer nb = encoded(name.size(), name::encode);
        assertEquals("0001" + "6469736b", hex(nb));
        assertEquals(name, InfoReply.decode(nb));
        InfoReply.Text description = new InfoReply.Text(InfoType.DESCRIPTION, "a VHD");
        assertEquals(description, InfoReply.decode(encoded(description.size(), description::encode)));
        InfoReply.Other other = new InfoReply.Other(0x1234, new byte[] {9, 8});
        ByteBuffer ob = encoded(other.size(), other::encode);
        assertEquals("1234" + "0908", hex(ob));
        InfoReply back = InfoReply.decode(ob);
        assertEquals(0x1234, ((InfoReply.Other) back).type(), "a type this side does not know is kept");
        assertArrayEquals(new byte[] {9, 8}, ((InfoReply.Other) back).payload());

        assertEquals("NBD_INFO_EXPORT length", assertThrows(NbdProtocolException.class,
                () -> InfoReply.decode(ByteBuffer.allocate(11))).field());
        assertEquals("NBD_INFO_BLOCK_SIZE length", assertThrows(NbdProtocolException.class,
                () -> InfoReply.decode(ByteBuffer.allocate(13).putShort(0, (short) InfoType.BLOCK_SIZE))).field());
        ByteBuffer badSizes = ByteBuffer.allocate(14).putShort((short) InfoType.BLOCK_SIZE).putInt(3).putInt(4096)
                .putInt(4096).flip();
        NbdProtocolException sizes = assertThrows(NbdProtocolException.class, () -> InfoReply.decode(badSizes));
        assertEquals("NBD_INFO_BLOCK_SIZE", sizes.field());
        assertTrue(sizes.getMessage().contains("not 3"), sizes.getMessage());
        assertEquals("info reply", assertThrows(NbdProtocolException.class,
                () -> InfoReply.decode(ByteBuffer.allocate(1))).field());
    }

    @Test
    void stringLengthsBeyondTheLimitOrTheMessageAreRefused() {
        NbdProtocolException limit = assertThrows(NbdProtocolException.class,
                () -> WireString.decode(ByteBuffer.allocate(8), WireString.MAX_BYTES + 1, "export name"));
        assertEquals("export name: length 4097 is beyond the protocol's 4096 bytes", limit.getMessage());
        NbdProtocolException message = assertThrows(NbdProtocolException.class,
                () -> WireString.decode(ByteBuffer.allocate(8), 9, "export name"));
        assertEquals("export name: length 9 is beyond the 8 bytes left in the message", message.getMessage());
        assertThrows(NbdProtocolException.class, () -> WireString.decode(ByteBuffer.allocate(8), -1, "export name"));
    }

    /** A client's string in a log line cannot start a line of its own, nor fill the log. */
    @Test
    void clientStringsAreQuotedWithEveryControlCharacterEscapedAndCut() {
        assertEquals("'disk 1'", WireString.quoted("disk 1"));
        assertEquals("'a\\nclient 7: connected\\r\\t\\u0000\\u001b\\u2028 \\' \\\\ \u00e9'",
                WireString.quoted("a\nclient 7: connected\r\t\0\u001b\u2028 ' \\ \u00e9"));
        String cut = WireString.quoted("x".repeat(4096));
        assertEquals("'" + "x".repeat(WireString.QUOTED_CHARACTERS) + "'... (4096 characters)", cut);
        String pairs = "a" + "\uD83D\uDCBE".repeat(WireString.QUOTED_CHARACTERS);
        assertEquals("'" + pairs.substring(0, WireString.QUOTED_CHARACTERS + 1) + "'... (201 characters)",
                WireString.quoted(pairs), "cut between two characters, never inside a surrogate pair");
    }

    /** proto.md's error values, and the names the server's log gives them. */
    @Test
    void errorValuesAreTheProtocolsAndNamedForTheLog() {
        int[] values = {0, 1, 5, 12, 22, 28, 75, 95, 108, 4};
        String[] names = {"success", "EPERM", "EIO", "ENOMEM", "EINVAL", "ENOSPC", "EOVERFLOW", "ENOTSUP", "ESHUTDOWN",
            "error 4"};
        for (int i = 0; i < values.length; i++) {
            assertEquals(names[i], ErrorCode.name(values[i]), "error " + values[i]);
        }
        assertEquals(List.of(1, 5, 12, 22, 28, 75, 95, 108), List.of(ErrorCode.EPERM, ErrorCode.EIO, ErrorCode.ENOMEM,
                ErrorCode.EINVAL, ErrorCode.ENOSPC, ErrorCode.EOVERFLOW, ErrorCode.ENOTSUP, ErrorCode.ESHUTDOWN));
    }
}
