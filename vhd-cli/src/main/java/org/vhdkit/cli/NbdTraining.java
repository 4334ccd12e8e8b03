package org.vhdkit.cli;

import java.io.EOFException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.vhdkit.export.nbd.NbdServer;
import org.vhdkit.export.nbd.protocol.ChunkHeader;
import org.vhdkit.export.nbd.protocol.ClientFlags;
import org.vhdkit.export.nbd.protocol.CommandType;
import org.vhdkit.export.nbd.protocol.Greeting;
import org.vhdkit.export.nbd.protocol.HandshakeFlags;
import org.vhdkit.export.nbd.protocol.InfoRequest;
import org.vhdkit.export.nbd.protocol.InfoType;
import org.vhdkit.export.nbd.protocol.Magic;
import org.vhdkit.export.nbd.protocol.MetaContext;
import org.vhdkit.export.nbd.protocol.MetaContextQuery;
import org.vhdkit.export.nbd.protocol.OptionHeader;
import org.vhdkit.export.nbd.protocol.OptionReplyHeader;
import org.vhdkit.export.nbd.protocol.OptionReplyType;
import org.vhdkit.export.nbd.protocol.OptionType;
import org.vhdkit.export.nbd.protocol.RequestHeader;
import org.vhdkit.export.nbd.protocol.SimpleReply;
import org.vhdkit.vhd.DiskImage;
import org.vhdkit.vhd.disk.VirtualDisk;

/**
 * The start-up cache's NBD session: an {@link NbdServer} as {@code vhd serve} starts it, on a Unix
 * socket in the training directory, over a dynamic VHD there, driven in this process by a minimal
 * client that asks what nbdcopy and qemu-img ask: the handshake with structured replies and the
 * base:allocation context, then writes (256 KiB and 4 KiB), a flush, block status, 256 KiB reads
 * sent 16 at a time, and 4 KiB reads one at a time and 16 at a time. {@code vhd serve} then starts
 * with these classes loaded and these paths profiled (JEP 515): its first client's pass no longer
 * pays for the warm-up.
 *
 * <p>Every request must succeed; a refused one fails the session with an {@link IOException}. A
 * server that stops answering fails it after {@link #DEADLINE_MILLIS}, by the channel being closed
 * under the blocked read. Not thread-safe: one call at a time.
 */
final class NbdTraining {
    /** How long the whole session may take before its connection is closed under it. */
    static final long DEADLINE_MILLIS = 60_000;

    private static final int K4 = 4096;
    private static final int K256 = 256 << 10;
    /** The data area the session writes and then reads: 16 MiB of the 64 MiB disk, the rest holes. */
    private static final int DATA = 16 << 20;
    private static final int DEPTH = 16;
    private static final String EXPORT = "training";

    private final SocketChannel channel;
    private long nextHandle = 1;
    /** Requests answered, all without error. */
    private int answered;

    private NbdTraining(SocketChannel channel) {
        this.channel = channel;
    }

    /**
     * Serves {@code image}, a new dynamic VHD of 64 MiB, on {@code dir}/nbd.sock and runs the
     * session against it; returns the number of requests answered.
     *
     * @throws IOException when the server cannot start or a request fails or times out
     */
    static int run(Path dir, Path image) throws IOException {
        try (VirtualDisk disk = DiskImage.open(image, false)) {
            UnixDomainSocketAddress address = UnixDomainSocketAddress.of(dir.resolve("nbd.sock"));
            NbdServer server = NbdServer.start(address,
                    List.of(new NbdServer.Export(EXPORT, disk, false, "training disk")), line -> { });
            try {
                int answered = 0;
                // Two connections, as nbdcopy opens several: the first writes, the second reads.
                answered += session(address, NbdTraining::writes);
                answered += session(address, NbdTraining::reads);
                return answered;
            } finally {
                server.close();
            }
        }
    }

    private interface Work {
        void run(NbdTraining client, long size) throws IOException;
    }

    private static int session(UnixDomainSocketAddress address, Work work) throws IOException {
        try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            c.connect(address);
            Thread deadline = Thread.ofVirtual().name("nbd-training-deadline").start(() -> {
                try {
                    Thread.sleep(DEADLINE_MILLIS);
                    c.close();
                } catch (InterruptedException | IOException e) {
                    // done in time, or already closed
                }
            });
            try {
                NbdTraining client = new NbdTraining(c);
                long size = client.handshake();
                work.run(client, size);
                client.send(CommandType.DISC, 0, 0, null);
                return client.answered;
            } finally {
                deadline.interrupt();
            }
        }
    }

    private static void writes(NbdTraining c, long size) throws IOException {
        byte[] big = pattern(K256);
        for (int off = 0; off < DATA; off += DEPTH * K256) {
            for (int i = 0; i < DEPTH; i++) {
                c.send(CommandType.WRITE, off + (long) i * K256, K256, big);
            }
            c.awaitReplies(DEPTH);
        }
        byte[] small = pattern(K4);
        for (int i = 0; i < 512; i++) {
            c.send(CommandType.WRITE, (long) ((i * 37) % (DATA / K4)) * K4, K4, small);
            c.awaitReplies(1);
        }
        c.send(CommandType.FLUSH, 0, 0, null);
        c.awaitReplies(1);
    }

    private static void reads(NbdTraining c, long size) throws IOException {
        // nbdcopy: the map first, then the data in 256 KiB requests, many in flight.
        for (long off = 0; off < size; off += 4 << 20) {
            c.send(CommandType.BLOCK_STATUS, off, 4 << 20, null);
            c.awaitReplies(1);
        }
        for (int pass = 0; pass < 2; pass++) {
            for (long off = 0; off < size; off += DEPTH * K256) {
                for (int i = 0; i < DEPTH; i++) {
                    c.send(CommandType.READ, off + (long) i * K256, K256, null);
                }
                c.awaitReplies(DEPTH);
            }
        }
        // qemu-img bench: 4 KiB strided reads at depth 1, then 16 in flight.
        int blocks = DATA / K4;
        for (int i = 0; i < 6000; i++) {
            c.send(CommandType.READ, (long) ((i * 257L) % blocks) * K4, K4, null);
            c.awaitReplies(1);
        }
        for (int i = 0; i < 6000; i += DEPTH) {
            for (int j = 0; j < DEPTH; j++) {
                c.send(CommandType.READ, (long) (((i + j) * 257L) % blocks) * K4, K4, null);
            }
            c.awaitReplies(DEPTH);
        }
    }

    private static byte[] pattern(int length) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = (byte) (i * 31 + 7);
        }
        return b;
    }

    /** Fixed newstyle, structured replies, base:allocation, NBD_OPT_GO; returns the export's size. */
    private long handshake() throws IOException {
        Greeting greeting = Greeting.decode(read(Greeting.SIZE));
        if ((greeting.handshakeFlags() & HandshakeFlags.FIXED_NEWSTYLE) == 0) {
            throw new IOException("the server is not fixed newstyle");
        }
        ByteBuffer flags = ByteBuffer.allocate(ClientFlags.SIZE);
        new ClientFlags(HandshakeFlags.C_FIXED_NEWSTYLE | HandshakeFlags.C_NO_ZEROES).encode(flags);
        write(flags.flip());
        option(OptionType.STRUCTURED_REPLY, new byte[0]);
        MetaContextQuery query = new MetaContextQuery(EXPORT, List.of(MetaContext.BASE_ALLOCATION));
        ByteBuffer q = ByteBuffer.allocate(query.size());
        query.encode(q);
        option(OptionType.SET_META_CONTEXT, q.array());
        InfoRequest go = new InfoRequest(EXPORT, List.of(InfoType.BLOCK_SIZE));
        ByteBuffer g = ByteBuffer.allocate(go.size());
        go.encode(g);
        long size = -1;
        for (ByteBuffer info : option(OptionType.GO, g.array())) {
            if (info.remaining() >= 10 && info.getShort(0) == InfoType.EXPORT) {
                size = info.getLong(2);
            }
        }
        if (size < DATA) {
            throw new IOException("NBD_OPT_GO gave no export size, or one below " + DATA + ": " + size);
        }
        return size;
    }

    /** Sends an option and returns the data of its INFO replies; throws unless it ends in ACK. */
    private List<ByteBuffer> option(int option, byte[] data) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(OptionHeader.SIZE + data.length);
        new OptionHeader(option, data.length).encode(b);
        write(b.put(data).flip());
        List<ByteBuffer> infos = new ArrayList<>();
        while (true) {
            OptionReplyHeader h = OptionReplyHeader.decode(read(OptionReplyHeader.SIZE));
            ByteBuffer body = read(h.length());
            if (h.type() == OptionReplyType.ACK) {
                return infos;
            }
            if (OptionReplyType.isError(h.type())) {
                throw new IOException("option " + option + " refused: reply type 0x" + Integer.toHexString(h.type()));
            }
            if (h.type() == OptionReplyType.INFO) {
                infos.add(body);
            }
        }
    }

    private void send(int type, long offset, long length, byte[] data) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(RequestHeader.SIZE + (data == null ? 0 : data.length));
        new RequestHeader(0, type, nextHandle++, offset, length).encode(b);
        if (data != null) {
            b.put(data);
        }
        write(b.flip());
    }

    /** Reads replies until {@code n} requests are whole; throws on the first error. */
    private void awaitReplies(int n) throws IOException {
        for (int done = 0; done < n; ) {
            int magic = read(4).getInt();
            if (magic == Magic.SIMPLE_REPLY) {
                SimpleReply r = SimpleReply.decode(ByteBuffer.allocate(SimpleReply.SIZE).putInt(magic)
                        .put(read(SimpleReply.SIZE - 4)).flip());
                if (r.error() != 0) {
                    throw new IOException("request " + r.handle() + " failed: NBD error " + r.error());
                }
                done++;
                continue;
            }
            if (magic != Magic.STRUCTURED_REPLY) {
                throw new IOException("reply magic 0x" + Integer.toHexString(magic));
            }
            ChunkHeader h = ChunkHeader.decode(ByteBuffer.allocate(ChunkHeader.SIZE).putInt(magic)
                    .put(read(ChunkHeader.SIZE - 4)).flip());
            read((int) h.length());
            if ((h.type() & 0x8000) != 0) {
                throw new IOException("request " + h.handle() + " failed: error chunk type 0x" + Integer.toHexString(h.type()));
            }
            if (h.done()) {
                done++;
            }
        }
        answered += n;
    }

    private void write(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            channel.write(b);
        }
    }

    private ByteBuffer read(int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (channel.read(b) < 0) {
                throw new EOFException("the training server closed the connection");
            }
        }
        return b.flip();
    }
}
