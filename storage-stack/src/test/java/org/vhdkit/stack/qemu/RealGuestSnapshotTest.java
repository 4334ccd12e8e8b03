package org.vhdkit.stack.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.partition.GuestProgram;
import org.vhdkit.stack.snapshot.Snapshots;
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
 * The snapshot scenario of issue 6 on a real Linux guest run by the qemu engine, its data disk an
 * ext2 file system on a VHD at scsi:0: write A, snapshot s1, write B, snapshot s2, write C; apply s1
 * and the guest sees A; write D, snapshot s3; apply s2 and it sees B; apply s3 and it sees D; delete
 * s1 and s2; every VHD passes check. The snapshots are taken while the guest runs, so each apply
 * brings the guest back from that moment (its mounted file system, its shell, a loop counting in its
 * memory) without a reboot; the
 * guest drops its page cache before it lists the files, so what it sees was read from the disks.
 */
class RealGuestSnapshotTest {
    private static final Duration BOOT = Duration.ofSeconds(120);
    private static final Duration COMMAND = Duration.ofSeconds(60);
    /** A real guest ignores the program; the VM keeps it for a snapshot's restart. */
    private static final GuestProgram UNUSED = guest -> { };
    /** Every file on the data disk with its MD5, read from the disk, one "sum  path" per line. */
    private static final String LIST = "sync; echo 3 > /proc/sys/vm/drop_caches;"
            + " find /mnt -type f ! -path '/mnt/lost+found/*' | sort | xargs md5sum";

    @TempDir
    Path dir;

    private Hypervisor hypervisor;
    private GuestConsole guest;

    @BeforeEach
    void setUp() throws IOException {
        hypervisor = Hypervisor.open(dir.resolve("vms"),
                HypervisorOptions.defaults().withWorkerLauncher(QemuEngine.create()));
    }

    @AfterEach
    void tearDown() {
        if (guest != null) {
            guest.close();
        }
        if (hypervisor != null) {
            hypervisor.close();
        }
    }

    @Test
    void appliedSnapshotsOfARunningGuestShowWhatItHadWrittenAtEach() throws Exception {
        Path data = dir.resolve("data.vhd");
        try (VhdDisk d = Vhd.create(data, CreateOptions.dynamic(64L << 20))) {
            d.flush();
        }
        LinuxGuest.BootFiles boot = LinuxGuest.bootFiles(LinuxGuest.options("real-snapshots"));
        GuestEngine engine = GuestEngine.qemu().withAccel(GuestEngine.Accelerator.TCG).withKernel(boot.kernel())
                .withInitrd(boot.initramfs()).withAppend(GuestConsole.KERNEL_ARGUMENTS);
        VirtualMachine vm = hypervisor.create(VmConfiguration.create("snapshots", 192L << 20, 1).withEngine(engine)
                .withAttachment(Attachment.disk(Slot.scsi(0, 0), data)));
        vm.start(UNUSED);
        reconnect(vm);
        guest.runChecked("d=$(for b in /sys/block/sd*; do echo ${b##*/}; done | head -1);"
                + " mke2fs -F /dev/$d >/dev/null && mkdir -p /mnt && mount /dev/$d /mnt && echo mounted", COMMAND);
        // A loop counting in the guest's memory the whole time: it tells a guest that goes on from its
        // snapshot from one that rebooted or went on from somewhere else.
        guest.runChecked("(i=0; while true; do i=$((i+1)); echo $i > /tmp/loop; sleep 0.1; done) >/dev/null 2>&1 &"
                + " sleep 0.3; cat /tmp/loop", COMMAND);
        Snapshots snapshots = Snapshots.of(vm);

        String a = write("A");
        long atS1 = counter();
        snapshots.take("s1");
        assertEquals(engine, vm.configuration().engine(), "a snapshot keeps the VM's engine");
        assertEquals(VmState.RUNNING, vm.state(), "a running guest runs on after its snapshot");
        reconnect(vm);
        assertEquals(a, guest.runChecked(LIST, COMMAND), "the guest goes on from where it was, on the new layer");
        String b = write("B");
        snapshots.take("s2");
        reconnect(vm);
        String c = write("C");
        assertNotEquals(b, c);
        long beforeApply = counter();

        applyAndStart(vm, snapshots, "s1");
        long resumed = counter();
        assertTrue(resumed >= atS1 && resumed < beforeApply, "the loop goes on from s1's moment (" + atS1
                + " there, " + beforeApply + " before the apply): " + resumed);
        assertTrue(awaitCounterAbove(resumed), "the loop still runs after the apply");
        assertEquals(a, guest.runChecked(LIST, COMMAND), "s1 shows A");
        String d = write("D");
        snapshots.take("s3");
        reconnect(vm);

        applyAndStart(vm, snapshots, "s2");
        assertEquals(b, guest.runChecked(LIST, COMMAND), "s2 shows B");
        applyAndStart(vm, snapshots, "s3");
        assertEquals(d, guest.runChecked(LIST, COMMAND), "s3 shows D");

        snapshots.delete("s1", false);
        snapshots.delete("s2", false);
        assertEquals(List.of("s3"), snapshots.list().stream().map(s -> s.name()).toList());
        assertEquals(d, guest.runChecked(LIST, COMMAND), "deleting other snapshots changes nothing the guest sees");
        guest.close();
        guest = null;
        vm.turnOff();
        snapshots = Snapshots.of(vm);
        assertTrue(snapshots.check().consistent(), snapshots.check().problems().toString());

        TreeMap<Path, CheckReport.Status> checked = new TreeMap<>();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.filter(f -> f.toString().matches(".*\\.a?vhd")).toList()) {
                checked.put(p, ImageCheck.check(p, ProgressListener.NONE).status());
            }
        }
        assertTrue(checked.size() >= 2, "the data disk and the layers under it: " + checked);
        checked.forEach((p, status) -> assertEquals(CheckReport.Status.CLEAN, status, p.toString()));
    }

    private long counter() {
        return Long.parseLong(guest.runChecked("cat /tmp/loop", COMMAND).strip());
    }

    private boolean awaitCounterAbove(long value) {
        for (int i = 0; i < 50; i++) {
            if (Long.parseLong(guest.runChecked("sleep 0.2; cat /tmp/loop", COMMAND).strip()) > value) {
                return true;
            }
        }
        return false;
    }

    /** Writes two files of random bytes under {@code /mnt/NAME}, syncs, and returns the listing. */
    private String write(String name) {
        guest.runChecked("mkdir -p /mnt/" + name + " && for f in 1 2; do head -c 150000 /dev/urandom > /mnt/" + name
                + "/$f; done && echo " + name + " > /mnt/last && sync && echo ok", COMMAND);
        return guest.runChecked(LIST, COMMAND);
    }

    private void applyAndStart(VirtualMachine vm, Snapshots snapshots, String name) throws Exception {
        guest.close();
        guest = null;
        snapshots.apply(name, false);
        assertEquals(VmState.SAVED, vm.state(), name + " was taken running, so it holds the guest's saved state");
        vm.start(UNUSED);
        reconnect(vm);
    }

    private void reconnect(VirtualMachine vm) throws IOException {
        if (guest != null) {
            guest.close();
        }
        guest = GuestConsole.connect(QemuEngine.consoleSocket(vm.folder()), BOOT);
    }
}
