package org.vhdkit.export.nbd;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Vector;
import java.util.concurrent.locks.ReentrantLock;
import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.BasicTlsPSKExternal;
import org.bouncycastle.tls.CipherSuite;
import org.bouncycastle.tls.PRFAlgorithm;
import org.bouncycastle.tls.PSKTlsServer;
import org.bouncycastle.tls.ProtocolVersion;
import org.bouncycastle.tls.PskIdentity;
import org.bouncycastle.tls.TlsPSKExternal;
import org.bouncycastle.tls.TlsPSKIdentityManager;
import org.bouncycastle.tls.TlsFatalAlert;
import org.bouncycastle.tls.TlsServerProtocol;
import org.bouncycastle.tls.TlsUtils;
import org.bouncycastle.tls.crypto.TlsCrypto;
import org.bouncycastle.tls.crypto.impl.bc.BcTlsCrypto;
import org.vhdkit.export.nbd.protocol.WireString;

/**
 * TLS with a pre-shared key, through Bouncy Castle's TLS API (the JDK has no PSK cipher suites),
 * blocking over the socket's streams. Offers what GnuTLS (qemu, libnbd, nbdkit) uses with a key:
 * TLS 1.3 with an external PSK and (EC)DHE ({@code psk_dhe_ke}, SHA-256 binders), and TLS 1.2's
 * {@code ECDHE_PSK} and {@code DHE_PSK} suites; plain {@code PSK} suites, without forward secrecy,
 * are not offered.
 *
 * <p>Thread-safety: as {@link Transport} says; Bouncy Castle's protocol lets one thread read while
 * another writes, and {@link #writeLock} guards the copy buffer of writes.
 */
final class PskTransport implements Transport {
    private static final TlsCrypto CRYPTO = new BcTlsCrypto(new SecureRandom());
    /** A TLS record's most plaintext: writes are copied in pieces of this size. */
    private static final int RECORD = 16384;

    private final SocketChannel channel;
    private final TlsServerProtocol protocol;
    private final String description;
    private final byte[] readBuffer = new byte[RECORD];
    private final ReentrantLock writeLock = new ReentrantLock();
    /** Guarded by {@link #writeLock}. */
    private final byte[] writeBuffer = new byte[RECORD];

    private PskTransport(SocketChannel channel, TlsServerProtocol protocol, String description) {
        this.channel = channel;
        this.protocol = protocol;
        this.description = description;
    }

    /** Runs the server side of the TLS handshake on {@code channel}; fails when the client has no matching key. */
    static PskTransport accept(SocketChannel channel, PskKeys keys) throws IOException {
        TlsServerProtocol protocol = new TlsServerProtocol(Channels.newInputStream(channel), Channels.newOutputStream(channel));
        Server server = new Server(keys);
        try {
            protocol.accept(server);
        } catch (IOException e) {
            throw new IOException("TLS handshake failed" + server.refusal() + ": " + e.getMessage(), e);
        }
        return new PskTransport(channel, protocol, server.describe());
    }

    @Override
    public int read(ByteBuffer into) throws IOException {
        int n = protocol.readApplicationData(readBuffer, 0, Math.min(into.remaining(), readBuffer.length));
        if (n > 0) {
            into.put(readBuffer, 0, n);
        }
        return n;
    }

    @Override
    public void write(ByteBuffer[] from) throws IOException {
        writeLock.lock();
        try {
            for (ByteBuffer b : from) {
                while (b.hasRemaining()) {
                    int n = Math.min(b.remaining(), writeBuffer.length);
                    b.get(writeBuffer, 0, n);
                    protocol.writeApplicationData(writeBuffer, 0, n);
                }
            }
        } finally {
            writeLock.unlock();
        }
    }

    @Override
    public void close() {
        if (writeLock.tryLock()) {
            try {
                protocol.close(); // close_notify, then the streams and so the socket
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

    /** Bouncy Castle's server side with our keys. Used by one handshake. */
    private static final class Server extends PSKTlsServer {
        private final PskKeys keys;
        /** The identity TLS 1.3 chose, or null. */
        private byte[] chosen;
        /** The identities offered that the key file does not have, for the error. */
        private String unknown;
        private short alert = -1;

        Server(PskKeys keys) {
            super(CRYPTO, new IdentityManager(keys));
            this.keys = keys;
        }

        @Override
        protected ProtocolVersion[] getSupportedVersions() {
            return ProtocolVersion.TLSv13.downTo(ProtocolVersion.TLSv12);
        }

        @Override
        protected int[] getSupportedCipherSuites() {
            return TlsUtils.getSupportedCipherSuites(getCrypto(), new int[] {
                CipherSuite.TLS_AES_128_GCM_SHA256,
                CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
                CipherSuite.TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256,
                CipherSuite.TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256,
                CipherSuite.TLS_DHE_PSK_WITH_AES_256_GCM_SHA384,
                CipherSuite.TLS_DHE_PSK_WITH_AES_128_GCM_SHA256,
                CipherSuite.TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256,
            });
        }

        @Override
        public TlsPSKExternal getExternalPSK(Vector identities) {
            for (Object o : identities) {
                byte[] identity = ((PskIdentity) o).getIdentity();
                byte[] key = keys.key(identity);
                if (key != null) {
                    chosen = identity;
                    return new BasicTlsPSKExternal(identity, getCrypto().createSecret(key), PRFAlgorithm.tls13_hkdf_sha256);
                }
                unknown = new String(identity, StandardCharsets.UTF_8);
            }
            return null;
        }

        @Override
        public boolean requiresCloseNotify() {
            return false; // a client that just closes the socket has ended, not been cut off
        }

        @Override
        public void notifyAlertRaised(short level, short description, String message, Throwable cause) {
            alert = description;
        }

        @Override
        public org.bouncycastle.tls.TlsCredentials getCredentials() throws IOException {
            if (TlsUtils.isTLSv13(context)) {
                // TLS 1.3 came here because no offered PSK matched (or none was offered): there is no certificate.
                throw new TlsFatalAlert(AlertDescription.handshake_failure, "no matching pre-shared key");
            }
            return super.getCredentials();
        }

        String refusal() {
            if (chosen != null || alert == AlertDescription.decrypt_error || alert == AlertDescription.bad_record_mac) {
                String who = chosen != null ? " for identity " + WireString.quoted(new String(chosen, StandardCharsets.UTF_8)) : "";
                return " (the client's key" + who + " is not the one in " + keys.file() + ")";
            }
            if (unknown != null) {
                return " (" + keys.file() + " has no identity " + WireString.quoted(unknown) + ")";
            }
            return "";
        }

        String describe() {
            var p = context.getSecurityParametersConnection();
            byte[] identity = chosen != null ? chosen : p.getPSKIdentity();
            return "TLS " + p.getNegotiatedVersion().getName().replace("TLS ", "") + " " + suite(p.getCipherSuite())
                    + ", PSK identity " + (identity == null ? "'?'" : WireString.quoted(new String(identity, StandardCharsets.UTF_8)));
        }

        private static String suite(int s) {
            return switch (s) {
                case CipherSuite.TLS_AES_128_GCM_SHA256 -> "TLS_AES_128_GCM_SHA256";
                case CipherSuite.TLS_CHACHA20_POLY1305_SHA256 -> "TLS_CHACHA20_POLY1305_SHA256";
                case CipherSuite.TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256 -> "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256";
                case CipherSuite.TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256 -> "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256";
                case CipherSuite.TLS_DHE_PSK_WITH_AES_256_GCM_SHA384 -> "TLS_DHE_PSK_WITH_AES_256_GCM_SHA384";
                case CipherSuite.TLS_DHE_PSK_WITH_AES_128_GCM_SHA256 -> "TLS_DHE_PSK_WITH_AES_128_GCM_SHA256";
                case CipherSuite.TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256 -> "TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256";
                default -> String.format("suite 0x%04x", s);
            };
        }
    }

    /** TLS 1.2's lookup of the client's identity. */
    private record IdentityManager(PskKeys keys) implements TlsPSKIdentityManager {
        @Override
        public byte[] getHint() {
            return null;
        }

        @Override
        public byte[] getPSK(byte[] identity) {
            return keys.key(identity);
        }
    }
}
