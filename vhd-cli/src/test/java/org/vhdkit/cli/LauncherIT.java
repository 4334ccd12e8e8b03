package org.vhdkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.testing.ExternalTools;

/**
 * The {@code ./vhd} launcher at the repository root, run as a user would. An integration test
 * (failsafe, after package) because the launcher runs target/vhd.jar, and would build it if it
 * were missing or older than the sources.
 */
class LauncherIT {
    /** Generous: the launcher builds the jar when it is stale. */
    private static final Duration TIMEOUT = Duration.ofMinutes(5);

    @TempDir
    Path tmp;

    /** The launcher: the module runs with vhd-cli/ as its working directory. */
    private static Path launcher() {
        Path root = Path.of("").toAbsolutePath().getParent();
        Path launcher = root.resolve("vhd");
        assertTrue(Files.isExecutable(launcher), () -> "no launcher at " + launcher);
        return launcher;
    }

    private ExternalTools.Result vhd(String... args) {
        List<String> argv = new java.util.ArrayList<>(List.of(launcher().toString()));
        argv.addAll(List.of(args));
        return ExternalTools.run(tmp, TIMEOUT, argv);
    }

    @Test
    void createThenInfo() throws IOException {
        ExternalTools.Result create = vhd("create", "--size", "64M", "x.vhd");
        assertEquals(0, create.exitCode(), create::toString);
        assertEquals("", create.stderr());
        assertEquals("Created dynamic x.vhd: 64 MiB (67108864 bytes), 2 MiB blocks\n", create.stdout());
        assertTrue(Files.isRegularFile(tmp.resolve("x.vhd")));

        ExternalTools.Result info = vhd("info", "--output", "json", "x.vhd");
        assertEquals(0, info.exitCode(), info::toString);
        assertEquals("", info.stderr());
        JsonNode json = new ObjectMapper().readTree(info.stdout());
        assertEquals(64L << 20, json.get("size").asLong());
        assertEquals("dynamic", json.get("type").asText());
    }

    @Test
    void missingFile() {
        ExternalTools.Result info = vhd("info", "missing.vhd");
        assertEquals(74, info.exitCode(), info::toString);
        assertEquals("", info.stdout());
        assertEquals("vhd: missing.vhd: no such file\n", info.stderr());
    }
}
