package org.vhdkit.cli.disk;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.check.CheckReport;
import org.vhdkit.vhd.check.ImageCheck;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.testing.ExternalTools;

/**
 * {@code vhd serve} as a process (target/vhd.jar): the JSON ready line, real clients through it, and
 * SIGTERM finishing with every image flushed, closed and clean, and the socket gone.
 */
@Timeout(120)
class ServeIT {
    @TempDir
    Path tmp;

    @Test
    void servesUntilSigtermThenLeavesACleanImage() throws Exception {
        ExternalTools.assumeAvailable("nbdinfo", "qemu-io");
        Path disk = tmp.resolve("d.vhd");
        Vhd.create(disk, CreateOptions.dynamic(8 << 20)).close();
        Path socket = tmp.resolve("nbd.sock");
        Path jar = Path.of("target", "vhd.jar").toAbsolutePath();
        assertTrue(Files.isRegularFile(jar), () -> "no " + jar + " (failsafe runs after package)");
        Process server = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "-jar", jar.toString(),
                "serve", "--socket", socket.toString(), "--output", "json", "disk=" + disk)
                .redirectError(tmp.resolve("serve.log").toFile()).start();
        try {
            server.getOutputStream().close();
            String ready = new BufferedReader(new InputStreamReader(server.getInputStream(), UTF_8)).readLine();
            JsonNode json = new ObjectMapper().readTree(ready);
            assertEquals(socket.toString(), json.get("socket").asText());
            assertTrue(json.get("address").isNull());
            assertEquals("disk", json.get("exports").get(0).get("name").asText());
            assertEquals(8 << 20, json.get("exports").get(0).get("size").asLong());
            assertFalse(json.get("exports").get(0).get("readOnly").asBoolean());

            String url = "nbd+unix:///disk?socket=" + socket;
            assertEquals(String.valueOf(8 << 20), ExternalTools.run(Duration.ofSeconds(30), "nbdinfo", "--size", url)
                    .requireSuccess().stdout().strip());
            ExternalTools.run(null, Duration.ofSeconds(30), List.of("qemu-io", "-f", "raw", "-c", "write -P 0x77 1M 64k",
                    url)).requireSuccess(); // not flushed by the client: the server's stop must do it

            new ProcessBuilder("kill", "-TERM", Long.toString(server.pid())).start().waitFor();
            assertTrue(server.waitFor(60, TimeUnit.SECONDS), "vhd serve did not end on SIGTERM");
            assertEquals(143, server.exitValue());
        } finally {
            server.destroyForcibly();
        }
        String log = Files.readString(tmp.resolve("serve.log"));
        assertTrue(log.contains("client 2: export 'disk' (read-write)") && log.contains("stopped"), log);
        assertFalse(Files.exists(socket), "the socket is removed");
        CheckReport report = ImageCheck.check(disk, ProgressListener.NONE);
        assertEquals(CheckReport.Status.CLEAN, report.status(), report.toString());
        byte[] back = new byte[64 * 1024];
        try (VirtualDisk d = Vhd.openReadOnly(disk)) {
            d.read(1 << 20, back);
        }
        byte[] expected = new byte[64 * 1024];
        java.util.Arrays.fill(expected, (byte) 0x77);
        assertArrayEquals(expected, back);
    }

    @Test
    void theShadedJarServesTlsWithAPreSharedKey() throws Exception {
        ExternalTools.assumeAvailable("nbdinfo");
        Path disk = tmp.resolve("d.vhd");
        Vhd.create(disk, CreateOptions.dynamic(4 << 20)).close();
        Path keys = Files.writeString(tmp.resolve("keys.psk"), "alice:" + "5a".repeat(32) + "\n");
        Path socket = tmp.resolve("nbd.sock");
        Path jar = Path.of("target", "vhd.jar").toAbsolutePath();
        Process server = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "-jar", jar.toString(),
                "serve", "--socket", socket.toString(), "--tls-psk", keys.toString(), "--output", "json", "disk=" + disk)
                .redirectError(tmp.resolve("serve.log").toFile()).start();
        try {
            server.getOutputStream().close();
            new BufferedReader(new InputStreamReader(server.getInputStream(), UTF_8)).readLine(); // ready
            String tls = "nbds+unix://alice@/disk?socket=" + socket + "&tls-psk-file=" + keys;
            assertEquals(String.valueOf(4 << 20), ExternalTools.run(Duration.ofSeconds(30), "nbdinfo", "--size", tls)
                    .requireSuccess().stdout().strip());
            ExternalTools.Result plain = ExternalTools.run(Duration.ofSeconds(30), "nbdinfo", "--size",
                    "nbd+unix:///disk?socket=" + socket);
            assertTrue(plain.exitCode() != 0, plain.stdout());
            new ProcessBuilder("kill", "-TERM", Long.toString(server.pid())).start().waitFor();
            assertTrue(server.waitFor(60, TimeUnit.SECONDS), "vhd serve did not end on SIGTERM");
        } finally {
            server.destroyForcibly();
        }
        String log = Files.readString(tmp.resolve("serve.log"));
        assertTrue(log.contains("TLS required: pre-shared keys from " + keys + " (1 identity)"), log);
        assertTrue(log.contains("client 1: TLS: TLS 1.3") && log.contains("PSK identity 'alice'"), log);
    }
}
