package org.vhdkit.stack.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
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
 *
 * <p>A snapshot of the running guest is taken live: the same qemu process (its pid) runs on, the
 * guest's loop goes on counting right after, and its writes land in the new layers while the frozen
 * layer files stay byte for byte as the snapshot left them, on both paths our process serves: the
 * SCSI disk (vhost-user-scsi) and an IDE disk at ide:0:1 (NBD), which the guest writes raw.
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
        Path ide = dir.resolve("ide.vhd");
        try (VhdDisk d = Vhd.create(ide, CreateOptions.dynamic(8L << 20))) {
            d.flush();
        }
        LinuxGuest.BootFiles boot = LinuxGuest.bootFiles(LinuxGuest.options("real-snapshots"));
        GuestEngine engine = GuestEngine.qemu().withAccel(GuestEngine.Accelerator.TCG).withKernel(boot.kernel())
                .withInitrd(boot.initramfs()).withAppend(GuestConsole.KERNEL_ARGUMENTS);
        VirtualMachine vm = hypervisor.create(VmConfiguration.create("snapshots", 192L << 20, 1).withEngine(engine)
                .withAttachment(Attachment.disk(Slot.scsi(0, 0), data))
                .withAttachment(Attachment.disk(Slot.ide(0, 1), ide)));
        vm.start(UNUSED);
        reconnect(vm);
        // The two disks by their sizes in sectors: the SCSI one of 64 MiB, the IDE one of 8 MiB.
        guest.runChecked("for b in /sys/block/sd*; do s=$(cat $b/size); [ $s -gt 65536 ] && echo ${b##*/} > /tmp/scsi;"
                + " [ $s -le 65536 ] && echo ${b##*/} > /tmp/ide; done; d=$(cat /tmp/scsi); cat /tmp/ide >/dev/null &&"
                + " mke2fs -F /dev/$d >/dev/null && mkdir -p /mnt && mount /dev/$d /mnt && echo mounted", COMMAND);
        // A loop counting in the guest's memory the whole time: it tells a guest that goes on from its
        // snapshot from one that rebooted or went on from somewhere else.
        guest.runChecked("(i=0; while true; do i=$((i+1)); echo $i > /tmp/loop; sleep 0.1; done) >/dev/null 2>&1 &"
                + " sleep 0.3; cat /tmp/loop", COMMAND);
        Snapshots snapshots = Snapshots.of(vm);

        String a = write("A");
        writeIde("before-s1");
        long atS1 = counter();
        String pid = pid(vm);
        snapshots.take("s1");
        assertEquals(engine, vm.configuration().engine(), "a snapshot keeps the VM's engine");
        assertEquals(VmState.RUNNING, vm.state(), "a running guest runs on after its snapshot");
        assertEquals(pid, pid(vm), "the snapshot is taken live: the same qemu process runs the guest on");
        long afterS1 = counter();
        assertTrue(afterS1 >= atS1, "the loop went on from where it was: " + atS1 + " then " + afterS1);
        assertTrue(awaitCounterAbove(afterS1), "the loop runs on right after the snapshot");
        String frozenData = sha256(data);
        String frozenIde = sha256(ide);
        Path newData = vm.configuration().attachment(Slot.scsi(0, 0)).orElseThrow().path();
        Path newIde = vm.configuration().attachment(Slot.ide(0, 1)).orElseThrow().path();
        assertNotEquals(data, newData, "scsi:0:0 is on a new layer");
        assertNotEquals(ide, newIde, "ide:0:1 is on a new layer");
        long newDataSize = Files.size(newData);
        long newIdeSize = Files.size(newIde);
        assertEquals(a, guest.runChecked(LIST, COMMAND), "the guest goes on from where it was, on the new layer");
        String b = write("B");
        writeIde("after-s1");
        assertEquals(frozenData, sha256(data), "s1's SCSI layer is frozen: the guest's writes went elsewhere");
        assertEquals(frozenIde, sha256(ide), "s1's IDE layer is frozen: the guest's writes went elsewhere");
        assertTrue(Files.size(newData) > newDataSize, "the SCSI writes landed in the new layer " + newData);
        assertTrue(Files.size(newIde) > newIdeSize, "the IDE write landed in the new layer " + newIde);
        snapshots.take("s2");
        assertEquals(pid, pid(vm), "the second live snapshot keeps the process too");
        String c = write("C");
        assertNotEquals(b, c);
        assertEquals("after-s1", readIde(), "the IDE disk holds what the guest wrote after s1");
        long beforeApply = counter();

        applyAndStart(vm, snapshots, "s1");
        long resumed = counter();
        assertTrue(resumed >= atS1 && resumed < beforeApply, "the loop goes on from s1's moment (" + atS1
                + " there, " + beforeApply + " before the apply): " + resumed);
        assertTrue(awaitCounterAbove(resumed), "the loop still runs after the apply");
        assertEquals(a, guest.runChecked(LIST, COMMAND), "s1 shows A");
        assertEquals("before-s1", readIde(), "s1's IDE disk shows what it held then");
        String d = write("D");
        snapshots.take("s3");

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

    /** The qemu process running the VM, as its folder records it. */
    private static String pid(VirtualMachine vm) throws IOException {
        return Files.readString(vm.folder().resolve(QemuEngine.PID_FILE), StandardCharsets.US_ASCII).strip();
    }

    private static String sha256(Path file) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }

    /** Writes {@code text} raw into sector 100 of the IDE disk, synced. */
    private void writeIde(String text) {
        guest.runChecked("printf '%-16s' " + text + " | dd of=/dev/$(cat /tmp/ide) bs=16 seek=3200 conv=fsync"
                + " 2>/dev/null && echo ok", COMMAND);
    }

    /** What sector 100 of the IDE disk holds, read past the page cache. */
    private String readIde() {
        return guest.runChecked("echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/$(cat /tmp/ide) bs=16 skip=3200 count=1"
                + " 2>/dev/null; echo", COMMAND).strip();
    }

    /**
     * The loop's counter; read again when the read fell between the loop's truncating and writing
     * the file.
     */
    private long counter() {
        String text = "";
        for (int i = 0; i < 20 && text.isEmpty(); i++) {
            text = guest.runChecked("cat /tmp/loop", COMMAND).strip();
        }
        return Long.parseLong(text);
    }

    private boolean awaitCounterAbove(long value) {
        for (int i = 0; i < 50; i++) {
            guest.runChecked("sleep 0.2", COMMAND);
            if (counter() > value) {
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
