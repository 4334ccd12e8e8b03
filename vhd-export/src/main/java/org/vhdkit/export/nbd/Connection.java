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
 * thread of its own; then the channel is closed and the server told.
 *
 * <p>Thread-safety: {@link #stop}, {@link #abort} and {@link #await} may be called from any thread;
 * everything else runs in the connection's thread. {@link #stopping} is volatile.
 */
final class Connection {
    private final NbdServer server;
    private final int id;
    private final SocketChannel channel;
    private final ReplyChannel replies;
    private final CountDownLatch ended = new CountDownLatch(1);
    private volatile boolean stopping;

    Connection(NbdServer server, int id, SocketChannel channel) {
        this.server = server;
        this.id = id;
        this.channel = channel;
        this.replies = new ReplyChannel(channel);
    }

    int id() {
        return id;
    }

    void start() throws IOException {
        SocketAddress peer = channel.getRemoteAddress();
        String from = peer == null || peer.toString().isEmpty() ? "" : " from " + peer;
        server.log("client " + id + ": connected" + from);
        Thread.ofVirtual().name("nbd-client-" + id).start(this::run);
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

    private void run() {
        String end = "disconnected";
        try {
            Handshake.Session session = new Handshake(this).negotiate();
            if (session != null) {
                end = new Transmission(this, session).serve();
            } else {
                end = "ended the handshake";
            }
        } catch (NbdProtocolException e) {
            end = "dropped: " + e.getMessage();
        } catch (EOFException | ClosedChannelException e) {
            end = stopping ? "disconnected: the server is stopping" : "disconnected";
        } catch (IOException e) {
            end = stopping ? "disconnected: the server is stopping" : "dropped: " + e.getMessage();
        } catch (RuntimeException e) {
            end = "dropped after an internal error: " + e;
        } finally {
            replies.fail();
            log(end);
            server.ended(this);
            ended.countDown();
        }
    }

    /** Reads exactly {@code buffer.remaining()} bytes; {@link EOFException} at the end of the stream. */
    void readFully(ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            if (channel.read(buffer) < 0) {
                throw new EOFException("the client closed the connection");
            }
        }
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
