package org.vhdkit.cli.disk;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.cli.CliRun;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.Vhd;

/** {@code vhd serve}'s refusals, before it listens; serving itself is {@link ServeIT}'s. */
class ServeCommandTest {
    @TempDir
    Path tmp;

    private String disk() throws IOException {
        Path d = tmp.resolve("d.vhd");
        if (!Files.exists(d)) {
            Vhd.create(d, CreateOptions.dynamic(1 << 20)).close();
        }
        return d.toString();
    }

    private CliRun vhd(String... args) {
        return CliRun.vhd(FileSystems.getDefault(), args);
    }

    @Test
    void aNonLoopbackAddressNeedsTlsOrTheUsersWord() throws IOException {
        String message = vhd("serve", "--port", "0", "--bind", "192.0.2.1", disk()).assertFailure(ExitCodes.REFUSED);
        assertTrue(message.contains("not a loopback address") && message.contains("no TLS was asked for")
                && message.contains("--insecure-no-tls"), message);
        Path keys = Files.writeString(tmp.resolve("keys.psk"), "alice:00112233445566778899aabbccddeeff\n");
        String allowed = vhd("serve", "--port", "0", "--bind", "192.0.2.1", "--tls-psk", keys.toString(), "--tls", "allow",
                disk()).assertFailure(ExitCodes.REFUSED);
        assertTrue(allowed.contains("--tls allow lets clients go without TLS"), allowed);
    }

    @Test
    void aMalformedKeyFileIsRefusedNamingTheFileAndLine() throws IOException {
        Path keys = Files.writeString(tmp.resolve("keys.psk"), "# users\nalice:00112233\nbob:12x4\n");
        String message = vhd("serve", "--socket", tmp.resolve("s").toString(), "--tls-psk", keys.toString(), disk())
                .assertFailure(ExitCodes.REFUSED);
        assertTrue(message.contains("keys.psk: line 3: the key of 'bob' is not an even number of hexadecimal digits"), message);
        String missing = vhd("serve", "--socket", tmp.resolve("s").toString(), "--tls-psk", tmp.resolve("none.psk").toString(),
                disk()).assertFailure(ExitCodes.REFUSED);
        assertTrue(missing.contains("none.psk: file: cannot be read: no such file"), missing);
        Files.createDirectory(tmp.resolve("x509"));
        Files.writeString(tmp.resolve("x509/server-cert.pem"), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        String cert = vhd("serve", "--socket", tmp.resolve("s").toString(), "--tls-creds", tmp.resolve("x509").toString(),
                disk()).assertFailure(ExitCodes.REFUSED);
        assertTrue(cert.contains("server-cert.pem: certificate: not a PEM X.509 certificate"), cert);
        assertTrue(!Files.exists(tmp.resolve("s")), "refused before listening");
    }

    @Test
    void usageErrors() throws IOException {
        String both = vhd("serve", "--socket", tmp.resolve("s").toString(), "--port", "1", disk()).assertFailure(ExitCodes.USAGE);
        assertTrue(both.contains("--socket does not go with --port"), both);
        String twice = vhd("serve", "--socket", tmp.resolve("s").toString(), "a=" + disk(), "a=" + disk())
                .assertFailure(ExitCodes.USAGE);
        assertTrue(twice.contains("two disks are exported as 'a'"), twice);
        vhd("serve", "--socket", tmp.resolve("s").toString()).assertFailure(ExitCodes.USAGE);
        String mode = vhd("serve", "--socket", tmp.resolve("s").toString(), "--tls", "require", disk())
                .assertFailure(ExitCodes.USAGE);
        assertTrue(mode.contains("--tls needs --tls-psk FILE or --tls-creds DIR"), mode);
        String tlsBoth = vhd("serve", "--socket", tmp.resolve("s").toString(), "--tls-psk", "k", "--tls-creds", "d", disk())
                .assertFailure(ExitCodes.USAGE);
        assertTrue(tlsBoth.contains("do not go together"), tlsBoth);
    }

    @Test
    void filesThatAreNotThereOrInTheWay() throws IOException {
        String missing = vhd("serve", "--socket", tmp.resolve("s").toString(), tmp.resolve("none.vhd").toString())
                .assertFailure(ExitCodes.IO);
        assertTrue(missing.contains("none.vhd"), missing);
        Files.createFile(tmp.resolve("taken"));
        String taken = vhd("serve", "--socket", tmp.resolve("taken").toString(), disk()).assertFailure(ExitCodes.IO);
        assertTrue(taken.contains("already exists"), taken);
    }
}
