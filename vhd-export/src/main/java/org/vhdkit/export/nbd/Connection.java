package org.vhdkit.export.nbd;

import java.io.EOFException;
import java.io.IOException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SocketChannel;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.vhdkit.export.nbd.protocol.NbdProtocolException;

/**
 * One client: its handshake ({@link Handshake}), then its requests ({@link Transmission}), in a
 * thread of its own; then the channel is closed and the server told. Reads go through a
 * {@link Transport}: the socket, or TLS once the client asked for it.
 *
 * <p>The thread is a platform thread (the server takes at most {@link NbdServer.Limits#clients}
 * clients): it waits for the client's next requests in the kernel, where a virtual thread would
 * park and be woken through the JDK's poller threads, several hand-offs per wait, and it runs
 * reads and writes that come from the page cache itself (see {@link Transmission}).
 *
 * <p>What a stalled client is: one that has not finished its handshake within the server's
 * handshake limit, or that began a request (or a write's data) and sent nothing more for the stall
 * limit, or that has not taken a reply for the stall limit. {@link #overdue} says so, and the
 * server's watchdog then drops the client. A client idle between requests is not stalled.
 *
 * <p>Thread-safety: {@link #stop}, {@link #abort}, {@link #overdue} and {@link #await} may be called
 * from any thread; everything else runs in the connection's thread. {@link #stopping},
 * {@link #handshakeDeadline}, {@link #readingSince} and {@link #aborted} are volatile.
 */
final class Connection {
    /** The read-ahead buffer's size: a few hundred request headers, or the data of small writes. */
    static final int READ_AHEAD = 64 * 1024;

    private final NbdServer server;
    private final int id;
    private final SocketChannel channel;
    private final ReplyChannel replies;
    private final CountDownLatch ended = new CountDownLatch(1);
    private volatile boolean stopping;
    /** Connection thread only. */
    private Transport transport;
    /** {@link System#nanoTime} by which the handshake must be done, or 0 once it is. */
    private volatile long handshakeDeadline;
    /** {@link System#nanoTime} of the last progress on a request begun, or 0 between requests. */
    private volatile long readingSince;
    /** Why the watchdog dropped the client, or null. */
    private volatile String aborted;
    /**
     * Bytes read from the client beyond what was asked for (between position and limit), once the
     * handshake is done, so that a client's requests sent back to back take one read between them,
     * not one each; null during the handshake, whose messages are read exactly (the bytes after
     * {@code NBD_OPT_STARTTLS} belong to TLS). Connection thread only.
     */
    private ByteBuffer ahead;

    Connection(NbdServer server, int id, SocketChannel channel) {
        this.server = server;
        this.id = id;
        this.channel = channel;
        this.replies = new ReplyChannel(channel, server.buffers());
        this.transport = new Transport.Plain(channel);
        this.handshakeDeadline = System.nanoTime() + server.limits().handshake().toNanos();
    }

    int id() {
        return id;
    }

    void start() throws IOException {
        SocketAddress peer = channel.getRemoteAddress();
        String from = peer == null || peer.toString().isEmpty() ? "" : " from " + peer;
        server.log("client " + id + ": connected" + from);
        Thread.ofPlatform().daemon().name("nbd-client-" + id).start(this::run);
    }

    /** Asks the connection to end: it reads no more requests, finishes those in flight and closes. */
    void stop() {
        stopping = true;
        try {
            channel.shutdownInput();
        } catch (IOException e) {
            // Already closed: it is ending anyway.
        }
    }

    /** Closes the channel now, whatever is in flight. */
    void abort() {
        stopping = true;
        replies.fail();
    }

    /** Drops a stalled client: closes its channel now, and its log line says {@code why}. */
    void abort(String why) {
        aborted = why;
        replies.fail();
    }

    /** Why the client counts as stalled at {@code now} ({@link System#nanoTime}), or null when it does not. */
    String overdue(long now) {
        long stall = server.limits().stall().toNanos();
        long handshake = handshakeDeadline;
        if (handshake != 0 && now - handshake > 0) {
            return "did not finish the handshake within " + server.limits().handshake().toSeconds() + " s";
        }
        long reading = readingSince;
        if (reading != 0 && now - reading > stall) {
            return "began a request and sent nothing more for " + server.limits().stall().toSeconds() + " s";
        }
        long writing = replies.writingSince();
        if (writing != 0 && now - writing > stall) {
            return "took no reply data for " + server.limits().stall().toSeconds() + " s";
        }
        return null;
    }

    /** Waits up to {@code nanos} for the connection to end; true when it has. */
    boolean await(long nanos) throws InterruptedException {
        return ended.await(Math.max(0, nanos), TimeUnit.NANOSECONDS);
    }

    boolean stopping() {
        return stopping;
    }

    NbdServer server() {
        return server;
    }

    ReplyChannel replies() {
        return replies;
    }

    void log(String what) {
        server.log("client " + id + ": " + what);
    }

    /**
     * Runs the TLS handshake ({@code NBD_OPT_STARTTLS} was acknowledged): from now on every byte
     * goes through TLS. A failed handshake ends the connection.
     */
    void startTls(TlsCredentials credentials) throws IOException {
        Transport tls = credentials.accept(channel);
        transport = tls;
        replies.use(tls);
        log("TLS: " + tls.describe());
    }

    /**
     * The handshake is over: from now on the client may be idle between requests as long as it
     * likes, and its stream is read ahead.
     */
    void handshakeDone() {
        handshakeDeadline = 0;
        ahead = server.buffers().take(READ_AHEAD).flip(); // empty
    }

    private void run() {
        String end = "disconnected";
        boolean clean = false;
        try {
            Handshake.Session session = new Handshake(this).negotiate();
            if (session != null) {
                handshakeDone();
                end = new Transmission(this, session).serve();
            } else {
                end = "ended the handshake";
            }
            clean = true;
        } catch (NbdProtocolException e) {
            end = "dropped: " + e.getMessage();
        } catch (EOFException | ClosedChannelException e) {
            end = stopping ? "disconnected: the server is stopping" : "disconnected";
        } catch (IOException e) {
            end = stopping ? "disconnected: the server is stopping" : "dropped: " + e.getMessage();
        } catch (RuntimeException e) {
            end = "dropped after an internal error: " + e;
        } finally {
            if (clean) {
                replies.close();
            } else {
                replies.fail();
            }
            replies.release();
            if (ahead != null) {
                server.buffers().give(ahead);
                ahead = null;
            }
            String why = aborted;
            log(why != null ? "dropped: " + why : end);
            server.ended(this);
            ended.countDown();
        }
    }

    /** How many bytes the client sent that have been read ahead and not yet taken: that many can be taken without waiting. */
    int buffered() {
        return ahead == null ? 0 : ahead.remaining();
    }

    /** Reads exactly {@code buffer.remaining()} bytes; {@link EOFException} at the end of the stream. */
    void readFully(ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            if (ahead != null && ahead.hasRemaining()) {
                int n = Math.min(ahead.remaining(), buffer.remaining());
                buffer.put(buffer.position(), ahead, ahead.position(), n);
                buffer.position(buffer.position() + n);
                ahead.position(ahead.position() + n);
                continue;
            }
            readSome(buffer);
            if (readingSince != 0) {
                readingSince = System.nanoTime();
            }
        }
    }

    /**
     * Reads the start of a request: waits as long as the client likes for its first bytes, then
     * reads the rest as {@link #readFully} does, the client now having the stall limit between any
     * two pieces, until {@link #requestRead}.
     */
    void readRequest(ByteBuffer buffer) throws IOException {
        if (buffer.hasRemaining() && (ahead == null || !ahead.hasRemaining())) {
            readSome(buffer);
        }
        readingSince = System.nanoTime();
        readFully(buffer);
    }

    /**
     * One read from the client: into the read-ahead buffer when there is one and {@code buffer}
     * wants less than it holds (the bytes stay there for {@link #readFully}), else straight into
     * {@code buffer} (a write's large data). {@link EOFException} at the end of the stream.
     */
    private void readSome(ByteBuffer buffer) throws IOException {
        ByteBuffer into = ahead != null && !ahead.hasRemaining() && buffer.remaining() < ahead.capacity()
                ? ahead.clear() : buffer;
        int n = transport.read(into);
        if (into == ahead) {
            ahead.flip();
        }
        if (n < 0) {
            throw new EOFException("the client closed the connection");
        }
    }

    /** Stops the stall clock while the server makes the client wait; true when a request had begun. */
    boolean pauseRequest() {
        boolean began = readingSince != 0;
        readingSince = 0;
        return began;
    }

    /** Starts the stall clock again after {@link #pauseRequest}. */
    void resumeRequest() {
        readingSince = System.nanoTime();
    }

    /** The request begun by {@link #readRequest} has been read whole (with a write's data). */
    void requestRead() {
        readingSince = 0;
    }

    /** Reads {@code count} bytes and drops them, through a small buffer. */
    void skip(long count) throws IOException {
        ByteBuffer sink = server.buffers().take(BufferPool.MIN);
        try {
            while (count > 0) {
                sink.clear().limit((int) Math.min(count, sink.capacity()));
                readFully(sink);
                count -= sink.limit();
            }
        } finally {
            server.buffers().give(sink);
        }
    }
}
