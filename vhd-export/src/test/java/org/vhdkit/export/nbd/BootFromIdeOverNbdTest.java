package org.vhdkit.export.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.check.CheckReport;
import org.vhdkit.vhd.check.ImageCheck;
import org.vhdkit.vhd.testing.ExternalTools;
import org.vhdkit.vhd.testing.guest.BootDisk;
import org.vhdkit.vhd.testing.guest.GuestConsole;
import org.vhdkit.vhd.testing.guest.Qmp;

/**
 * A generation-1 VM's boot from IDE, as {@code vhd vm}'s qemu engine will give it, with plain qemu:
 * the {@link BootDisk} (a dynamic VHD made by vhdkit) served by our NBD server on a Unix socket,
 * qemu's {@code pc} machine (TCG) with that export as the PIIX IDE primary master and nothing else.
 * SeaBIOS runs the disk's MBR, SYSLINUX loads the kernel and initramfs from the FAT partition, and
 * the guest reaches userspace: the console log (qemu's {@code logfile}) shows SYSLINUX's banner and
 * the guest's ready line. A command runs over the same serial port (qemu serving it as a socket
 * server, the host connecting as a client), and QMP {@code system_powerdown} (the ACPI power
 * button) makes the guest power off, qemu exit, and the VHD pass vhdkit's check. One boot is
 * shared by the tests, in order.
 *
 * <p>Runs with {@code -Dvhdkit.long=true}: in the default suite vhd-cli's {@code VmBootFromIdeTest}
 * boots the same disk the same way through {@code vhd vm}'s qemu engine, and a BIOS boot costs about
 * 20 s under TCG. This one needs no engine, so it tells a broken boot disk from a broken engine.
 */
@Timeout(180)
@EnabledIfSystemProperty(named = "vhdkit.long", matches = "true", disabledReason = "a second BIOS boot (about 20 s"
        + " of TCG) beside vhd-cli's VmBootFromIdeTest, which boots the same disk through vhd vm: -Dvhdkit.long=true")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BootFromIdeOverNbdTest {
    private static final Duration BOOT_TIMEOUT = Duration.ofSeconds(120);
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(30);

    @TempDir
    static Path tmp;

    static Path vhd;
    static Path sockets;
    static VhdDisk disk;
    static NbdServer server;
    static final List<String> serverLog = Collections.synchronizedList(new ArrayList<>());
    static Process qemu;
    static GuestConsole console;
    static Path consoleLog;
    static long bootMillis;

    @BeforeAll
    static void bootFromIde() throws IOException {
        BootDisk boot = BootDisk.prepare();
        vhd = boot.copyTo(tmp.resolve("boot.vhd"));
        disk = Vhd.open(vhd, OpenOptions.READ_WRITE);
        // Sockets in a short folder: a Unix socket path has at most 107 bytes.
        sockets = Files.createTempDirectory("vhdkit-boot-");
        server = NbdServer.start(UnixDomainSocketAddress.of(sockets.resolve("nbd.sock")),
                List.of(new NbdServer.Export("boot", disk, false, "the boot disk")), serverLog::add);
        consoleLog = tmp.resolve("console.log");
        List<String> command = List.of(ExternalTools.find("qemu-system-x86_64").orElseThrow().toString(),
                "-machine", "pc", "-accel", "tcg", "-nodefaults", "-no-user-config", "-display", "none",
                "-no-reboot", "-m", "256",
                "-drive", "driver=nbd,server.type=unix,server.path=" + sockets.resolve("nbd.sock")
                        + ",export=boot,if=none,id=boot",
                "-device", "ide-hd,drive=boot,bus=ide.0,unit=0,bootindex=0",
                "-chardev", "socket,id=console,path=" + sockets.resolve("console.sock")
                        + ",server=on,wait=off,logfile=" + consoleLog,
                "-serial", "chardev:console",
                "-chardev", "socket,id=qmp,path=" + sockets.resolve("qmp.sock") + ",server=on,wait=off",
                "-mon", "chardev=qmp,mode=control");
        long start = System.nanoTime();
        qemu = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(tmp.resolve("qemu.log").toFile()).redirectErrorStream(true).start();
        try {
            console = GuestConsole.connect(sockets.resolve("console.sock"), BOOT_TIMEOUT);
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "\n--- console ---\n" + read(consoleLog) + "\n--- qemu ---\n"
                    + read(tmp.resolve("qemu.log")) + "\n--- NBD ---\n" + String.join("\n", serverLog), e);
        }
        bootMillis = (System.nanoTime() - start) / 1_000_000;
        System.err.printf("BootFromIdeOverNbdTest: the guest answered %d ms after qemu started (guest uptime %.2f s)%n",
                bootMillis, console.uptimeAtReady());
    }

    @AfterAll
    static void stop() throws IOException {
        if (console != null) {
            console.close();
        }
        if (qemu != null && qemu.isAlive()) {
            ExternalTools.killTree(qemu);
        }
        if (server != null) {
            server.close();
        }
        if (disk != null) {
            disk.close();
        }
        if (sockets != null) {
            try (var files = Files.list(sockets)) {
                for (Path p : files.toList()) {
                    Files.deleteIfExists(p);
                }
            }
            Files.deleteIfExists(sockets);
        }
    }

    @Test
    @Order(1)
    void seaBiosBootsSyslinuxFromTheIdeDiskAndTheGuestReachesUserspace() throws IOException {
        String log = read(consoleLog);
        int banner = log.indexOf("SYSLINUX ");
        int ready = log.indexOf(BootDisk.READY_MARK);
        assertTrue(banner >= 0, "SYSLINUX's banner on the console:\n" + log);
        assertTrue(ready > banner, "the guest's ready line after SYSLINUX's banner:\n" + log);
        String cmdline = console.runChecked("cat /proc/cmdline", COMMAND_TIMEOUT).strip();
        assertTrue(cmdline.contains(GuestConsole.KERNEL_ARGUMENTS), "the kernel line from syslinux.cfg: " + cmdline);
        assertTrue(cmdline.contains("initrd=initrd"), "SYSLINUX loaded the initramfs: " + cmdline);
    }

    @Test
    @Order(2)
    void theGuestReadsTheServedVhdAsTheHostDoes() throws Exception {
        String out = console.runChecked("cat /sys/block/sda/size; cat /sys/block/sda/device/model;"
                + " head -c 1048576 /dev/sda | sha256sum", COMMAND_TIMEOUT);
        String[] lines = out.strip().split("\n");
        assertEquals(Long.toString(BootDisk.SIZE / 512), lines[0].strip(), out);
        assertEquals("QEMU HARDDISK", lines[1].strip(), "an IDE disk: " + out);
        byte[] first = new byte[1 << 20];
        disk.read(0, first);
        String host = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(first));
        assertEquals(host + "  -", lines[2].strip(), "the MBR and the partition's start as the VHD holds them");
    }

    @Test
    @Order(3)
    void commandsKeepTheirExitStatusAndOutputOnTheConsolePort() {
        var r = console.run("echo to-stdout; echo to-stderr >&2; exit 7", COMMAND_TIMEOUT);
        assertEquals(7, r.exitCode());
        assertEquals("to-stdout\nto-stderr\n", r.output());
    }

    @Test
    @Order(4)
    void theAcpiPowerButtonPowersTheGuestOffAndTheVhdPassesCheck() throws Exception {
        try (Qmp qmp = Qmp.connect(sockets.resolve("qmp.sock"))) {
            String answer = qmp.execute("system_powerdown", null);
            assertTrue(answer.contains("\"return\""), answer);
        }
        assertTrue(qemu.waitFor(60, TimeUnit.SECONDS), "qemu still runs 60 s after the power button\n" + read(consoleLog));
        assertEquals(0, qemu.exitValue(), read(tmp.resolve("qemu.log")));
        console.close();
        server.close();
        disk.close();
        disk = null;
        CheckReport report = ImageCheck.check(vhd, ProgressListener.NONE);
        assertEquals(CheckReport.Status.CLEAN, report.status(), () -> vhd + " is not clean: " + report);
    }

    private static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file, java.nio.charset.StandardCharsets.ISO_8859_1) : "(none)";
        } catch (IOException e) {
            return "(" + e.getMessage() + ")";
        }
    }
}
