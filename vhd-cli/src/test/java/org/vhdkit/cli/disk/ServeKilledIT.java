package org.vhdkit.cli.disk;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.check.CheckReport;
import org.vhdkit.vhd.check.ImageCheck;
import org.vhdkit.vhd.testing.ExternalTools;

/**
 * {@code vhd serve} (target/vhd.jar) killed with SIGKILL while an NBD client (qemu-io through
 * {@code nbd+unix://}) writes without flushing, most writes into blocks not yet allocated. Every
 * write the server acknowledged (qemu-io prints "wrote" only once the reply arrived) reads back
 * after the kill, the write in flight may or may not, and {@code check} finds at most leaked space.
 * The kill lands mid-run: after a random number of acknowledged writes, with the server alive and
 * the client not done. The seed is printed and replayable: {@code -Dvhdkit.killSeed=N}.
 */
@Timeout(120)
class ServeKilledIT {
    private static final int MIB = 1 << 20;
    private static final long SIZE = 64L * MIB;
    private static final int WRITES = 300;
    private static final int LENGTH = 64 * 1024;
    private static final Pattern WROTE = Pattern.compile("wrote (\\d+)/\\d+ bytes at offset (\\d+)");

    @TempDir
    Path tmp;

    private final long seed = Long.getLong("vhdkit.killSeed", new Random().nextLong());

    /** Write i: 64 KiB at a place in a block chosen by the seed, filled with byte (i % 250) + 1. */
    private long offset(int i) {
        Random r = new Random(seed * 31 + i);
        return (long) r.nextInt((int) ((SIZE - LENGTH) / 4096)) * 4096;
    }

    private static byte fill(int i) {
        return (byte) (i % 250 + 1);
    }

    @Test
    void everyAcknowledgedWriteSurvivesAKilledServer() throws Exception {
        ExternalTools.assumeAvailable("qemu-io", "stdbuf");
        String where = "seed " + seed + " (replay: -Dvhdkit.killSeed=" + seed + ")";
        System.out.println("ServeKilledIT " + where);
        Path disk = tmp.resolve("d.vhd");
        Vhd.create(disk, CreateOptions.dynamic(SIZE)).close();
        Path socket = tmp.resolve("nbd.sock");
        Path jar = Path.of("target", "vhd.jar").toAbsolutePath();
        assertTrue(Files.isRegularFile(jar), () -> "no " + jar + " (failsafe runs after package)");
        Process server = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "-jar",
                jar.toString(), "serve", "--socket", socket.toString(), "--output", "json", "disk=" + disk)
                .redirectError(tmp.resolve("serve.log").toFile()).start();
        List<String> out = new ArrayList<>();
        boolean serverAlive;
        Process client;
        try {
            server.getOutputStream().close();
            new BufferedReader(new InputStreamReader(server.getInputStream(), UTF_8)).readLine(); // ready
            List<String> argv = new ArrayList<>(List.of("stdbuf", "-oL", "qemu-io", "-f", "raw"));
            for (int i = 0; i < WRITES; i++) {
                argv.addAll(List.of("-c", "write -P " + (fill(i) & 0xFF) + " " + offset(i) + " " + LENGTH));
            }
            argv.add("nbd+unix:///disk?socket=" + socket);
            client = new ProcessBuilder(argv).redirectErrorStream(true).start();
            int killAfter = 10 + new Random(seed).nextInt(WRITES / 2);
            BufferedReader lines = new BufferedReader(new InputStreamReader(client.getInputStream(), UTF_8));
            int acknowledged = 0;
            for (String line; acknowledged < killAfter && (line = lines.readLine()) != null; ) {
                out.add(line);
                acknowledged += line.startsWith("wrote ") ? 1 : 0;
            }
            serverAlive = server.isAlive();
            server.destroyForcibly(); // SIGKILL
            assertTrue(server.waitFor(30, TimeUnit.SECONDS));
            for (String line; (line = lines.readLine()) != null; ) {
                out.add(line);
            }
            assertTrue(client.waitFor(30, TimeUnit.SECONDS), "qemu-io did not end");
        } finally {
            server.destroyForcibly();
        }
        List<Integer> acked = new ArrayList<>();
        for (String line : out) {
            Matcher m = WROTE.matcher(line);
            if (m.find()) {
                int i = acked.size();
                assertTrue(Long.parseLong(m.group(2)) == offset(i), "qemu-io's writes in order: " + line);
                acked.add(i);
            }
        }
        assertTrue(serverAlive && !acked.isEmpty() && acked.size() < WRITES,
                "the kill landed mid-run (" + acked.size() + " of " + WRITES + " acknowledged): " + where);
        System.out.println("ServeKilledIT: killed after " + acked.size() + " acknowledged writes, " + where);

        CheckReport report = ImageCheck.check(disk, ProgressListener.NONE);
        assertNotEquals(CheckReport.Status.CORRUPT, report.status(), where + ": " + report);
        byte[] expected = new byte[(int) SIZE];
        for (int i : acked) {
            java.util.Arrays.fill(expected, (int) offset(i), (int) offset(i) + LENGTH, fill(i));
        }
        byte[] actual = new byte[(int) SIZE];
        try (VhdDisk d = Vhd.openReadOnly(disk)) {
            d.read(0, actual);
        }
        int inFlight = acked.size();
        if (inFlight < WRITES) { // may or may not have reached the file
            System.arraycopy(expected, (int) offset(inFlight), actual, (int) offset(inFlight), LENGTH);
        }
        assertArrayEquals(expected, actual, "every acknowledged write reads back: " + where);
    }
}
