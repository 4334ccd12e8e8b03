package org.vhdkit.export.nbd;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.pkcs.RSAPrivateKey;
import org.bouncycastle.asn1.sec.ECPrivateKey;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;

/**
 * X.509 credentials in the directory layout of qemu's {@code tls-creds-x509} (server endpoint):
 * {@code server-cert.pem} (the server's certificate, optionally followed by intermediates),
 * {@code server-key.pem} (its private key: PKCS#8, PKCS#1 RSA or SEC1 EC, not encrypted) and
 * {@code ca-cert.pem} (the CA that client certificates must chain to, when clients are verified),
 * made into a JDK {@link SSLContext} for TLS 1.3 and 1.2 (1.2 only when clients are verified:
 * see {@link #engine}).
 *
 * <p>Thread-safety: immutable after {@link #read}; {@link #engine} may be called from any thread.
 */
final class X509Keys {
    static final String CA_CERT = "ca-cert.pem";
    static final String SERVER_CERT = "server-cert.pem";
    static final String SERVER_KEY = "server-key.pem";
    private static final Pattern PEM = Pattern.compile(
            "-----BEGIN ([A-Z0-9 ]+)-----\\R(.*?)-----END \\1-----", Pattern.DOTALL);
    private static final long MAX_FILE = 1 << 20;

    private final SSLContext context;
    private final boolean verifyClients;
    private final String subject;

    private X509Keys(SSLContext context, boolean verifyClients, String subject) {
        this.context = context;
        this.verifyClients = verifyClients;
        this.subject = subject;
    }

    /** Reads the directory; with {@code verifyClients}, clients must show a certificate {@code ca-cert.pem} signed. */
    static X509Keys read(Path dir, boolean verifyClients) throws CredentialsException {
        if (!Files.isDirectory(dir)) {
            throw new CredentialsException(dir.toString(), "directory", "is not a directory (it should hold "
                    + SERVER_CERT + ", " + SERVER_KEY + " and " + CA_CERT + ")");
        }
        List<X509Certificate> chain = certificates(dir.resolve(SERVER_CERT));
        PrivateKey key = privateKey(dir.resolve(SERVER_KEY));
        try {
            KeyStore keys = KeyStore.getInstance("PKCS12");
            keys.load(null, null);
            char[] none = new char[0];
            keys.setKeyEntry("server", key, none, chain.toArray(new Certificate[0]));
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(keys, none);
            TrustManagerFactory tmf = null;
            if (verifyClients) {
                KeyStore trust = KeyStore.getInstance("PKCS12");
                trust.load(null, null);
                int i = 0;
                for (X509Certificate ca : certificates(dir.resolve(CA_CERT))) {
                    trust.setCertificateEntry("ca" + i++, ca);
                }
                tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                tmf.init(trust);
            }
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(kmf.getKeyManagers(), tmf == null ? null : tmf.getTrustManagers(), new SecureRandom());
            return new X509Keys(context, verifyClients, chain.getFirst().getSubjectX500Principal().getName());
        } catch (GeneralSecurityException | IOException e) {
            throw new CredentialsException(dir.resolve(SERVER_KEY).toString(), "private key",
                    "does not go with " + SERVER_CERT + ": " + e.getMessage());
        }
    }

    /** A server-side engine for one connection. */
    SSLEngine engine() {
        SSLEngine engine = context.createSSLEngine();
        engine.setUseClientMode(false);
        // With client certificates, TLS 1.2 only: GnuTLS clients (qemu, libnbd) with an RSA client key send
        // no certificate to the JDK's TLS 1.3 CertificateRequest (EC keys do), and the handshake fails.
        engine.setEnabledProtocols(verifyClients ? new String[] {"TLSv1.2"} : new String[] {"TLSv1.3", "TLSv1.2"});
        engine.setNeedClientAuth(verifyClients);
        return engine;
    }

    String subject() {
        return subject;
    }

    private static byte[] bytes(Path file) throws CredentialsException {
        try {
            long size = Files.size(file);
            if (size > MAX_FILE) {
                throw new CredentialsException(file.toString(), "file", size + " bytes is too large for a PEM file");
            }
            return Files.readAllBytes(file);
        } catch (CredentialsException e) {
            throw e;
        } catch (java.nio.file.NoSuchFileException e) {
            throw new CredentialsException(file.toString(), "file", "no such file");
        } catch (IOException e) {
            throw new CredentialsException(file.toString(), "file", "cannot be read: " + e.getMessage());
        }
    }

    private static List<X509Certificate> certificates(Path file) throws CredentialsException {
        byte[] pem = bytes(file);
        try {
            List<X509Certificate> certs = CertificateFactory.getInstance("X.509")
                    .generateCertificates(new ByteArrayInputStream(pem)).stream().map(c -> (X509Certificate) c).toList();
            if (certs.isEmpty()) {
                throw new CredentialsException(file.toString(), "certificate", "the file holds no PEM certificate");
            }
            return certs;
        } catch (CertificateException e) {
            throw new CredentialsException(file.toString(), "certificate", "not a PEM X.509 certificate: " + e.getMessage());
        }
    }

    private static PrivateKey privateKey(Path file) throws CredentialsException {
        String text = new String(bytes(file), StandardCharsets.US_ASCII);
        Matcher m = PEM.matcher(text);
        while (m.find()) {
            String type = m.group(1);
            if (!type.endsWith("PRIVATE KEY")) {
                continue;
            }
            String body = m.group(2);
            if (type.startsWith("ENCRYPTED") || body.contains("ENCRYPTED")) {
                throw new CredentialsException(file.toString(), "private key", "is encrypted; give it unencrypted"
                        + " (as qemu's tls-creds-x509 reads it), with the file readable only by its owner");
            }
            byte[] der;
            try {
                der = Base64.getMimeDecoder().decode(body);
            } catch (IllegalArgumentException e) {
                throw new CredentialsException(file.toString(), "private key", "the PEM block is not base64");
            }
            try {
                PrivateKeyInfo info = switch (type) {
                    case "PRIVATE KEY" -> PrivateKeyInfo.getInstance(ASN1Primitive.fromByteArray(der));
                    case "RSA PRIVATE KEY" -> new PrivateKeyInfo(new AlgorithmIdentifier(
                            PKCSObjectIdentifiers.rsaEncryption, DERNull.INSTANCE), RSAPrivateKey.getInstance(der));
                    case "EC PRIVATE KEY" -> {
                        ECPrivateKey ec = ECPrivateKey.getInstance(der);
                        yield new PrivateKeyInfo(new AlgorithmIdentifier(
                                X9ObjectIdentifiers.id_ecPublicKey, ec.getParametersObject()), ec);
                    }
                    default -> throw new CredentialsException(file.toString(), "private key",
                            "a '" + type + "' block is not a key this server reads (PKCS#8, PKCS#1 RSA or SEC1 EC)");
                };
                PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(info.getEncoded());
                for (String algorithm : new String[] {"RSA", "EC", "Ed25519", "Ed448", "RSASSA-PSS"}) {
                    try {
                        return KeyFactory.getInstance(algorithm).generatePrivate(spec);
                    } catch (GeneralSecurityException e) {
                        // Try the next kind.
                    }
                }
                throw new CredentialsException(file.toString(), "private key", "not an RSA, EC or EdDSA key");
            } catch (IOException | RuntimeException e) {
                if (e instanceof CredentialsException c) {
                    throw c;
                }
                throw new CredentialsException(file.toString(), "private key", "the DER inside is malformed: " + e.getMessage());
            }
        }
        throw new CredentialsException(file.toString(), "private key", "the file holds no PEM private key");
    }
}
