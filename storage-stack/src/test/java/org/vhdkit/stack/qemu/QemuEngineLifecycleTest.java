package org.vhdkit.stack.qemu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.partition.GuestProgram;
import org.vhdkit.stack.protocol.qmp.QmpMessage;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.GuestEngine;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.HypervisorOptions;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmConfiguration;
import org.vhdkit.stack.vm.VmException;
import org.vhdkit.stack.vm.VmState;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.check.CheckReport;
import org.vhdkit.vhd.check.ImageCheck;
import org.vhdkit.vhd.testing.ExternalTools;
import org.vhdkit.vhd.testing.guest.GuestConsole;
import org.vhdkit.vhd.testing.guest.LinuxGuest;

/**
 * A real Linux guest (Debian's kernel, the test initramfs, direct kernel boot under TCG) run by
 * vhdkit's qemu engine, its IDE and SCSI disks VHDs served by this process: what a user of
 * {@code vhd vm} with {@code --engine qemu} relies on. The guest's command loop is reached through
 * the VM's serial console.
 */
class QemuEngineLifecycleTest {
    private static final Duration BOOT = Duration.ofSeconds(120);
    private static final Duration COMMAND = Duration.ofSeconds(60);
    private static final long DISK_SIZE = 64L << 20;
    /** A real guest ignores the program; the VM keeps it for a snapshot's restart. */
    private static final GuestProgram UNUSED = guest -> { };

    @TempDir
    Path dir;

    private Hypervisor hypervisor;
    private Path ideDisk;
    private Path scsiDisk;
    private Path hotDisk;
    private byte[] hostPattern;

    @BeforeEach
    void setUp() throws IOException {
        hypervisor = Hypervisor.open(dir.resolve("vms"),
                HypervisorOptions.defaults().withWorkerLauncher(QemuEngine.create()));
        ideDisk = dir.resolve("ide-data.vhd");
        scsiDisk = dir.resolve("scsi-data.vhd");
        hotDisk = dir.resolve("hot-added-on-controller-1.vhd");
        hostPattern = new byte[64 << 10];
        new Random(13).nextBytes(hostPattern);
        for (Path p : List.of(ideDisk, scsiDisk, hotDisk)) {
            try (VhdDisk d = Vhd.create(p, CreateOptions.dynamic(DISK_SIZE))) {
                d.write(1 << 20, hostPattern);
            }
        }
    }

    @AfterEach
    void tearDown() {
        if (hypervisor != null) {
            hypervisor.close(); // turns off whatever still runs
        }
    }

    private VirtualMachine realGuest(String name) throws IOException {
        LinuxGuest.BootFiles boot = LinuxGuest.bootFiles(LinuxGuest.options("qemu-engine"));
        GuestEngine engine = GuestEngine.qemu().withAccel(GuestEngine.Accelerator.TCG).withKernel(boot.kernel())
                .withInitrd(boot.initramfs()).withAppend(GuestConsole.KERNEL_ARGUMENTS);
        VmConfiguration config = VmConfiguration.create(name, 256L << 20, 1).withEngine(engine)
                .withAttachment(Attachment.disk(Slot.ide(0, 0), ideDisk))
                .withAttachment(Attachment.disk(Slot.scsi(0, 0), scsiDisk))
                .withAttachment(Attachment.emptyDvd(Slot.ide(1, 0)));
        return hypervisor.create(config);
    }

    private static GuestConsole console(VirtualMachine vm) throws IOException {
        try {
            return GuestConsole.connect(QemuEngine.consoleSocket(vm.folder()), BOOT);
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "\n--- console.log ---\n" + tail(vm.folder().resolve("console.log"))
                    + "\n--- qemu.log ---\n" + tail(vm.folder().resolve("qemu.log")), e);
        }
    }

    private static String tail(Path log) throws IOException {
        if (!Files.exists(log)) {
            return "(none)";
        }
        List<String> lines = Files.readAllLines(log, StandardCharsets.ISO_8859_1);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    }

    /** The guest's name of the disk on {@code bus} ("ata" for IDE, "virtio" for SCSI): sda, sdb. */
    private static String disk(GuestConsole guest, String bus) {
        String out = guest.runChecked("for d in /sys/block/sd*; do echo ${d##*/} $(readlink -f $d/device); done",
                COMMAND);
        for (String line : out.split("\n")) {
            if (line.contains("/" + bus)) {
                return "/dev/" + line.split(" ")[0];
            }
        }
        throw new AssertionError("the guest has no " + bus + " disk:\n" + out);
    }

    /** The guest's disk under the PCI device {@code address} ({@code 0000:00:11.0}), once the guest has it. */
    private static String awaitDisk(GuestConsole guest, String address) {
        // Up to 60 s: under TCG on a busy host the driver's probe and scan of a hot-added controller
        // took over 20 s.
        String out = guest.runChecked("for i in $(seq 300); do for d in /sys/block/sd*; do"
                + " case $(readlink -f $d/device) in */" + address + "/*) echo ${d##*/}; exit 0;; esac; done;"
                + " sleep 0.2; done; ls -l /sys/block; ls /sys/bus/pci/devices; dmesg | tail -40",
                COMMAND.multipliedBy(2)).strip();
        if (!out.matches("sd[a-z]+")) {
            throw new AssertionError("the guest has no disk under PCI " + address + ":\n" + out);
        }
        return "/dev/" + out;
    }

    private static String md5(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(bytes));
    }

    private static byte[] read(Path vhd, long offset, int length) throws IOException {
        try (VhdDisk d = Vhd.open(vhd, OpenOptions.READ_ONLY)) {
            byte[] b = new byte[length];
            d.read(offset, b);
            return b;
        }
    }

    private static String guestWrite(GuestConsole guest, String device, String text) {
        // 512 bytes at 2 MiB: the text, then zeros; written through to the device.
        return guest.runChecked("printf '%s' '" + text + "' | dd of=" + device + " bs=512 seek=4096 conv=sync,fsync"
                + " 2>/dev/null && echo written", COMMAND);
    }

    private static byte[] sector(String text) {
        byte[] b = new byte[512];
        byte[] t = text.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(t, 0, b, 0, t.length);
        return b;
    }

    @Test
    void realGuestReadsAndWritesItsIdeAndScsiDisksThroughPauseSaveAndShutdown() throws Exception {
        VirtualMachine vm = realGuest("real");
        vm.start(UNUSED);
        assertEquals(VmState.RUNNING, vm.state());
        try (GuestConsole guest = console(vm)) {
            String ide = disk(guest, "ata");
            String scsi = disk(guest, "virtio");
            String expected = md5(hostPattern);
            for (String dev : List.of(ide, scsi)) {
                String sum = guest.runChecked("dd if=" + dev + " bs=64k skip=16 count=1 2>/dev/null | md5sum", COMMAND);
                assertEquals(expected, sum.split(" ")[0], dev + " holds what the host wrote at 1 MiB");
            }
            guestWrite(guest, ide, "written by the guest on IDE");
            guestWrite(guest, scsi, "written by the guest on SCSI");

            // A disk hot added on SCSI controller 1, which had none at the start: qemu gets the
            // controller's device at its fixed PCI slot (00:11.0), the guest finds it through ACPI PCI
            // hot plug and reads what the host wrote.
            QemuEngine.hotAdd(vm, Attachment.disk(Slot.scsi(1, 0), hotDisk));
            String hot = awaitDisk(guest, "0000:00:11.0");
            assertEquals(expected, guest.runChecked("dd if=" + hot + " bs=64k skip=16 count=1 2>/dev/null | md5sum",
                    COMMAND).split(" ")[0], "the hot-added disk holds what the host wrote at 1 MiB");
            assertTrue(vm.configuration().attachment(Slot.scsi(1, 0)).isPresent(), "the configuration records it");

            // A counter in the guest's memory (tmpfs), to see it go on after pause and save; renamed
            // into place, so that a reader never sees it truncated and empty.
            guest.runChecked("(i=0; while true; do i=$((i+1)); echo $i > /tmp/counter.new;"
                    + " mv /tmp/counter.new /tmp/counter; sleep 0.05; done) >/dev/null 2>&1 &"
                    + " sleep 0.3; cat /tmp/counter", COMMAND);

            vm.pause();
            assertEquals(VmState.PAUSED, vm.state());
            vm.resume();
            assertEquals(VmState.RUNNING, vm.state());
            long beforeSave = Long.parseLong(guest.runChecked("cat /tmp/counter", COMMAND).strip());
            assertTrue(beforeSave > 0);

            vm.save();
        }
        assertEquals(VmState.SAVED, vm.state());
        assertTrue(Files.isRegularFile(vm.folder().resolve("machine-state.bin")), "the saved state is in the folder");

        vm.start(UNUSED);
        assertEquals(VmState.RUNNING, vm.state());
        try (GuestConsole guest = console(vm)) {
            long after = Long.parseLong(guest.runChecked("cat /tmp/counter", COMMAND).strip());
            String uptime = guest.runChecked("sleep 0.5; cat /tmp/counter", COMMAND).strip();
            assertTrue(after > 0 && Long.parseLong(uptime) > after, "the guest's counter goes on from its saved"
                    + " memory: " + after + " then " + uptime);

            // The controller hot added before the save is where the saved state has it, with its disk.
            String hot = awaitDisk(guest, "0000:00:11.0");
            assertEquals(md5(hostPattern), guest.runChecked("dd if=" + hot + " bs=64k skip=16 count=1 2>/dev/null"
                    + " | md5sum", COMMAND).split(" ")[0], "the hot-added disk after the start from Saved");

            // qemu stopping the guest by itself (here a stop on its monitor): the VM is Paused, not Running.
            QemuWorker worker = (QemuWorker) vm.process().orElseThrow();
            worker.execute("stop", null);
            assertTrue(vm.awaitState(VmState.PAUSED, COMMAND), "a guest qemu stopped is Paused: " + vm.state());
            worker.execute("cont", null);
            assertTrue(vm.awaitState(VmState.RUNNING, COMMAND), "and Running when qemu lets it go on: " + vm.state());

            // Hot add a SCSI LUN; the guest's virtio-scsi driver finds it.
            Path extra = dir.resolve("hot.vhd");
            try (VhdDisk d = Vhd.create(extra, CreateOptions.dynamic(DISK_SIZE))) {
                d.flush();
            }
            String before = guest.runChecked("ls /sys/block | grep sd | wc -l", COMMAND).strip();
            QemuEngine.hotAdd(vm, Attachment.disk(Slot.scsi(0, 1), extra));
            String now = before;
            for (int i = 0; i < 100 && now.equals(before); i++) {
                now = guest.runChecked("sleep 0.2; ls /sys/block | grep sd | wc -l", COMMAND).strip();
            }
            assertEquals(Integer.parseInt(before) + 1, Integer.parseInt(now), "the hot-added LUN appears in the guest");
            assertTrue(vm.configuration().attachment(Slot.scsi(0, 1)).isPresent(), "the configuration records it");
            QemuEngine.hotRemove(vm, Slot.scsi(0, 1));
            for (int i = 0; i < 100 && !now.equals(before); i++) {
                now = guest.runChecked("sleep 0.2; ls /sys/block | grep sd | wc -l", COMMAND).strip();
            }
            assertEquals(before, now, "the hot-removed LUN leaves the guest");
            assertTrue(vm.configuration().attachment(Slot.scsi(0, 1)).isEmpty(), "the configuration records it");

            // A DVD put into the empty drive while the guest runs: the guest mounts and reads it.
            ExternalTools.assumeAvailable("xorriso");
            Path content = Files.createDirectories(dir.resolve("iso"));
            Files.writeString(content.resolve("hello.txt"), "on the DVD\n");
            Path iso = dir.resolve("media.iso");
            ExternalTools.Result made = ExternalTools.run(Duration.ofSeconds(60), "xorriso", "-as", "mkisofs", "-quiet",
                    "-V", "VHDKIT", "-o", iso.toString(), content.toString());
            assertEquals(0, made.exitCode(), made.stderr());
            QemuEngine.changeMedium(vm, Slot.ide(1, 0), iso);
            assertEquals(iso, vm.configuration().attachment(Slot.ide(1, 0)).orElseThrow().path());
            // Linux's sr learns of the new medium from the drive's UNIT ATTENTION on the first access
            // after the change (it does not poll): that read fails, and the drive then has its new size.
            assertEquals("on the DVD", guest.runChecked("dd if=/dev/sr0 of=/dev/null bs=2048 count=1 2>/dev/null;"
                    + " mount -t iso9660 -o ro /dev/sr0 /mnt && cat /mnt/hello.txt && umount /mnt", COMMAND).strip());
            QemuEngine.changeMedium(vm, Slot.ide(1, 0), null);
            assertTrue(vm.configuration().attachment(Slot.ide(1, 0)).orElseThrow().path() == null);

            // qemu refuses controller 2's device (another device sits at its PCI slot, 00:12.0): a clear
            // refusal, and nothing of the hot add is left: no disk in the configuration, no backend, no
            // socket in qemu, the VHD closed.
            ObjectNode squatter = QmpMessage.arguments();
            squatter.put("driver", "virtio-rng-pci");
            squatter.put("id", "squatter");
            squatter.put("addr", "0x12");
            worker.execute("device_add", squatter);
            Path refused = dir.resolve("refused.vhd");
            try (VhdDisk d = Vhd.create(refused, CreateOptions.dynamic(DISK_SIZE))) {
                d.flush();
            }
            VmException e = assertThrows(VmException.class, () -> QemuEngine.hotAdd(vm,
                    Attachment.disk(Slot.scsi(2, 0), refused)));
            assertTrue(e.getMessage().contains("qemu refused SCSI controller 2"), e.getMessage());
            assertTrue(vm.configuration().attachment(Slot.scsi(2, 0)).isEmpty());
            assertTrue(worker.storage().backend(2).isEmpty(), "no backend is left for controller 2");
            assertFalse(worker.execute("query-chardev", null).toString().contains("vhost-scsi2"),
                    "no socket to a backend is left in qemu");
            try (VhdDisk d = Vhd.open(refused, OpenOptions.READ_WRITE)) {
                assertEquals(DISK_SIZE, d.size(), "the VHD was closed: it opens for writing again");
            }

            // The last disk of controller 1 hot removed: the controller goes too (the guest releases it).
            QemuEngine.hotRemove(vm, Slot.scsi(1, 0));
            assertTrue(worker.storage().backend(1).isEmpty(), "the guest released controller 1 and its backend stopped");
            assertFalse(worker.execute("query-chardev", null).toString().contains("vhost-scsi1"),
                    "qemu's socket to the backend is removed with it");
            assertEquals("gone", guest.runChecked("test -e /sys/bus/pci/devices/0000:00:11.0 || echo gone", COMMAND)
                    .strip());
        }

        vm.shutDown(Duration.ofSeconds(60));
        assertEquals(VmState.OFF, vm.state());
        assertEquals("the guest powered off", vm.lastStopReason().orElseThrow());

        assertArrayEquals(sector("written by the guest on IDE"), read(ideDisk, 2 << 20, 512));
        assertArrayEquals(sector("written by the guest on SCSI"), read(scsiDisk, 2 << 20, 512));
        for (Path p : List.of(ideDisk, scsiDisk, hotDisk)) {
            assertEquals(CheckReport.Status.CLEAN, ImageCheck.check(p, ProgressListener.NONE).status(), p.toString());
        }
    }
}
