package org.vhdkit.stack.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.partition.GuestProgram;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.GuestEngine;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.HypervisorOptions;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmConfiguration;
import org.vhdkit.stack.vm.VmState;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.check.CheckReport;
import org.vhdkit.vhd.check.ImageCheck;
import org.vhdkit.vhd.testing.guest.GuestConsole;
import org.vhdkit.vhd.testing.guest.LinuxGuest;

/**
 * A VM's qemu SIGKILLed while its Linux guest writes files and syncs them in a loop on an ext2 data
 * disk at scsi:0: the VM turns Off, the disk checks with at most leaks, and on the next boot the
 * guest reads back every file it had synced before the kill, each with the checksum it logged.
 */
class RealGuestKilledWorkerTest {
    private static final Duration BOOT = Duration.ofSeconds(120);
    private static final Duration COMMAND = Duration.ofSeconds(60);
    private static final GuestProgram UNUSED = guest -> { };
    /** Writes file N, syncs, then logs "N md5" and syncs again: a logged file is on the disk. */
    private static final String WRITER = "(i=0; while true; do i=$((i+1));"
            + " head -c 65536 /dev/urandom > /mnt/f$i; sync; echo $i $(md5sum < /mnt/f$i | cut -d' ' -f1) >> /mnt/log;"
            + " sync; done) >/dev/null 2>&1 &";
    /**
     * For each of the first N logged files (N follows) "ok" when its content has its logged checksum,
     * else "fI differs", counted. Lines past those the guest had synced when the host read the log
     * may be torn.
     */
    private static final String VERIFY = "head -n %d /mnt/log | while read i sum; do"
            + " if [ \"$(md5sum < /mnt/f$i | cut -d' ' -f1)\" = \"$sum\" ]; then echo ok; else echo \"f$i differs\"; fi;"
            + " done | sort | uniq -c";

    @TempDir
    Path dir;

    private Hypervisor hypervisor;

    @AfterEach
    void tearDown() {
        if (hypervisor != null) {
            hypervisor.close();
        }
    }

    @Test
    void everyFileTheGuestSyncedBeforeItsQemuWasKilledReadsBackOnTheNextBoot() throws Exception {
        hypervisor = Hypervisor.open(dir.resolve("vms"),
                HypervisorOptions.defaults().withWorkerLauncher(QemuEngine.create()));
        Path data = dir.resolve("data.vhd");
        try (VhdDisk d = Vhd.create(data, CreateOptions.dynamic(64L << 20))) {
            d.flush();
        }
        LinuxGuest.BootFiles boot = LinuxGuest.bootFiles(LinuxGuest.options("killed-worker"));
        GuestEngine engine = GuestEngine.qemu().withAccel(GuestEngine.Accelerator.TCG).withKernel(boot.kernel())
                .withInitrd(boot.initramfs()).withAppend(GuestConsole.KERNEL_ARGUMENTS);
        VirtualMachine vm = hypervisor.create(VmConfiguration.create("killed", 128L << 20, 1).withEngine(engine)
                .withAttachment(Attachment.disk(Slot.scsi(0, 0), data)));

        vm.start(UNUSED);
        List<String> logged = new ArrayList<>();
        try (GuestConsole guest = GuestConsole.connect(QemuEngine.consoleSocket(vm.folder()), BOOT)) {
            guest.runChecked("d=$(for b in /sys/block/sd*; do echo ${b##*/}; done | head -1); mke2fs -F /dev/$d"
                    + " >/dev/null && mkdir -p /mnt && mount /dev/$d /mnt && : > /mnt/log && sync && echo mounted",
                    COMMAND);
            guest.runChecked(WRITER + " echo started", COMMAND);
            for (int i = 0; i < 100 && logged.size() < 8; i++) {
                String log = guest.runChecked("sleep 0.3; cat /mnt/log", COMMAND).strip();
                logged = log.isEmpty() ? List.of() : List.of(log.split("\n"));
            }
        }
        assertTrue(logged.size() >= 8, "the guest logged synced files: " + logged);

        ProcessHandle qemu = ProcessHandle.current().children()
                .filter(p -> p.info().commandLine().orElse("").contains("vhdkit-" + vm.id()))
                .findFirst().orElseThrow(() -> new AssertionError("no qemu child for " + vm.id()));
        assertTrue(qemu.destroyForcibly());
        assertTrue(vm.awaitState(VmState.OFF, Duration.ofSeconds(30)), "the VM turns Off when its qemu dies");
        assertTrue(vm.lastStopReason().orElseThrow().contains("unexpectedly"), vm.lastStopReason().orElseThrow());
        CheckReport.Status status = ImageCheck.check(data, ProgressListener.NONE).status();
        assertNotEquals(CheckReport.Status.CORRUPT, status, "at most leaks after the kill");

        vm.start(UNUSED); // a fresh boot: the VM was Off
        try (GuestConsole guest = GuestConsole.connect(QemuEngine.consoleSocket(vm.folder()), BOOT)) {
            String mounted = guest.runChecked("d=$(for b in /sys/block/sd*; do echo ${b##*/}; done | head -1);"
                    + " e2fsck -p /dev/$d >/dev/null 2>&1; mkdir -p /mnt && mount /dev/$d /mnt && cat /mnt/log", COMMAND);
            List<String> after = List.of(mounted.strip().split("\n"));
            assertTrue(after.size() >= logged.size() && after.subList(0, logged.size()).equals(logged),
                    "the log holds every line the guest had synced before the kill:\n" + logged + "\nnow:\n" + after);
            String verified = guest.runChecked(VERIFY.formatted(logged.size()), COMMAND).strip().replaceAll("\\s+", " ");
            assertEquals(logged.size() + " ok", verified, "every file the guest had synced reads back with its checksum");
            guest.runChecked("umount /mnt && echo ok", COMMAND);
        }
        vm.turnOff();
        assertNotEquals(CheckReport.Status.CORRUPT, ImageCheck.check(data, ProgressListener.NONE).status());
    }
}
