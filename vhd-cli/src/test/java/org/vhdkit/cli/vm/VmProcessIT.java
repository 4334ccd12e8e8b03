package org.vhdkit.cli.vm;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.testing.ExternalTools;

/**
 * The process model of {@code vhd vm} with real processes (target/vhd.jar): a {@code vhd vm start}
 * in one process, commands from others through the folder's socket, and Ctrl-C (SIGINT) turning the
 * VM off with the report still printed.
 */
@Timeout(120)
class VmProcessIT {
    @TempDir
    Path tmp;

    private Path root() {
        return tmp.resolve("vms");
    }

    private ProcessBuilder vhd(String... args) {
        Path jar = Path.of("target", "vhd.jar").toAbsolutePath();
        assertTrue(Files.isRegularFile(jar), () -> "no " + jar + " (failsafe runs after package)");
        List<String> argv = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-jar",
                jar.toString(), "vm", "--vm-root", root().toString()));
        argv.addAll(List.of(args));
        return new ProcessBuilder(argv).directory(tmp.toFile());
    }

    private record Result(int exitCode, String out, String err) {
    }

    private Result run(String... args) throws Exception {
        Process p = vhd(args).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "vhd vm " + String.join(" ", args) + " did not end");
        return new Result(p.exitValue(), out, err);
    }

    @Test
    void ctrlCTurnsTheVmOffAndTheReportIsStillPrinted() throws Exception {
        try (VhdDisk d = org.vhdkit.vhd.Vhd.create(tmp.resolve("d.vhd"), CreateOptions.dynamic(8 << 20))) {
            assertTrue(d.size() > 0);
        }
        assertEquals(0, run("create", "--memory", "16M", "web").exitCode());
        assertEquals(0, run("attach", "web", "--controller", "scsi:0:0", "d.vhd").exitCode()); // relative to tmp

        // As from a terminal: SIGINT at its default. A test run in the background of a non-interactive
        // shell (nohup ... &) starts with SIGINT ignored, the children inherit that, and a JVM that
        // finds it ignored leaves it so: Ctrl-C could not reach the host (the failure this once had).
        ExternalTools.assumeAvailable("python3");
        ProcessBuilder withDefaultInt = vhd("start", "web");
        List<String> argv = new ArrayList<>(List.of("python3", "-c", "import os, signal, sys;"
                + " signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])"));
        argv.addAll(withDefaultInt.command());
        Process host = withDefaultInt.command(argv).start();
        host.getOutputStream().close();
        BufferedReader hostOut = new BufferedReader(new InputStreamReader(host.getInputStream(), UTF_8));
        String first = hostOut.readLine();
        assertTrue(first != null && first.startsWith("Started 'web'; this process (" + host.pid() + ")"), first);

        Result paused = run("pause", "web");
        assertEquals(new Result(0, "Paused 'web'\n", ""), paused);
        assertTrue(run("list").out().contains("web   Paused"));
        assertEquals(new Result(0, "Resumed 'web'\n", ""), run("resume", "web"));
        Result verify = run("run", "web", "--workload", "verify");
        assertEquals(65, verify.exitCode(), verify.toString());
        assertEquals("vhd: cannot start 'web': it is Running\n", verify.err());

        new ProcessBuilder("kill", "-INT", Long.toString(host.pid())).start().waitFor();
        if (!host.waitFor(30, TimeUnit.SECONDS)) {
            // What the host's threads were doing, for whoever reads the failure.
            Process dump = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                    Long.toString(host.pid()), "Thread.print").redirectErrorStream(true)
                    .start();
            String threads = new String(dump.getInputStream().readAllBytes(), UTF_8);
            host.destroyForcibly();
            fail("the host did not end on SIGINT; its threads:\n" + threads);
        }
        assertEquals(130, host.exitValue());
        assertEquals("'web' is Off: turned off", hostOut.readLine());
        assertEquals("vhd: interrupted: turned off 'web'\n", new String(host.getErrorStream().readAllBytes(), UTF_8));
        assertFalse(Files.exists(root().resolve(VmHost.SOCKET)), "the socket is removed");

        Result pattern = run("run", "web", "--block-size", "4K", "--queue-depth", "16");
        assertEquals(0, pattern.exitCode(), pattern.toString());
        assertTrue(pattern.out().contains(" IOPS, "), pattern.out());
        assertEquals("", pattern.err());
    }

    /**
     * The process hosting a VM is killed (SIGKILL) while the guest writes: the folder shows the VM
     * Off, the disk has at most leaked space, and what the guest flushed before reads back. The
     * pattern fills the first half of the disk; the random writes, of the same pattern, cover all of
     * it, so their new blocks in the second half grow the file: the kill comes once it has grown.
     */
    @Test
    void aHostKilledMidWorkloadLosesNothingTheGuestFlushed() throws Exception {
        try (VhdDisk d = org.vhdkit.vhd.Vhd.create(tmp.resolve("d.vhd"), CreateOptions.dynamic(64 << 20))) {
            assertTrue(d.size() > 0);
        }
        assertEquals(0, run("create", "--memory", "16M", "web").exitCode());
        assertEquals(0, run("attach", "web", "--controller", "scsi:0:0", "d.vhd").exitCode());
        Result pattern = run("run", "web", "--workload", "pattern", "--seed", "7", "--span", "32M"); // and a flush
        assertEquals(0, pattern.exitCode(), pattern.toString());
        Path vhd = tmp.resolve("d.vhd");
        long flushed = Files.size(vhd);

        // Random writes of the same pattern over it, in place, until killed.
        Process host = vhd("run", "web", "--workload", "random", "--read-percent", "0", "--count", "100000000",
                "--seed", "7").start();
        host.getOutputStream().close();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (Files.size(vhd) <= flushed) {
            assertTrue(host.isAlive(), "the host ended before it was killed");
            assertTrue(System.nanoTime() < deadline, "the guest wrote no new block");
            Thread.sleep(10);
        }
        assertTrue(run("list").out().contains("web   Running"), "the VM runs while its guest writes");
        host.toHandle().destroyForcibly();
        assertTrue(host.waitFor(30, TimeUnit.SECONDS));

        assertTrue(run("list").out().contains("web   Off"), "a VM whose host died is Off");
        Result check = run("check", "web");
        assertTrue(check.exitCode() == 0 || check.exitCode() == 3, check.toString());
        Result verify = run("run", "web", "--workload", "verify", "--seed", "7", "--span", "32M");
        assertEquals(0, verify.exitCode(), "the flushed pattern reads back: " + verify);
    }

    @Test
    void aSecondTerminalSeesTheRunningVmAndSavesIt() throws Exception {
        assertEquals(0, run("create", "--memory", "8M", "web").exitCode());
        Process host = vhd("start", "--output", "json", "web").start();
        host.getOutputStream().close();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!run("list").out().contains("web   Running")) {
            assertTrue(System.nanoTime() < deadline, "the VM is not seen running");
        }
        assertTrue(run("save", "web").out().startsWith("Saved 'web' to "));
        assertTrue(host.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, host.exitValue());
        String report = new String(host.getInputStream().readAllBytes(), UTF_8);
        assertTrue(report.contains("\"state\" : \"Saved\""), report);
        assertTrue(run("list").out().contains("web   Saved"));
    }
}
