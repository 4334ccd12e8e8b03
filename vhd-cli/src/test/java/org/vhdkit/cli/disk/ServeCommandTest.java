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
        assertTrue(message.contains("not a loopback address") && message.contains("no TLS yet")
                && message.contains("--insecure-no-tls"), message);
    }

    @Test
    void usageErrors() throws IOException {
        String both = vhd("serve", "--socket", tmp.resolve("s").toString(), "--port", "1", disk()).assertFailure(ExitCodes.USAGE);
        assertTrue(both.contains("--socket does not go with --port"), both);
        String twice = vhd("serve", "--socket", tmp.resolve("s").toString(), "a=" + disk(), "a=" + disk())
                .assertFailure(ExitCodes.USAGE);
        assertTrue(twice.contains("two disks are exported as 'a'"), twice);
        vhd("serve", "--socket", tmp.resolve("s").toString()).assertFailure(ExitCodes.USAGE);
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
