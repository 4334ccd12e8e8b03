package org.vhdkit.export.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.export.nbd.protocol.Chunk;
import org.vhdkit.export.nbd.protocol.CommandFlags;
import org.vhdkit.export.nbd.protocol.CommandType;
import org.vhdkit.export.nbd.protocol.ErrorCode;
import org.vhdkit.export.nbd.protocol.ExportNameReply;
import org.vhdkit.export.nbd.protocol.HandshakeFlags;
import org.vhdkit.export.nbd.protocol.InfoReply;
import org.vhdkit.export.nbd.protocol.InfoRequest;
import org.vhdkit.export.nbd.protocol.InfoType;
import org.vhdkit.export.nbd.protocol.MetaContext;
import org.vhdkit.export.nbd.protocol.MetaContextQuery;
import org.vhdkit.export.nbd.protocol.MetaContextReply;
import org.vhdkit.export.nbd.protocol.OptionReplyType;
import org.vhdkit.export.nbd.protocol.OptionType;
import org.vhdkit.export.nbd.protocol.ServerReply;
import org.vhdkit.export.nbd.protocol.TransmissionFlags;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.disk.Extent;
import org.vhdkit.vhd.disk.MemoryDisk;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.OpenOptions;

/**
 * The server against a client made of the protocol's own codecs: the handshake's options and
 * refusals, every command, the errors a client can cause, and that one client's garbage leaves the
 * others alone.
 */
@Timeout(60)
class NbdServerTest {
    private static final int MIB = 1 << 20;

    @TempDir
    Path tmp;

    private VhdDisk dynamic;
    private MemoryDisk memory;
    private NbdServer server;
    private final List<String> log = Collections.synchronizedList(new ArrayList<>());

    @BeforeEach
    void start() throws IOException {
        Vhd.create(tmp.resolve("d.vhd"), CreateOptions.dynamic(16 * MIB)).close();
        dynamic = Vhd.open(tmp.resolve("d.vhd"), OpenOptions.READ_WRITE);
        dynamic.write(2 * MIB, pattern(64 * 1024, 1)); // block 1 holds data; the rest is holes
        memory = MemoryDisk.create("mem", MIB);
        server = NbdServer.start(UnixDomainSocketAddress.of(tmp.resolve("nbd.sock")), List.of(
                new NbdServer.Export("d", dynamic, false, "a dynamic disk"),
                new NbdServer.Export("ro", memory, true, "read-only memory")), log::add);
    }

    @AfterEach
    void stop() throws IOException {
        server.close();
        dynamic.close();
    }

    private TestClient client() throws IOException {
        return TestClient.connect(server.address());
    }

    static byte[] pattern(int length, int seed) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static String text(ByteBuffer b) {
        return StandardCharsets.UTF_8.decode(b.duplicate()).toString();
    }

    @Test
    void greetingOffersFixedNewstyleAndNoZeroes() throws IOException {
        try (TestClient c = client()) {
            assertEquals(HandshakeFlags.FIXED_NEWSTYLE | HandshakeFlags.NO_ZEROES, c.greeting.handshakeFlags());
        }
    }

    @Test
    void exportNameWithAndWithoutTheZeroes() throws IOException {
        for (boolean noZeroes : new boolean[] {true, false}) {
            try (TestClient c = client()) {
                c.clientFlags(HandshakeFlags.C_FIXED_NEWSTYLE | (noZeroes ? HandshakeFlags.C_NO_ZEROES : 0));
                ExportNameReply reply = c.exportName("d", noZeroes); // decoding checks the length
                assertEquals(16 * MIB, reply.exportSize());
                assertEquals(0, reply.transmissionFlags() & TransmissionFlags.READ_ONLY);
                // The stream is in step: a simple read comes back right.
                TestClient.Reply r = c.call(CommandType.READ, 0, 2 * MIB, 4096, null);
                assertEquals(0, r.error());
                assertArrayEquals(Arrays.copyOf(pattern(64 * 1024, 1), 4096), r.data());
            }
        }
    }

    @Test
    void optionsAreAnsweredAndUnknownOnesRefused() throws IOException {
        try (TestClient c = client()) {
            c.clientFlags(HandshakeFlags.C_FIXED_NEWSTYLE);
            assertEquals(OptionReplyType.ERR_UNSUP, c.option(99, new byte[] {1, 2, 3}).getLast().type());
            assertEquals(OptionReplyType.ERR_UNSUP, c.option(OptionType.STARTTLS, new byte[0]).getLast().type());
            assertEquals(OptionReplyType.ERR_INVALID, c.option(OptionType.LIST, new byte[] {0}).getLast().type());

            List<TestClient.OptionReply> list = c.option(OptionType.LIST, new byte[0]);
            assertEquals(OptionReplyType.ACK, list.getLast().type());
            List<String> names = new ArrayList<>();
            for (TestClient.OptionReply r : list.subList(0, list.size() - 1)) {
                assertEquals(OptionReplyType.SERVER, r.type());
                names.add(ServerReply.decode(r.data()).name());
            }
            assertEquals(List.of("d", "ro"), names);

            // Meta contexts need structured replies first.
            MetaContextQuery q = new MetaContextQuery("d", List.of());
            assertEquals(OptionReplyType.ERR_INVALID,
                    c.option(OptionType.LIST_META_CONTEXT, TestClient.bytes(q.size(), q::encode)).getLast().type());
            assertEquals(OptionReplyType.ACK, c.option(OptionType.STRUCTURED_REPLY, new byte[0]).getLast().type());
            List<TestClient.OptionReply> contexts = c.option(OptionType.LIST_META_CONTEXT, TestClient.bytes(q.size(), q::encode));
            assertEquals(2, contexts.size());
            assertEquals(MetaContext.BASE_ALLOCATION, MetaContextReply.decode(contexts.getFirst().data()).name());
            MetaContextQuery other = new MetaContextQuery("d", List.of("qemu:dirty-bitmap:x"));
            List<TestClient.OptionReply> none = c.option(OptionType.SET_META_CONTEXT, TestClient.bytes(other.size(), other::encode));
            assertEquals(List.of(OptionReplyType.ACK), none.stream().map(TestClient.OptionReply::type).toList());

            InfoRequest unknown = new InfoRequest("nope", List.of());
            List<TestClient.OptionReply> refused = c.option(OptionType.INFO, TestClient.bytes(unknown.size(), unknown::encode));
            assertEquals(OptionReplyType.ERR_UNKNOWN, refused.getLast().type());
            assertTrue(text(refused.getLast().data()).contains("nope"));
            assertEquals(OptionReplyType.ERR_INVALID, c.option(OptionType.GO, new byte[] {0, 0, 0, 9}).getLast().type());

            InfoRequest info = new InfoRequest("ro", List.of(InfoType.NAME, InfoType.DESCRIPTION, InfoType.BLOCK_SIZE));
            Map<Integer, InfoReply> infos = new HashMap<>();
            for (TestClient.OptionReply r : c.option(OptionType.INFO, TestClient.bytes(info.size(), info::encode))) {
                if (r.type() == OptionReplyType.INFO) {
                    InfoReply i = InfoReply.decode(r.data());
                    infos.put(r.data().getShort(0) & 0xffff, i);
                }
            }
            assertEquals(new InfoReply.Export(MIB, ((InfoReply.Export) infos.get(InfoType.EXPORT)).transmissionFlags()),
                    infos.get(InfoType.EXPORT));
            int flags = ((InfoReply.Export) infos.get(InfoType.EXPORT)).transmissionFlags();
            assertTrue((flags & TransmissionFlags.READ_ONLY) != 0);
            assertEquals(0, flags & TransmissionFlags.SEND_TRIM);
            assertEquals(new InfoReply.Text(InfoType.NAME, "ro"), infos.get(InfoType.NAME));
            assertEquals(new InfoReply.Text(InfoType.DESCRIPTION, "read-only memory"), infos.get(InfoType.DESCRIPTION));
            assertEquals(new InfoReply.BlockSize(1, 4096, NbdServer.MAX_BLOCK_SIZE), infos.get(InfoType.BLOCK_SIZE));

            assertEquals(OptionReplyType.ACK, c.option(OptionType.ABORT, new byte[0]).getLast().type());
            assertTrue(c.closedByServer());
        }
    }

    @Test
    void anOversizedOptionIsSkippedNotRead() throws IOException {
        try (TestClient c = client()) {
            c.clientFlags(HandshakeFlags.C_FIXED_NEWSTYLE);
            byte[] big = new byte[Handshake.MAX_OPTION_DATA + 1];
            assertEquals(OptionReplyType.ERR_TOO_BIG, c.option(OptionType.GO, big).getLast().type());
            assertEquals(OptionReplyType.ERR_UNSUP, c.option(4242, big).getLast().type());
            assertEquals(16 * MIB, c.choose("d", true, true).exportSize());
        }
    }

    @Test
    void badMagicOrFlagsDropTheClientAndOthersGoOn() throws IOException {
        try (TestClient bad = client()) {
            bad.clientFlags(HandshakeFlags.C_FIXED_NEWSTYLE);
            bad.write(ByteBuffer.wrap("NOTIHAVEOPTxxxxx".getBytes(StandardCharsets.US_ASCII)));
            assertTrue(bad.closedByServer());
        }
        try (TestClient bad = client()) {
            bad.clientFlags(1 << 7);
            assertTrue(bad.closedByServer());
        }
        try (TestClient bad = client()) {
            bad.clientFlags(HandshakeFlags.C_FIXED_NEWSTYLE);
            bad.sendOption(OptionType.EXPORT_NAME, "nope".getBytes(StandardCharsets.UTF_8));
            assertTrue(bad.closedByServer());
        }
        try (TestClient good = client()) {
            good.go("d", true, false);
            assertEquals(0, good.call(CommandType.FLUSH, 0, 0, 0, null).error());
        }
        assertTrue(log.stream().anyMatch(l -> l.contains("dropped") && l.contains("option magic")), log.toString());
    }

    @Test
    void randomBytesDropOneClientWhileAnotherKeepsWorking() throws IOException {
        try (TestClient good = client(); TestClient bad = client()) {
            good.go("d", true, true);
            bad.go("d", true, false);
            bad.write(ByteBuffer.wrap(pattern(4096, 9)));
            assertTrue(bad.closedByServer());
            byte[] data = pattern(8192, 3);
            assertEquals(0, good.call(CommandType.WRITE, 0, 5 * MIB, data.length, data).error());
            assertArrayEquals(data, good.call(CommandType.READ, 0, 5 * MIB, data.length, null).data());
        }
    }

    @Test
    void requestsBeyondTheRulesAreRefusedAsTheProtocolSays() throws IOException {
        for (boolean structured : new boolean[] {true, false}) {
            try (TestClient c = client()) {
                c.go("d", structured, false);
                long size = 16 * MIB;
                assertEquals(ErrorCode.EINVAL, c.call(CommandType.READ, 0, size - 512, 1024, null).error());
                assertEquals(ErrorCode.EINVAL, c.call(CommandType.READ, 0, -512L, 512, null).error(), "offset 2^64-512");
                assertEquals(ErrorCode.ENOSPC, c.call(CommandType.WRITE, 0, size, 512, new byte[512]).error());
                assertEquals(ErrorCode.ENOSPC, c.call(CommandType.WRITE_ZEROES, 0, size - 512, 4096, null).error());
                assertEquals(ErrorCode.EINVAL, c.call(CommandType.TRIM, 0, size, 4096, null).error());
                assertEquals(ErrorCode.EINVAL, c.call(CommandType.CACHE, 0, size, 4096, null).error());
                assertEquals(ErrorCode.EINVAL, c.call(CommandType.READ, 0, 0, NbdServer.MAX_BLOCK_SIZE + 1L, null).error());
                assertEquals(ErrorCode.EINVAL, c.call(CommandType.READ, CommandFlags.DF, 0, 512, null).error());
                assertEquals(ErrorCode.EINVAL, c.call(CommandType.WRITE, CommandFlags.NO_HOLE, 0, 512, new byte[512]).error());
                assertEquals(ErrorCode.EINVAL, c.call(CommandType.RESIZE, 0, 0, 0, null).error());
                assertEquals(ErrorCode.EINVAL, c.call(42, 0, 0, 0, null).error());
                assertEquals(ErrorCode.EINVAL, c.call(CommandType.BLOCK_STATUS, 0, 0, 512, null).error(), "no context");
                // A write longer than the maximum: its data is read and dropped, and the stream goes on.
                byte[] tooLong = new byte[NbdServer.MAX_BLOCK_SIZE + 4096];
                assertEquals(ErrorCode.EINVAL, c.call(CommandType.WRITE, 0, 0, tooLong.length, tooLong).error());
                assertEquals(0, c.call(CommandType.READ, 0, 0, 4096, null).error());
                // Nothing of what was refused was written.
                assertEquals(List.of(new Extent(0, 2 * MIB, Extent.ZERO)), dynamic.extents(0, 2 * MIB));
            }
        }
    }

    @Test
    void aReadOnlyExportRefusesWritesWithEperm() throws IOException {
        try (TestClient c = client()) {
            InfoReply.Export export = c.go("ro", true, false);
            assertTrue((export.transmissionFlags() & TransmissionFlags.READ_ONLY) != 0);
            assertEquals(ErrorCode.EPERM, c.call(CommandType.WRITE, 0, 0, 512, new byte[512]).error());
            assertEquals(ErrorCode.EPERM, c.call(CommandType.WRITE_ZEROES, 0, 0, 512, null).error());
            assertEquals(ErrorCode.EPERM, c.call(CommandType.TRIM, 0, 0, 512, null).error());
            assertEquals(0, c.call(CommandType.FLUSH, 0, 0, 0, null).error());
            assertEquals(0, c.call(CommandType.READ, 0, 0, 512, null).error());
        }
    }

    @Test
    void structuredReadsSendHolesAsHoles() throws IOException {
        try (TestClient c = client()) {
            c.go("d", true, false);
            TestClient.Reply r = c.call(CommandType.READ, 0, 2 * MIB - 4096, 8192 + 64 * 1024, null);
            assertEquals(0, r.error());
            byte[] expected = new byte[8192 + 64 * 1024];
            System.arraycopy(pattern(64 * 1024, 1), 0, expected, 4096, 64 * 1024);
            // Block 1 is allocated whole (a dynamic disk's block holds every sector), so all of it is data.
            assertArrayEquals(expected, r.data());
            assertEquals(new Chunk.OffsetHole(2 * MIB - 4096, 4096), r.chunks().getFirst());
            assertTrue(r.chunks().getLast() instanceof Chunk.OffsetData d && d.offset() == 2 * MIB);
        }
    }

    @Test
    void writesFuaFlushAndZeroesReachTheDisk() throws IOException {
        try (TestClient c = client()) {
            c.go("d", true, true);
            byte[] data = pattern(3000, 5);
            assertEquals(0, c.call(CommandType.WRITE, CommandFlags.FUA, 4 * MIB + 1000, data.length, data).error());
            byte[] back = new byte[data.length];
            dynamic.read(4 * MIB + 1000, back);
            assertArrayEquals(data, back);
            assertEquals(0, c.call(CommandType.FLUSH, 0, 0, 0, null).error());

            // Fast zeroing: fine over a hole, refused over data.
            assertEquals(0, c.call(CommandType.WRITE_ZEROES, CommandFlags.FAST_ZERO, 8 * MIB, MIB, null).error());
            assertEquals(List.of(new Extent(8 * MIB, MIB, Extent.ZERO)), dynamic.extents(8 * MIB, MIB));
            assertEquals(ErrorCode.ENOTSUP, c.call(CommandType.WRITE_ZEROES, CommandFlags.FAST_ZERO, 2 * MIB, 4096, null).error());
            // Zeroing data writes zeros; a hole with NO_HOLE is allocated.
            assertEquals(0, c.call(CommandType.WRITE_ZEROES, 0, 2 * MIB, 4096, null).error());
            assertArrayEquals(new byte[4096], c.call(CommandType.READ, 0, 2 * MIB, 4096, null).data());
            assertEquals(0, c.call(CommandType.WRITE_ZEROES, CommandFlags.NO_HOLE, 10 * MIB, 4096, null).error());
            assertTrue(dynamic.extents(10 * MIB, 4096).getFirst().isData());
            assertArrayEquals(new byte[4096], c.call(CommandType.READ, 0, 10 * MIB, 4096, null).data());
            assertEquals(0, c.call(CommandType.TRIM, CommandFlags.FUA, 12 * MIB, 4096, null).error());
            assertEquals(0, c.call(CommandType.CACHE, 0, 0, 16 * MIB, null).error());
        }
    }

    @Test
    void blockStatusReportsTheDisksExtents() throws IOException {
        try (TestClient c = client()) {
            c.go("d", true, true);
            TestClient.Reply r = c.call(CommandType.BLOCK_STATUS, 0, 0, 16 * MIB, null);
            assertEquals(0, r.error());
            Chunk.BlockStatus status = (Chunk.BlockStatus) r.chunks().getFirst();
            assertEquals(Handshake.BASE_ALLOCATION_ID, status.contextId());
            int hole = MetaContext.STATE_HOLE | MetaContext.STATE_ZERO;
            assertEquals(List.of(new Chunk.Descriptor(2 * MIB, hole), new Chunk.Descriptor(2 * MIB, 0),
                    new Chunk.Descriptor(12 * MIB, hole)), status.descriptors());
            Chunk.BlockStatus one = (Chunk.BlockStatus) c.call(CommandType.BLOCK_STATUS, CommandFlags.REQ_ONE,
                    MIB, 4 * MIB, null).chunks().getFirst();
            assertEquals(List.of(new Chunk.Descriptor(MIB, hole)), one.descriptors());
        }
    }

    @Test
    void largeReadsSentFromTheImageFileAreTheDisksBytesAndSeeEarlierWrites() throws IOException {
        // Reads of 64 KiB and more of a block the file holds whole go out by sendfile; a write
        // acknowledged before the read must show in it, and holes next to it stay holes.
        dynamic.write(4 * MIB, pattern(2 * MIB, 2)); // block 2 whole too; block 3 a hole
        try (TestClient c = client()) {
            c.go("d", true, false);
            for (long[] range : new long[][] {{2 * MIB, MIB}, {2 * MIB + 4096, MIB}, {3 * MIB, 2 * MIB},
                    {5 * MIB, 2 * MIB}, {4 * MIB - 65536, 65536}}) {
                byte[] expected = new byte[(int) range[1]];
                dynamic.read(range[0], expected);
                TestClient.Reply r = c.call(CommandType.READ, 0, range[0], range[1], null);
                assertEquals(0, r.error());
                assertArrayEquals(expected, r.data(), "read of " + range[1] + " at " + range[0]);
            }
            byte[] fresh = pattern(MIB, 3);
            assertEquals(0, c.call(CommandType.WRITE, 0, 2 * MIB + 512, MIB, fresh).error());
            assertArrayEquals(fresh, c.call(CommandType.READ, 0, 2 * MIB + 512, MIB, null).data());
            TestClient.Reply mixed = c.call(CommandType.READ, 0, 5 * MIB, 2 * MIB, null);
            assertTrue(mixed.chunks().stream().anyMatch(ch -> ch instanceof Chunk.OffsetHole h && h.offset() == 6 * MIB),
                    "block 3 is sent as a hole: " + mixed.chunks());
        }
    }

    @Test
    void manyRequestsInFlightAllGetTheirReplies() throws IOException {
        try (TestClient c = client()) {
            c.go("d", true, false);
            Map<Long, Integer> written = new HashMap<>();
            for (int i = 0; i < 200; i++) {
                byte[] data = pattern(4096, 100 + i);
                written.put(c.send(CommandType.WRITE, 0, 6 * MIB + i * 4096L, 4096, data), i);
            }
            for (int i = 0; i < 200; i++) {
                assertEquals(0, written.remove(c.next().handle()) >= 0 ? 0 : 1);
            }
            assertTrue(written.isEmpty());
            Map<Long, Integer> reads = new HashMap<>();
            for (int i = 0; i < 200; i++) {
                reads.put(c.sendRead(6 * MIB + i * 4096L, 4096), i);
            }
            for (int i = 0; i < 200; i++) {
                TestClient.Reply r = c.next();
                assertArrayEquals(pattern(4096, 100 + reads.remove(r.handle())), r.data());
            }
            assertTrue(reads.isEmpty());
        }
    }

    @Test
    void smallReadsSentTogetherEachGetTheirWholeReplyWithHolesAndRefusals() throws IOException {
        // The server answers small reads on the connection's thread and sends the replies of a
        // burst together: each must still come whole, holes as holes, a refusal among them.
        byte[] data = pattern(64 * 1024, 1);
        byte[] straddling = new byte[8192];
        System.arraycopy(data, 0, straddling, 4096, 4096);
        for (boolean structured : new boolean[] {true, false}) {
            try (TestClient c = client()) {
                c.go("d", structured, false);
                c.beginBatch();
                long across = c.sendRead(2 * MIB - 4096, 8192);
                long beyond = c.sendRead(16 * MIB, 512);
                long inData = c.sendRead(2 * MIB + 4096, 4096);
                long inHole = c.sendRead(0, 64 * 1024);
                c.sendBatch();
                Map<Long, TestClient.Reply> replies = new HashMap<>();
                for (int i = 0; i < 4; i++) {
                    TestClient.Reply r = c.next();
                    replies.put(r.handle(), r);
                }
                assertArrayEquals(straddling, replies.get(across).data(), "structured " + structured);
                assertEquals(ErrorCode.EINVAL, replies.get(beyond).error());
                assertArrayEquals(Arrays.copyOfRange(data, 4096, 8192), replies.get(inData).data());
                assertArrayEquals(new byte[64 * 1024], replies.get(inHole).data());
                if (structured) {
                    assertEquals(List.of(new Chunk.OffsetHole(2 * MIB - 4096, 4096)), replies.get(across).chunks().subList(0, 1));
                    assertEquals(List.of(new Chunk.OffsetHole(0, 64 * 1024)), replies.get(inHole).chunks());
                }
                assertEquals(0, c.call(CommandType.READ, 0, 2 * MIB, 16, null).error(), "the connection goes on");
            }
        }
    }

    @Test
    void requestsSentBackToBackAreEachServedWhateverTheirSizes() throws IOException {
        // The server reads ahead of the request it serves: headers and write data of every size
        // (smaller and larger than its read-ahead buffer) arriving in one stream must still be cut
        // exactly where each request ends.
        int[] sizes = {1, 27, 4096, 100_000, 28, 65_536, 65_535, 200_000, 3};
        try (TestClient c = client()) {
            c.go("d", true, false);
            Map<Long, Integer> writes = new HashMap<>();
            long[] offsets = new long[sizes.length];
            c.beginBatch();
            long at = 4 * MIB + 5;
            for (int i = 0; i < sizes.length; i++) {
                offsets[i] = at;
                writes.put(c.send(CommandType.WRITE, 0, at, sizes[i], pattern(sizes[i], 300 + i)), i);
                at += sizes[i] + 7;
            }
            c.sendBatch();
            for (int i = 0; i < sizes.length; i++) {
                TestClient.Reply r = c.next();
                assertEquals(0, r.error());
                assertTrue(writes.remove(r.handle()) != null);
            }
            Map<Long, Integer> reads = new HashMap<>();
            c.beginBatch();
            for (int i = 0; i < sizes.length; i++) {
                reads.put(c.sendRead(offsets[i], sizes[i]), i);
            }
            c.sendBatch();
            for (int i = 0; i < sizes.length; i++) {
                TestClient.Reply r = c.next();
                int which = reads.remove(r.handle());
                assertArrayEquals(pattern(sizes[which], 300 + which), r.data(), "write " + which + " read back");
            }
            assertTrue(reads.isEmpty() && writes.isEmpty());
        }
    }

    @Test
    void closeFinishesClientsAndRefusesNewOnes() throws IOException {
        TestClient c = client();
        c.go("d", true, false);
        byte[] data = pattern(4096, 8);
        assertEquals(0, c.call(CommandType.WRITE, 0, 0, 4096, data).error());
        server.close();
        assertTrue(c.closedByServer());
        c.close();
        assertThrows(IOException.class, this::client);
        assertFalse(java.nio.file.Files.exists(tmp.resolve("nbd.sock")), "the socket file is removed");
        byte[] back = new byte[4096];
        dynamic.read(0, back);
        assertArrayEquals(data, back);
    }
}
