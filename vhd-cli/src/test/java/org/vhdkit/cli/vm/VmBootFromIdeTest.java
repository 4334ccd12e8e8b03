package org.vhdkit.cli.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.cli.CliRun;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.check.CheckReport;
import org.vhdkit.vhd.check.ImageCheck;
import org.vhdkit.vhd.testing.guest.BootDisk;
import org.vhdkit.vhd.testing.guest.GuestConsole;

/**
 * Boot from IDE as a generation-1 VM does, through {@code vhd vm} itself (issue 13): a VM run by the
 * qemu engine with firmware boot (no {@code --kernel}), the {@link BootDisk} VHD attached at ide:0:0,
 * {@code vhd vm start}. SeaBIOS runs the disk's MBR and SYSLINUX, the guest reaches userspace (its
 * ready line in the VM folder's console.log, after SYSLINUX's banner), sees its boot disk on the
 * PIIX IDE primary channel reading its first MiB as the VHD holds it, and {@code vhd vm shutdown} (the ACPI power button) powers it off: the
 * VM is Off with "the guest powered off" and the VHD checks clean.
 */
@Timeout(240)
class VmBootFromIdeTest {
    private static final Duration BOOT = Duration.ofSeconds(150);
    private static final Duration COMMAND = Duration.ofSeconds(30);

    @TempDir
    Path tmp;

    @Test
    void seaBiosBootsTheVhdAtIde00ToUserspaceAndVmShutdownPowersTheGuestOff() throws Exception {
        BootDisk boot = BootDisk.prepare();
        Path disk = boot.copyTo(tmp.resolve("boot.vhd"));
        VmFolder vms = new VmFolder(tmp.resolve("vms"));
        vms.vm("create", "--engine", "qemu", "--accel", "tcg", "--memory", "256M", "gen1").assertSuccess();
        vms.vm("attach", "gen1", "--controller", "ide:0:0", disk.toString()).assertSuccess();
        Path folder = Path.of(vms.vm("show", "--output", "json", "gen1").assertSuccess().json().get("folder").asText());
        Path consoleLog = folder.resolve("console.log");

        CompletableFuture<CliRun> host = vms.host("start", "gen1");
        String guestSum;
        try {
            String log = awaitConsole(consoleLog, BootDisk.READY_MARK, BOOT, host);
            int banner = log.indexOf("SYSLINUX ");
            assertTrue(banner >= 0 && log.indexOf(BootDisk.READY_MARK) > banner,
                    "SYSLINUX's banner, then the guest's ready line, in " + consoleLog + ":\n" + log);
            try (GuestConsole guest = GuestConsole.connect(folder.resolve("console.sock"), COMMAND)) {
                String out = guest.runChecked("cat /proc/cmdline; readlink -f /sys/block/sda/device;"
                        + " cat /sys/block/sda/size; head -c 1048576 /dev/sda | sha256sum", COMMAND);
                String[] lines = out.strip().split("\n");
                assertTrue(lines[0].startsWith("BOOT_IMAGE=vmlinuz ") && lines[0].contains(GuestConsole.KERNEL_ARGUMENTS)
                        && lines[0].contains(" initrd=initrd"),
                        "booted by SYSLINUX from the disk's syslinux.cfg, not by qemu -kernel: " + out);
                assertTrue(lines[1].contains("/ata1/"), "the boot disk is on the first IDE channel: " + out);
                assertEquals(Long.toString(BootDisk.SIZE / 512), lines[2].strip(), out);
                guestSum = lines[3].strip();
            }
            assertEquals("Shut down 'gen1': its guest powered off\n",
                    vms.vm("shutdown", "--timeout", "60s", "gen1").assertSuccess().out());
            CliRun ended = VmFolder.ended(host).assertSuccess();
            assertTrue(ended.out().endsWith("'gen1' is Off: the guest powered off\n"), ended.out());
        } finally {
            if (!host.isDone()) {
                vms.vm("stop", "gen1");
                host.join();
            }
        }
        CheckReport report = ImageCheck.check(disk, ProgressListener.NONE);
        assertEquals(CheckReport.Status.CLEAN, report.status(), () -> disk + " is not clean: " + report);
        byte[] first = new byte[1 << 20];
        try (VhdDisk vhd = Vhd.openReadOnly(disk)) {
            vhd.read(0, first);
        }
        assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(first)) + "  -", guestSum,
                "the guest read the MBR and the partition's start as the VHD holds them");
    }

    /** Polls the console log until it holds {@code mark}; AssertionError with the log when it does not in time. */
    private static String awaitConsole(Path log, String mark, Duration timeout, CompletableFuture<CliRun> host)
            throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            String text = Files.exists(log) ? Files.readString(log, StandardCharsets.ISO_8859_1) : "";
            if (text.contains(mark)) {
                return text;
            }
            if (host.isDone() || System.nanoTime() > deadline) {
                throw new AssertionError("no '" + mark + "' in " + log + " within " + timeout
                        + (host.isDone() ? " (the host ended: " + host.join() + ")" : "") + ":\n" + text);
            }
            Thread.sleep(250);
        }
    }
}
