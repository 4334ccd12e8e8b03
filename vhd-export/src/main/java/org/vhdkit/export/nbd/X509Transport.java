package org.vhdkit.export.nbd;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.security.cert.X509Certificate;
import java.util.concurrent.locks.ReentrantLock;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * TLS with X.509 certificates through the JDK's {@link SSLEngine}, blocking over the socket: the
 * reading side unwraps records into {@link #appIn}, the writing side wraps straight from the
 * caller's buffers. Post-handshake messages the reading side must answer (TLS 1.3 key updates,
 * close_notify) are sent under {@link #writeLock}.
 *
 * <p>Thread-safety: as {@link Transport} says; an SSLEngine allows one wrap and one unwrap at once.
 * {@link #netIn} and {@link #appIn} belong to the reading thread, {@link #netOut} is guarded by
 * {@link #writeLock}.
 */
final class X509Transport implements Transport {
    private static final ByteBuffer[] NOTHING = {ByteBuffer.allocate(0)};

    private final SocketChannel channel;
    private final SSLEngine engine;
    private final ReentrantLock writeLock = new ReentrantLock();
    private ByteBuffer netIn;
    private ByteBuffer appIn;
    /** Guarded by {@link #writeLock}. */
    private ByteBuffer netOut;
    private String description = "TLS";

    private X509Transport(SocketChannel channel, SSLEngine engine) {
        this.channel = channel;
        this.engine = engine;
        SSLSession s = engine.getSession();
        this.netIn = ByteBuffer.allocate(s.getPacketBufferSize());
        this.appIn = ByteBuffer.allocate(s.getApplicationBufferSize()).flip();
        this.netOut = ByteBuffer.allocate(s.getPacketBufferSize());
    }

    /** Runs the server side of the handshake; fails when the client's certificate (if asked for) does not verify. */
    static X509Transport accept(SocketChannel channel, X509Keys keys) throws IOException {
        X509Transport t = new X509Transport(channel, keys.engine());
        try {
            t.handshake();
        } catch (SSLException e) {
            throw new IOException("TLS handshake failed: " + e.getMessage(), e);
        }
        SSLSession s = t.engine.getSession();
        String peer;
        try {
            peer = ", client certificate " + ((X509Certificate) s.getPeerCertificates()[0]).getSubjectX500Principal().getName();
        } catch (SSLPeerUnverifiedException e) {
            peer = ", no client certificate";
        }
        t.description = s.getProtocol().replace("TLSv", "TLS ") + " " + s.getCipherSuite() + ", X.509" + peer;
        return t;
    }

    private void handshake() throws IOException {
        engine.beginHandshake();
        while (true) {
            switch (engine.getHandshakeStatus()) {
                case NEED_WRAP -> {
                    writeLock.lock();
                    try {
                        wrap(NOTHING);
                    } finally {
                        writeLock.unlock();
                    }
                }
                case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
                    if (unwrap() < 0) {
                        throw new EOFException("the client closed the connection during the TLS handshake");
                    }
                }
                case NEED_TASK -> runTasks();
                case FINISHED, NOT_HANDSHAKING -> {
                    return;
                }
            }
        }
    }

    private void runTasks() {
        Runnable task;
        while ((task = engine.getDelegatedTask()) != null) {
            task.run();
        }
    }

    /** One unwrap step: reads from the socket when a whole record is not there. -1 at the end of the stream. */
    private int unwrap() throws IOException {
        netIn.flip();
        appIn.compact();
        SSLEngineResult r;
        try {
            r = engine.unwrap(netIn, appIn);
        } finally {
            netIn.compact();
            appIn.flip();
        }
        switch (r.getStatus()) {
            case BUFFER_UNDERFLOW -> {
                if (!netIn.hasRemaining()) {
                    netIn = grow(netIn, engine.getSession().getPacketBufferSize());
                }
                if (channel.read(netIn) < 0) {
                    engine.closeInbound(); // throws when the client did not say close_notify: that is only a warning here
                    return -1;
                }
            }
            case BUFFER_OVERFLOW -> appIn = grow(appIn.compact(), engine.getSession().getApplicationBufferSize()).flip();
            case CLOSED -> {
                return -1;
            }
            case OK -> { }
        }
        return r.bytesProduced();
    }

    private static ByteBuffer grow(ByteBuffer b, int more) {
        ByteBuffer bigger = ByteBuffer.allocate(b.capacity() + more);
        return bigger.put(b.flip());
    }

    /** Wraps everything in {@code from} and sends it; under {@link #writeLock}. */
    private void wrap(ByteBuffer[] from) throws IOException {
        do {
            netOut.clear();
            SSLEngineResult r = engine.wrap(from, netOut);
            switch (r.getStatus()) {
                case BUFFER_OVERFLOW -> {
                    netOut = ByteBuffer.allocate(netOut.capacity() + engine.getSession().getPacketBufferSize());
                    continue;
                }
                case CLOSED -> {
                    if (r.bytesProduced() == 0) {
                        throw new IOException("the TLS session is closed");
                    }
                }
                default -> { }
            }
            netOut.flip();
            while (netOut.hasRemaining()) {
                channel.write(netOut);
            }
            if (r.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_TASK) {
                runTasks();
            }
        } while (remaining(from) || engine.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_WRAP);
    }

    private static boolean remaining(ByteBuffer[] from) {
        for (ByteBuffer b : from) {
            if (b.hasRemaining()) {
                return true;
            }
        }
        return false;
    }

    @Override
    public int read(ByteBuffer into) throws IOException {
        while (!appIn.hasRemaining()) {
            try {
                if (unwrap() < 0) {
                    return -1;
                }
            } catch (SSLException e) {
                if (engine.isInboundDone()) {
                    return -1;
                }
                throw e;
            }
            switch (engine.getHandshakeStatus()) {
                case NEED_WRAP -> {
                    writeLock.lock();
                    try {
                        wrap(NOTHING);
                    } finally {
                        writeLock.unlock();
                    }
                }
                case NEED_TASK -> runTasks();
                default -> { }
            }
        }
        int n = Math.min(into.remaining(), appIn.remaining());
        into.put(into.position(), appIn, appIn.position(), n).position(into.position() + n);
        appIn.position(appIn.position() + n);
        return n;
    }

    @Override
    public void write(ByteBuffer[] from) throws IOException {
        writeLock.lock();
        try {
            wrap(from);
        } finally {
            writeLock.unlock();
        }
    }

    @Override
    public void close() {
        if (writeLock.tryLock()) {
            try {
                engine.closeOutbound();
                wrap(NOTHING);
            } catch (IOException e) {
                // The client is gone: nothing to tell it.
            } finally {
                writeLock.unlock();
            }
        }
        NbdServer.closeQuietly(channel);
    }

    @Override
    public String describe() {
        return description;
    }
}
