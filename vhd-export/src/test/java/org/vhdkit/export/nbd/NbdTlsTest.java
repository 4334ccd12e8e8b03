package org.vhdkit.export.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.export.nbd.protocol.HandshakeFlags;
import org.vhdkit.export.nbd.protocol.InfoRequest;
import org.vhdkit.export.nbd.protocol.InfoType;
import org.vhdkit.export.nbd.protocol.OptionReplyType;
import org.vhdkit.export.nbd.protocol.OptionType;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.testing.ExternalTools;

/**
 * TLS ({@code NBD_OPT_STARTTLS}) against the real clients, which use GnuTLS: nbdinfo (libnbd) and
 * qemu-img with a pre-shared key (TLS 1.3, and TLS 1.2 ECDHE-PSK with GnuTLS told to leave 1.3
 * out) and with X.509 certificates made at test time; the data read over TLS is compared with the
 * image's. Wrong keys are refused and the server goes on; plaintext clients of a server that
 * requires TLS get the protocol's refusal.
 */
@Timeout(180)
class NbdTlsTest {
    private static final int MIB = 1 << 20;
    private static final Duration TOOL = Duration.ofSeconds(60);

    @TempDir
    Path tmp;

    private VhdDisk disk;
    private Path expected;
    private NbdServer server;
    private final List<String> log = Collections.synchronizedList(new ArrayList<>());

    @BeforeEach
    void image() throws IOException {
        byte[] contents = new byte[8 * MIB];
        Path file = tmp.resolve("d.vhd");
        try (VhdDisk d = Vhd.create(file, CreateOptions.dynamic(contents.length))) {
            byte[] a = new byte[3 * MIB + 123];
            new Random(1).nextBytes(a);
            d.write(MIB + 7, a);
            System.arraycopy(a, 0, contents, MIB + 7, a.length);
        }
        expected = Files.write(tmp.resolve("expected.raw"), contents);
        disk = Vhd.open(file, OpenOptions.READ_WRITE);
    }

    @AfterEach
    void stop() throws IOException {
        if (server != null) {
            server.close();
        }
        disk.close();
    }

    private void serve(SocketAddress address, TlsCredentials credentials, boolean required) throws IOException {
        server = NbdServer.start(address, List.of(new NbdServer.Export("d", disk, false, "d")),
                new NbdServer.Tls(credentials, required), log::add);
    }

    private Path socket() {
        return tmp.resolve("nbd.sock");
    }

    /** A key file in qemu's layout (DIR/keys.psk) with one identity. */
    private static Path keyDir(Path dir, String identity, long seed) throws IOException {
        byte[] key = new byte[32];
        new Random(seed).nextBytes(key);
        Files.createDirectories(dir);
        return Files.writeString(dir.resolve("keys.psk"), identity + ":" + HexFormat.of().formatHex(key) + "\n");
    }

    private String pskUri(String identity, Path keys) {
        return "nbds+unix://" + identity + "@/d?socket=" + socket() + "&tls-psk-file=" + keys;
    }

    private static List<String> qemuImgPsk(Path dir, String identity, String... rest) {
        List<String> argv = new ArrayList<>(List.of("qemu-img"));
        argv.add(rest[0]);
        argv.addAll(List.of("--object", "tls-creds-psk,id=tls0,endpoint=client,dir=" + dir + ",username=" + identity));
        argv.addAll(List.of(rest).subList(1, rest.length));
        return argv;
    }

    private String nbdImageOpts() {
        return "driver=nbd,path=" + socket() + ",export=d,tls-creds=tls0";
    }

    private String rawImageOpts() {
        return "driver=raw,file.driver=file,file.filename=" + expected;
    }

    private static ExternalTools.Result run(List<String> argv) {
        return ExternalTools.run(null, TOOL, argv);
    }

    private long logged(String what) {
        synchronized (log) {
            return log.stream().filter(l -> l.contains(what)).count();
        }
    }

    @Test
    void nbdinfoAndQemuImgReadThroughAPreSharedKey() throws IOException {
        ExternalTools.assumeAvailable("nbdinfo", "qemu-img", "env");
        Path keys = keyDir(tmp.resolve("psk"), "alice", 1);
        serve(UnixDomainSocketAddress.of(socket()), TlsCredentials.psk(keys), true);

        String info = ExternalTools.run(TOOL, "nbdinfo", pskUri("alice", keys)).requireSuccess().stdout();
        assertTrue(info.contains("with TLS"), info);
        assertTrue(info.contains("export-size: " + 8 * MIB), info);
        // The data read over TLS (TLS 1.3 with GnuTLS's defaults) is the image's.
        run(qemuImgPsk(tmp.resolve("psk"), "alice", "compare", "--image-opts", nbdImageOpts(), rawImageOpts()))
                .requireSuccess();
        assertTrue(logged("TLS: TLS 1.3") >= 2, String.join("\n", log));
        // GnuTLS without TLS 1.3 negotiates TLS 1.2 ECDHE-PSK.
        Path priority = Files.writeString(tmp.resolve("no-tls13.conf"), "[overrides]\ndisabled-version = tls1.3\n");
        String old = ExternalTools.run(TOOL, "env", "GNUTLS_SYSTEM_PRIORITY_FILE=" + priority, "nbdinfo",
                pskUri("alice", keys)).requireSuccess().stdout();
        assertTrue(old.contains("with TLS"), old);
        assertEquals(1, logged("TLS: TLS 1.2 TLS_ECDHE_PSK_WITH_"), String.join("\n", log));
    }

    @Test
    void aWrongKeyIsRefusedAndTheNextClientIsServed() throws IOException {
        ExternalTools.assumeAvailable("nbdinfo", "qemu-img");
        Path keys = keyDir(tmp.resolve("psk"), "alice", 1);
        Path wrong = keyDir(tmp.resolve("wrong"), "alice", 2);
        Path stranger = keyDir(tmp.resolve("stranger"), "mallory", 1);
        serve(UnixDomainSocketAddress.of(socket()), TlsCredentials.psk(keys), true);

        ExternalTools.Result refused = ExternalTools.run(TOOL, "nbdinfo", pskUri("alice", wrong));
        assertNotEquals(0, refused.exitCode(), refused.stdout());
        ExternalTools.Result unknown = ExternalTools.run(TOOL, "nbdinfo", pskUri("mallory", stranger));
        assertNotEquals(0, unknown.exitCode(), unknown.stdout());
        ExternalTools.Result qemu = run(qemuImgPsk(tmp.resolve("wrong"), "alice", "info", "--image-opts", nbdImageOpts()));
        assertNotEquals(0, qemu.exitCode(), qemu.stdout());
        assertTrue(qemu.stderr().contains("TLS"), qemu.stderr());
        assertEquals(2, logged("TLS handshake failed (the client's key for identity 'alice' is not the one in"),
                String.join("\n", log));
        assertEquals(1, logged("has no identity 'mallory'"), String.join("\n", log));
        // The server goes on: the right key reads the right data.
        run(qemuImgPsk(tmp.resolve("psk"), "alice", "compare", "--image-opts", nbdImageOpts(), rawImageOpts()))
                .requireSuccess();
    }

    @Test
    void aPlaintextClientOfAServerThatRequiresTlsIsRefused() throws IOException {
        serve(UnixDomainSocketAddress.of(socket()), TlsCredentials.psk(keyDir(tmp.resolve("psk"), "alice", 1)), true);
        try (TestClient c = TestClient.connect(server.address())) {
            c.clientFlags(HandshakeFlags.C_FIXED_NEWSTYLE | HandshakeFlags.C_NO_ZEROES);
            InfoRequest go = new InfoRequest("d", List.of(InfoType.BLOCK_SIZE));
            List<TestClient.OptionReply> replies = c.option(OptionType.GO, TestClient.bytes(go.size(), go::encode));
            assertEquals(List.of(OptionReplyType.ERR_TLS_REQD), replies.stream().map(TestClient.OptionReply::type).toList());
            assertTrue(StandardCharsets.UTF_8.decode(replies.getFirst().data()).toString().contains("NBD_OPT_STARTTLS"));
            assertEquals(OptionReplyType.ERR_TLS_REQD, c.option(OptionType.LIST, new byte[0]).getLast().type());
            assertEquals(OptionReplyType.ERR_TLS_REQD, c.option(OptionType.STRUCTURED_REPLY, new byte[0]).getLast().type());
            assertEquals(OptionReplyType.ERR_INVALID, c.option(OptionType.STARTTLS, new byte[] {1}).getLast().type());
            // NBD_OPT_EXPORT_NAME cannot be answered with an error: the client is dropped.
            c.sendOption(OptionType.EXPORT_NAME, "d".getBytes(StandardCharsets.UTF_8));
            assertTrue(c.closedByServer());
        }
        if (ExternalTools.find("nbdinfo").isPresent() || ExternalTools.inCi()) {
            ExternalTools.Result plain = ExternalTools.run(TOOL, "nbdinfo", "nbd+unix:///d?socket=" + socket());
            assertNotEquals(0, plain.exitCode(), plain.stdout());
        }
        assertEquals(1, logged("TLS is required and the client did not start it"), String.join("\n", log));
    }

    @Test
    void tlsAllowedServesPlaintextClientsToo() throws IOException {
        ExternalTools.assumeAvailable("nbdinfo");
        Path keys = keyDir(tmp.resolve("psk"), "alice", 1);
        serve(UnixDomainSocketAddress.of(socket()), TlsCredentials.psk(keys), false);
        String plain = ExternalTools.run(TOOL, "nbdinfo", "nbd+unix:///d?socket=" + socket()).requireSuccess().stdout();
        assertTrue(plain.contains("without TLS"), plain);
        String tls = ExternalTools.run(TOOL, "nbdinfo", pskUri("alice", keys)).requireSuccess().stdout();
        assertTrue(tls.contains("with TLS"), tls);
    }

    @Test
    void x509CertificatesForNbdinfoAndQemuImgWithAndWithoutClientCertificates() throws Exception {
        ExternalTools.assumeAvailable("nbdinfo", "qemu-img");
        TestCertificates pki = new TestCertificates("vhdkit test CA");
        Path serverDir = tmp.resolve("server");
        pki.writeLeaf(serverDir, "server", true);
        Path clientDir = tmp.resolve("client");
        pki.writeLeaf(clientDir, "client", false);
        Path anonymousDir = tmp.resolve("anonymous");
        pki.writeCa(anonymousDir);
        InetSocketAddress loopback = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
        serve(loopback, TlsCredentials.x509(serverDir, false), true);
        int port = ((InetSocketAddress) server.address()).getPort();

        String info = ExternalTools.run(TOOL, "nbdinfo", "nbds://localhost:" + port + "/d?tls-certificates=" + anonymousDir)
                .requireSuccess().stdout();
        assertTrue(info.contains("with TLS"), info);
        ExternalTools.run(TOOL, "qemu-img", "compare",
                "--object", "tls-creds-x509,id=tls0,endpoint=client,dir=" + anonymousDir, "--image-opts",
                "driver=nbd,server.type=inet,server.host=localhost,server.port=" + port + ",export=d,tls-creds=tls0",
                rawImageOpts()).requireSuccess();
        assertEquals(2, logged("TLS: TLS 1.3"), String.join("\n", log));
        // A client that trusts another CA refuses the server.
        Path strangerDir = tmp.resolve("stranger");
        new TestCertificates("another CA").writeCa(strangerDir);
        ExternalTools.Result distrust = ExternalTools.run(TOOL, "nbdinfo",
                "nbds://localhost:" + port + "/d?tls-certificates=" + strangerDir);
        assertNotEquals(0, distrust.exitCode(), distrust.stdout());

        // Verifying clients: one with a certificate the CA signed gets in, one without is refused.
        server.close();
        log.clear();
        serve(loopback, TlsCredentials.x509(serverDir, true), true);
        port = ((InetSocketAddress) server.address()).getPort();
        ExternalTools.run(TOOL, "qemu-img", "compare",
                "--object", "tls-creds-x509,id=tls0,endpoint=client,dir=" + clientDir, "--image-opts",
                "driver=nbd,server.type=inet,server.host=localhost,server.port=" + port + ",export=d,tls-creds=tls0",
                rawImageOpts()).requireSuccess();
        assertEquals(1, logged("TLS: TLS 1.2 TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, X.509, client certificate CN=test client"),
                String.join("\n", log));
        ExternalTools.Result anonymous = ExternalTools.run(TOOL, "nbdinfo",
                "nbds://localhost:" + port + "/d?tls-certificates=" + anonymousDir);
        assertNotEquals(0, anonymous.exitCode(), anonymous.stdout());
        assertEquals(1, logged("TLS handshake failed"), String.join("\n", log));
    }

    @Test
    void keyFilesAreCheckedLineByLine() throws IOException {
        Path f = tmp.resolve("keys.psk");
        Files.writeString(f, "# users\n\nalice:0011\r\nbob\n");
        CredentialsException e = assertThrows(CredentialsException.class, () -> TlsCredentials.psk(f));
        assertEquals(f + ": line 4: not 'identity:hexkey' (no colon)", e.getMessage());
        Files.writeString(f, "alice:0011\nalice:2233\n");
        assertEquals(f + ": line 2: the identity 'alice' has a key already",
                assertThrows(CredentialsException.class, () -> TlsCredentials.psk(f)).getMessage());
        Files.writeString(f, ":0011\n");
        assertEquals(f + ": line 1: the identity before the colon is empty",
                assertThrows(CredentialsException.class, () -> TlsCredentials.psk(f)).getMessage());
        Files.writeString(f, "alice:\n");
        assertEquals(f + ": line 1: the key of 'alice' is empty",
                assertThrows(CredentialsException.class, () -> TlsCredentials.psk(f)).getMessage());
        Files.writeString(f, "# nobody\n");
        assertEquals(f + ": file: holds no 'identity:hexkey' line",
                assertThrows(CredentialsException.class, () -> TlsCredentials.psk(f)).getMessage());
        Files.writeString(f, "alice:0011\r\n");
        assertTrue(TlsCredentials.psk(f).describe().contains("(1 identity)"));
        Path dir = tmp.resolve("x509");
        Files.createDirectories(dir);
        assertTrue(assertThrows(CredentialsException.class, () -> TlsCredentials.x509(dir, false)).getMessage()
                .contains("server-cert.pem: file: no such file"));
    }
}
