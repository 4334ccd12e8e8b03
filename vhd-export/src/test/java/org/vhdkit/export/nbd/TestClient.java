package org.vhdkit.export.nbd;

import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.vhdkit.export.nbd.protocol.Chunk;
import org.vhdkit.export.nbd.protocol.ChunkHeader;
import org.vhdkit.export.nbd.protocol.ClientFlags;
import org.vhdkit.export.nbd.protocol.ExportNameReply;
import org.vhdkit.export.nbd.protocol.Greeting;
import org.vhdkit.export.nbd.protocol.HandshakeFlags;
import org.vhdkit.export.nbd.protocol.InfoReply;
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

/**
 * A small NBD client for the tests, built on the protocol's codecs: the handshake step by step,
 * requests sent without waiting, and replies read whole (a structured reply's chunks gathered
 * until the last). Not thread-safe: one test thread.
 */
final class TestClient implements Closeable {
    private final SocketChannel channel;
    final Greeting greeting;
    private boolean structured;
    private long nextHandle = 1;
    /** Reads in flight: handle to length, to read a simple reply's data. */
    private final Map<Long, Long> reads = new HashMap<>();
    /** Chunks of structured replies not yet done, by handle. */
    private final Map<Long, Reply> partial = new HashMap<>();

    private TestClient(SocketChannel channel) throws IOException {
        this.channel = channel;
        this.greeting = Greeting.decode(read(Greeting.SIZE));
    }

    static TestClient connect(SocketAddress address) throws IOException {
        SocketChannel c = address instanceof UnixDomainSocketAddress
                ? SocketChannel.open(StandardProtocolFamily.UNIX) : SocketChannel.open();
        c.connect(address);
        return new TestClient(c);
    }

    /** One option's replies: each reply's header and data. */
    record OptionReply(OptionReplyHeader header, ByteBuffer data) {
        int type() {
            return header.type();
        }
    }

    /** A whole reply to a request. */
    record Reply(long handle, int error, byte[] data, List<Chunk> chunks) {
    }

    void clientFlags(int flags) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(ClientFlags.SIZE);
        new ClientFlags(flags).encode(b);
        write(b.flip());
    }

    void sendOption(int option, byte[] data) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(OptionHeader.SIZE + data.length);
        new OptionHeader(option, data.length).encode(b);
        write(b.put(data).flip());
    }

    /** Sends an option and reads its replies up to the final one (ACK or an error). */
    List<OptionReply> option(int option, byte[] data) throws IOException {
        sendOption(option, data);
        List<OptionReply> replies = new ArrayList<>();
        while (true) {
            OptionReplyHeader h = OptionReplyHeader.decode(read(OptionReplyHeader.SIZE));
            OptionReply r = new OptionReply(h, read(h.length()));
            replies.add(r);
            if (h.type() == OptionReplyType.ACK || OptionReplyType.isError(h.type())) {
                if (option == OptionType.STRUCTURED_REPLY && h.type() == OptionReplyType.ACK) {
                    structured = true;
                }
                return replies;
            }
        }
    }

    static byte[] bytes(int size, Consumer<ByteBuffer> encoder) {
        ByteBuffer b = ByteBuffer.allocate(size);
        encoder.accept(b);
        return b.array();
    }

    /**
     * The usual handshake: fixed newstyle without zeroes, structured replies and base:allocation
     * when asked for, then NBD_OPT_GO; returns what NBD_INFO_EXPORT said.
     */
    InfoReply.Export go(String export, boolean structuredReplies, boolean allocation) throws IOException {
        clientFlags(HandshakeFlags.C_FIXED_NEWSTYLE | HandshakeFlags.C_NO_ZEROES);
        return choose(export, structuredReplies, allocation);
    }

    /** {@link #go} after the client flags were sent. */
    InfoReply.Export choose(String export, boolean structuredReplies, boolean allocation) throws IOException {
        if (structuredReplies) {
            expectAck(option(OptionType.STRUCTURED_REPLY, new byte[0]));
        }
        if (allocation) {
            MetaContextQuery q = new MetaContextQuery(export, List.of(MetaContext.BASE_ALLOCATION));
            expectAck(option(OptionType.SET_META_CONTEXT, bytes(q.size(), q::encode)));
        }
        InfoRequest go = new InfoRequest(export, List.of(InfoType.BLOCK_SIZE));
        List<OptionReply> replies = option(OptionType.GO, bytes(go.size(), go::encode));
        expectAck(replies);
        for (OptionReply r : replies) {
            if (r.type() == OptionReplyType.INFO && r.data().getShort(0) == InfoType.EXPORT) {
                return (InfoReply.Export) InfoReply.decode(r.data().duplicate());
            }
        }
        throw new AssertionError("no NBD_INFO_EXPORT");
    }

    /** The old way in: NBD_OPT_EXPORT_NAME, its reply read with or without the zeroes. */
    ExportNameReply exportName(String export, boolean noZeroes) throws IOException {
        sendOption(OptionType.EXPORT_NAME, export.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return ExportNameReply.decode(read(noZeroes ? ExportNameReply.SHORT_SIZE : ExportNameReply.LONG_SIZE), noZeroes);
    }

    private static void expectAck(List<OptionReply> replies) {
        int last = replies.getLast().type();
        if (last != OptionReplyType.ACK) {
            throw new AssertionError("option refused: 0x" + Integer.toHexString(last) + " "
                    + java.nio.charset.StandardCharsets.UTF_8.decode(replies.getLast().data().duplicate()));
        }
    }

    /** Sends a request (with a write's data) and returns its handle. */
    long send(int type, int flags, long offset, long length, byte[] data) throws IOException {
        long handle = nextHandle++;
        ByteBuffer b = ByteBuffer.allocate(RequestHeader.SIZE + (data == null ? 0 : data.length));
        new RequestHeader(flags, type, handle, offset, length).encode(b);
        if (data != null) {
            b.put(data);
        }
        write(b.flip());
        if (type == org.vhdkit.export.nbd.protocol.CommandType.READ) {
            reads.put(handle, length);
        }
        return handle;
    }

    /** Reads replies until one is whole, and returns it. */
    Reply next() throws IOException {
        while (true) {
            int magic = read(4).getInt();
            if (magic == Magic.SIMPLE_REPLY) {
                ByteBuffer rest = read(SimpleReply.SIZE - 4);
                SimpleReply r = SimpleReply.decode(ByteBuffer.allocate(SimpleReply.SIZE).putInt(magic).put(rest).flip());
                Long length = reads.remove(r.handle());
                byte[] data = new byte[0];
                if (length != null && r.error() == 0) {
                    data = new byte[(int) (long) length];
                    read(data.length).get(data);
                }
                return new Reply(r.handle(), r.error(), data, List.of());
            }
            if (magic != Magic.STRUCTURED_REPLY) {
                throw new IOException("reply magic 0x" + Integer.toHexString(magic));
            }
            ByteBuffer rest = read(ChunkHeader.SIZE - 4);
            ChunkHeader h = ChunkHeader.decode(ByteBuffer.allocate(ChunkHeader.SIZE).putInt(magic).put(rest).flip());
            ByteBuffer payload = read((int) h.length());
            Chunk chunk = Chunk.decode(h, payload);
            Long length = reads.get(h.handle());
            Reply sofar = partial.computeIfAbsent(h.handle(), k ->
                    new Reply(k, 0, new byte[length == null ? 0 : (int) (long) length], new ArrayList<>()));
            sofar.chunks().add(chunk);
            int error = sofar.error();
            if (chunk instanceof Chunk.OffsetData d) {
                payload.get(sofar.data(), (int) (d.offset() - requestOffset(h.handle())), (int) d.dataLength());
            } else if (chunk instanceof Chunk.Error e && error == 0) {
                error = e.error();
            }
            Reply now = new Reply(h.handle(), error, sofar.data(), sofar.chunks());
            partial.put(h.handle(), now);
            if (h.done()) {
                partial.remove(h.handle());
                reads.remove(h.handle());
                offsets.remove(h.handle());
                return now;
            }
        }
    }

    private final Map<Long, Long> offsets = new HashMap<>();

    /** A read that remembers its offset, for placing structured chunks. */
    long sendRead(long offset, long length) throws IOException {
        long handle = send(org.vhdkit.export.nbd.protocol.CommandType.READ, 0, offset, length, null);
        offsets.put(handle, offset);
        return handle;
    }

    private long requestOffset(long handle) {
        Long o = offsets.get(handle);
        if (o == null) {
            throw new AssertionError("data for a request not sent with sendRead: " + handle);
        }
        return o;
    }

    /** Sends a request and waits for its reply (none other in flight). */
    Reply call(int type, int flags, long offset, long length, byte[] data) throws IOException {
        long handle = type == org.vhdkit.export.nbd.protocol.CommandType.READ && data == null
                ? sendReadFlags(offset, length, flags) : send(type, flags, offset, length, data);
        Reply r = next();
        if (r.handle() != handle) {
            throw new AssertionError("reply to " + r.handle() + ", expected " + handle);
        }
        return r;
    }

    private long sendReadFlags(long offset, long length, int flags) throws IOException {
        long handle = send(org.vhdkit.export.nbd.protocol.CommandType.READ, flags, offset, length, null);
        offsets.put(handle, offset);
        return handle;
    }

    boolean structured() {
        return structured;
    }

    void write(ByteBuffer b) throws IOException {
        if (batch != null) {
            batch.write(b.array(), b.arrayOffset() + b.position(), b.remaining());
            b.position(b.limit());
            return;
        }
        while (b.hasRemaining()) {
            channel.write(b);
        }
    }

    /** Requests from now on are held, to go out together at {@link #sendBatch}. */
    void beginBatch() {
        batch = new java.io.ByteArrayOutputStream();
    }

    /** Sends the requests held since {@link #beginBatch} in one write (as far as the socket takes it). */
    void sendBatch() throws IOException {
        ByteBuffer all = ByteBuffer.wrap(batch.toByteArray());
        batch = null;
        write(all);
    }

    private java.io.ByteArrayOutputStream batch;

    ByteBuffer read(int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (channel.read(b) < 0) {
                throw new EOFException("the server closed the connection");
            }
        }
        return b.flip();
    }

    /** Whether the server has closed the connection (reads to the end, dropping what comes). */
    boolean closedByServer() {
        ByteBuffer b = ByteBuffer.allocate(4096);
        try {
            while (true) {
                b.clear();
                if (channel.read(b) < 0) {
                    return true;
                }
            }
        } catch (IOException e) {
            return true;
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
