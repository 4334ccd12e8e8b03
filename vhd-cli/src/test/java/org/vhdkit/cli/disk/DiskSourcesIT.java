package org.vhdkit.cli.disk;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.cli.CliRun;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.DiskImage;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.check.CheckReport;
import org.vhdkit.vhd.check.ImageCheck;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.testing.ExternalTools;

/**
 * {@code vhd serve} and {@code vhd mount} as processes (target/vhd.jar): a VM's disk and a snapshot's
 * layer served to real NBD clients (nbdcopy, nbdinfo, qemu-io), and a mount ended by
 * {@code vhd unmount} from another process (which returns only once the serving process has closed
 * the disk) or by SIGTERM.
 */
@Timeout(120)
class DiskSourcesIT {
    private static final int SIZE = 2 << 20;
    private static final Duration TOOL = Duration.ofSeconds(30);

    @TempDir
    Path tmp;

    private static CliRun vhd(String... args) {
        return CliRun.vhd(FileSystems.getDefault(), args);
    }

    private static Process start(Path log, String... args) throws IOException {
        Path jar = Path.of("target", "vhd.jar").toAbsolutePath();
        assertTrue(Files.isRegularFile(jar), () -> "no " + jar + " (failsafe runs after package)");
        List<String> argv = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "--enable-native-access=ALL-UNNAMED", "-jar", jar.toString()));
        argv.addAll(List.of(args));
        Process p = new ProcessBuilder(argv).redirectError(log.toFile()).start();
        p.getOutputStream().close();
        return p;
    }

    private static JsonNode ready(Process p, Path log) throws IOException {
        String line = new BufferedReader(new InputStreamReader(p.getInputStream(), UTF_8)).readLine();
        assertTrue(line != null, () -> "no ready line; stderr: " + read(log));
        return new ObjectMapper().readTree(line);
    }

    private static String read(Path log) {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return e.toString();
        }
    }

    private static void stop(Process p) throws Exception {
        new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).start().waitFor();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "did not end on SIGTERM");
        assertEquals(143, p.exitValue());
    }

    private static byte[] contents(Path image) throws IOException {
        try (VirtualDisk d = DiskImage.openReadOnly(image)) {
            byte[] b = new byte[(int) d.size()];
            d.read(0, b);
            return b;
        }
    }

    private static byte[] filled(int n, int value) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) value);
        return b;
    }

    private static void assertClean(Path image) throws IOException {
        CheckReport report = ImageCheck.check(image, ProgressListener.NONE);
        assertEquals(CheckReport.Status.CLEAN, report.status(), report.toString());
    }

    /**
     * Checks {@code server}'s ready line (one export, {@code name}, {@code readOnly}) and that nbdcopy
     * reads {@code expected} from it; returns the export's URL.
     */
    private String served(Process server, Path log, Path socket, String name, boolean readOnly, byte[] expected)
            throws IOException {
        JsonNode export = ready(server, log).get("exports").get(0);
        assertEquals(name, export.get("name").asText());
        assertEquals(readOnly, export.get("readOnly").asBoolean());
        String url = "nbd+unix:///" + name + "?socket=" + socket;
        Path copy = tmp.resolve(name + ".raw");
        ExternalTools.run(TOOL, "nbdcopy", url, copy.toString()).requireSuccess();
        assertArrayEquals(expected, Files.readAllBytes(copy), "what nbdcopy read from " + name);
        return url;
    }

    @Test
    void aVmsDiskIsServedReadWriteAndItsSnapshotReadOnly() throws Exception {
        ExternalTools.assumeAvailable("nbdcopy", "nbdinfo", "qemu-io");
        Path vms = tmp.resolve("vms");
        Path base = tmp.resolve("d.vhd");
        try (VhdDisk d = Vhd.create(base, CreateOptions.dynamic(SIZE))) {
            d.write(0, filled(8192, 0x41));
        }
        String root = vms.toString();
        vhd("vm", "--vm-root", root, "create", "--memory", "16M", "web").assertSuccess();
        vhd("vm", "--vm-root", root, "attach", "web", "--controller", "ide:0:1", base.toString()).assertSuccess();
        vhd("vm", "--vm-root", root, "snapshot", "create", "web", "s1").assertSuccess();
        Path top = Path.of(vhd("vm", "--vm-root", root, "show", "--output", "json", "web").assertSuccess().json()
                .get("attachments").get(0).get("path").asText());
        try (VhdDisk d = Vhd.open(top, OpenOptions.READ_WRITE)) {
            d.write(4096, filled(512, 0x42));
        }
        byte[] now = contents(top);
        byte[] then = contents(base);
        assertNotEquals(Arrays.hashCode(now), Arrays.hashCode(then));

        Path socket = tmp.resolve("vm.sock");
        Process server = start(tmp.resolve("serve-vm.log"), "serve", "--socket", socket.toString(), "--output", "json",
                "--vm-root", root, "--vm", "web", "--controller", "ide:0:1");
        try {
            String url = served(server, tmp.resolve("serve-vm.log"), socket, "web", false, now);
            ExternalTools.run(null, TOOL, List.of("qemu-io", "-f", "raw", "-c", "write -P 0x43 100000 3000", url))
                    .requireSuccess();
            stop(server);
        } finally {
            server.destroyForcibly();
        }
        assertClean(top);
        byte[] written = contents(top);
        assertArrayEquals(filled(3000, 0x43), Arrays.copyOfRange(written, 100_000, 103_000));
        assertEquals(then.length, contents(base).length);
        assertArrayEquals(then, contents(base), "the snapshot's layer changed");

        Path snapSocket = tmp.resolve("snap.sock");
        Process snap = start(tmp.resolve("serve-snap.log"), "serve", "--socket", snapSocket.toString(), "--output",
                "json", "--vm-root", root, "--vm", "web", "--snapshot", "s1");
        try {
            String url = served(snap, tmp.resolve("serve-snap.log"), snapSocket, "web@s1", true, then);
            assertEquals(0, ExternalTools.run(TOOL, "nbdinfo", "--is", "read-only", url).exitCode(), "not read-only");
            ExternalTools.Result write = ExternalTools.run(null, TOOL, List.of("qemu-io", "-f", "raw", "-c",
                    "write -P 0x44 0 512", url));
            assertNotEquals(0, write.exitCode(), "a write to a snapshot was taken: " + write.stdout());
            stop(snap);
        } finally {
            snap.destroyForcibly();
        }
        assertArrayEquals(then, contents(base));
    }

    @Test
    void vhdUnmountReturnsOnceTheMountingProcessHasClosedTheDisk() throws Exception {
        ExternalTools.assumeEnvironment(Files.exists(Path.of("/dev/fuse")), () -> "no /dev/fuse");
        ExternalTools.assumeAvailable("fusermount3");
        Path image = tmp.resolve("m.vhd");
        Vhd.create(image, CreateOptions.dynamic(SIZE)).close();
        Path mnt = Files.createDirectories(tmp.resolve("mnt"));
        Path log = tmp.resolve("mount.log");
        Process mount = start(log, "mount", "--output", "json", image.toString(), mnt.toString());
        try {
            JsonNode ready = ready(mount, log);
            Path file = Path.of(ready.get("file").asText());
            assertEquals(mnt.resolve(MountCommand.FILE).toRealPath(), file);
            assertEquals(mount.pid(), ready.get("pid").asLong());
            Files.write(file, filled(70_000, 0x55), java.nio.file.StandardOpenOption.WRITE);
            // Unwritten to the image's file yet, perhaps: vhd unmount must wait for the flush and close.
            String out = vhd("unmount", mnt.toString()).assertSuccess().out();
            assertTrue(out.contains("flushed and closed"), out);
            assertFalse(mount.isAlive(), "vhd unmount returned while the mounting process was still running");
            assertEquals(0, mount.exitValue(), () -> read(log));
        } finally {
            mount.destroyForcibly();
        }
        assertClean(image);
        assertArrayEquals(filled(70_000, 0x55), Arrays.copyOf(contents(image), 70_000));

        Process again = start(log, "mount", "--output", "json", "--read-only", image.toString(), mnt.toString());
        try {
            assertTrue(ready(again, log).get("readOnly").asBoolean());
            stop(again);
        } finally {
            again.destroyForcibly();
        }
        assertFalse(Files.exists(mnt.resolve(MountCommand.FILE)), "still mounted after SIGTERM");
        assertClean(image);

        Process killed = start(log, "mount", "--output", "json", "--read-only", image.toString(), mnt.toString());
        try {
            ready(killed, log);
            killed.destroyForcibly().waitFor();
            String message = vhd("unmount", mnt.toString()).assertFailure(ExitCodes.IO);
            assertTrue(message.contains("(" + killed.pid() + ") had ended before") && message.contains("vhd check"),
                    message);
            assertFalse(Files.exists(mnt.resolve(MountCommand.FILE)), "the dead mount is still there");
        } finally {
            killed.destroyForcibly();
        }
    }
}
