package org.vhdkit.export.nbd;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A CA, a server certificate (for localhost and 127.0.0.1) and a client certificate, made at test
 * time (the CA and the server with EC P-256 keys, the client with an RSA key: GnuTLS, which reads
 * the client's key, does not read the JDK's PKCS#8 encoding of EC keys), written as PEM files in the directory layouts qemu's
 * {@code tls-creds-x509} and libnbd's {@code tls-certificates} read.
 */
final class TestCertificates {
    private final KeyPair caKeys;
    private final X509Certificate ca;
    private long serial = 1;

    TestCertificates(String caName) throws GeneralSecurityException, OperatorCreationException, IOException {
        caKeys = keys();
        X500Name name = new X500Name("CN=" + caName);
        JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
        X509v3CertificateBuilder b = builder(name, name, caKeys)
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
                .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
                .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(caKeys.getPublic()));
        ca = sign(b);
    }

    private static KeyPair keys() throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        return g.generateKeyPair();
    }

    private X509v3CertificateBuilder builder(X500Name issuer, X500Name subject, KeyPair subjectKeys) {
        Instant now = Instant.now();
        return new JcaX509v3CertificateBuilder(issuer, BigInteger.valueOf(serial++),
                Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(Duration.ofDays(2))), subject,
                subjectKeys.getPublic());
    }

    private X509Certificate sign(X509v3CertificateBuilder b) throws OperatorCreationException, GeneralSecurityException {
        return new JcaX509CertificateConverter().getCertificate(
                b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(caKeys.getPrivate())));
    }

    /** Writes ca-cert.pem, and {@code prefix}-cert.pem and {@code prefix}-key.pem for a new leaf into {@code dir}. */
    void writeLeaf(Path dir, String prefix, boolean server) throws Exception {
        KeyPair leafKeys;
        if (server) {
            leafKeys = keys();
        } else {
            KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
            rsa.initialize(2048);
            leafKeys = rsa.generateKeyPair();
        }
        JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
        X509v3CertificateBuilder b = builder(new X500Name(ca.getSubjectX500Principal().getName()),
                new X500Name("CN=" + (server ? "localhost" : "test client")), leafKeys)
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                .addExtension(Extension.extendedKeyUsage, false,
                        new ExtendedKeyUsage(server ? KeyPurposeId.id_kp_serverAuth : KeyPurposeId.id_kp_clientAuth))
                .addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(ca))
                .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(leafKeys.getPublic()));
        if (server) {
            b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
                new GeneralName(GeneralName.dNSName, "localhost"), new GeneralName(GeneralName.iPAddress, "127.0.0.1")}));
        }
        Files.createDirectories(dir);
        writeCa(dir);
        Files.writeString(dir.resolve(prefix + "-cert.pem"), pem("CERTIFICATE", sign(b).getEncoded()));
        Files.writeString(dir.resolve(prefix + "-key.pem"), pem("PRIVATE KEY", leafKeys.getPrivate().getEncoded()));
    }

    /** Writes ca-cert.pem into {@code dir}. */
    void writeCa(Path dir) throws IOException, GeneralSecurityException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("ca-cert.pem"), pem("CERTIFICATE", ca.getEncoded()));
    }

    PrivateKey caKey() {
        return caKeys.getPrivate();
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }
}
