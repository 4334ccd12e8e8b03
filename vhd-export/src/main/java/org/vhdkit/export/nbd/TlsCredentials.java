package org.vhdkit.export.nbd;

import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.Objects;

/**
 * What the server proves itself with once a client asks for TLS ({@code NBD_OPT_STARTTLS}): a
 * pre-shared key file, as qemu's {@code tls-creds-psk} and nbdkit's {@code --tls-psk} read it, or
 * X.509 certificates in the directory layout of qemu's {@code tls-creds-x509}. The files are read
 * and checked when the credentials are made, so that a bad file is refused before the server
 * listens.
 *
 * <p>Thread-safety: immutable; every method may be called from any thread.
 */
public final class TlsCredentials {
    private final PskKeys psk;
    private final X509Keys x509;

    private TlsCredentials(PskKeys psk, X509Keys x509) {
        this.psk = psk;
        this.x509 = x509;
    }

    /**
     * Pre-shared keys: {@code path} is a file of {@code identity:hexkey} lines (psktool's format), or
     * a directory holding {@code keys.psk} (qemu's layout). Clients connect with one of the
     * identities and its key (TLS 1.3 with an external PSK, or TLS 1.2 ECDHE-PSK or DHE-PSK).
     *
     * @throws CredentialsException when the file cannot be read or a line is malformed (naming the line)
     */
    public static TlsCredentials psk(Path path) throws CredentialsException {
        return new TlsCredentials(PskKeys.read(Objects.requireNonNull(path, "path")), null);
    }

    /**
     * X.509: {@code dir} holds {@code server-cert.pem} and {@code server-key.pem}, and, with
     * {@code verifyClients}, {@code ca-cert.pem}: then a client must show a certificate that CA signed.
     *
     * @throws CredentialsException when a file is missing, unreadable or malformed
     */
    public static TlsCredentials x509(Path dir, boolean verifyClients) throws CredentialsException {
        return new TlsCredentials(null, X509Keys.read(Objects.requireNonNull(dir, "dir"), verifyClients));
    }

    /** What these are, for a log: "pre-shared keys from FILE (N identities)" or "X.509 certificate CN=...". Thread-safe. */
    public String describe() {
        return psk != null
                ? "pre-shared keys from " + psk.file() + " (" + psk.size() + (psk.size() == 1 ? " identity)" : " identities)")
                : "X.509 certificate " + x509.subject();
    }

    /** Runs the server side of the TLS handshake on {@code channel}. */
    Transport accept(SocketChannel channel) throws IOException {
        return psk != null ? PskTransport.accept(channel, psk) : X509Transport.accept(channel, x509);
    }
}
