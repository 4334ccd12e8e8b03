package org.vhdkit.cli.vm;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.testing.guest.GuestConsole;
import org.vhdkit.vhd.testing.guest.LinuxGuest;

/**
 * A real guest through the command line, with real processes (target/vhd.jar): {@code vhd vm create
 * --engine qemu} with a direct kernel boot, {@code vhd vm start} hosting it, {@code vhd vm console}
 * from another process carrying the guest's serial console both ways until Ctrl-], and
 * {@code vhd vm shutdown} through the guest's ACPI power button.
 */
@Timeout(180)
class RealGuestProcessIT {
    @TempDir
    Path tmp;

    private ProcessBuilder vhd(String... args) {
        Path jar = Path.of("target", "vhd.jar").toAbsolutePath();
        assertTrue(Files.isRegularFile(jar), () -> "no " + jar + " (failsafe runs after package)");
        List<String> argv = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-jar",
                jar.toString(), "vm", "--vm-root", tmp.resolve("vms").toString()));
        argv.addAll(List.of(args));
        return new ProcessBuilder(argv).directory(tmp.toFile());
    }

    private String run(String... args) throws Exception {
        Process p = vhd(args).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), UTF_8);
        assertTrue(p.waitFor(90, TimeUnit.SECONDS), "vhd vm " + String.join(" ", args) + " did not end");
        assertEquals(0, p.exitValue(), "vhd vm " + String.join(" ", args) + ": " + out);
        return out;
    }

    @Test
    void consoleCarriesTheSerialPortBothWaysAndShutdownPowersTheGuestOff() throws Exception {
        LinuxGuest.BootFiles boot = LinuxGuest.bootFiles(LinuxGuest.options("real-guest-cli"));
        try (VhdDisk d = Vhd.create(tmp.resolve("data.vhd"), CreateOptions.dynamic(16 << 20))) {
            d.flush();
        }
        run("create", "--memory", "256M", "--engine", "qemu", "--accel", "tcg", "--kernel", boot.kernel().toString(),
                "--initrd", boot.initramfs().toString(), "--append", GuestConsole.KERNEL_ARGUMENTS, "real");
        run("attach", "real", "--controller", "scsi:0:0", "data.vhd");

        Process host = vhd("start", "real").start();
        host.getOutputStream().close();
        BufferedReader hostOut = new BufferedReader(new InputStreamReader(host.getInputStream(), UTF_8));
        String first = hostOut.readLine();
        assertTrue(first != null && first.startsWith("Started 'real'"), first);

        Process console = vhd("console", "real").start();
        LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread.ofVirtual().start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(console.getInputStream(), UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    lines.add(line.replace("\r", ""));
                }
            } catch (Exception ignored) {
                // the console ended
            }
        });
        OutputStream typed = console.getOutputStream();
        String script = Base64.getEncoder().encodeToString("ls /sys/block | grep -c sd".getBytes(UTF_8));
        String answer = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        for (int id = 1; answer == null && System.nanoTime() < deadline; id++) {
            typed.write(("RUN " + id + " " + script + "\n").getBytes(UTF_8)); // until the guest's loop runs
            typed.flush();
            String line;
            while ((line = lines.poll(2, TimeUnit.SECONDS)) != null) {
                if (line.startsWith("@@VHDKIT BEGIN ")) {
                    answer = new String(Base64.getMimeDecoder().decode(lines.poll(30, TimeUnit.SECONDS)), UTF_8);
                    break;
                }
            }
        }
        assertEquals("1", answer == null ? null : answer.strip(), "the guest answered through vhd vm console and"
                + " sees its SCSI disk");
        typed.write(0x1d); // Ctrl-]
        typed.flush();
        assertTrue(console.waitFor(30, TimeUnit.SECONDS), "Ctrl-] detaches");
        assertEquals(0, console.exitValue());
        assertTrue(host.isAlive(), "detaching leaves the VM running");

        String shutdown = run("shutdown", "--timeout", "60s", "real");
        assertTrue(shutdown.contains("real"), shutdown);
        assertTrue(host.waitFor(60, TimeUnit.SECONDS), "the host ends once the guest powered off");
        String report = new String(host.getInputStream().readAllBytes(), UTF_8);
        assertEquals(0, host.exitValue(), report);
        assertTrue(report.contains("'real' is Off: the guest powered off"), report);
        Path folder = Files.list(tmp.resolve("vms")).filter(Files::isDirectory).findFirst().orElseThrow();
        assertTrue(Files.size(folder.resolve("console.log")) > 0, "the console is logged in the VM's folder");
        run("check", "real"); // exit 0: the VM's disks are clean after the guest's own power off
    }
}
