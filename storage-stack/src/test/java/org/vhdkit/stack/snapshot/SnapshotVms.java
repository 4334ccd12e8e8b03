package org.vhdkit.stack.snapshot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import org.vhdkit.stack.storage.SyntheticStorage;
import org.vhdkit.stack.testvm.TestVms;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.check.CheckReport;
import org.vhdkit.vhd.check.ImageCheck;

/** What only the snapshot tests share, on {@link TestVms}: a VM with one SCSI disk in its own folder, disk models. */
final class SnapshotVms {
    static final long SIZE = 4L << 20;
    static final int REGION = 64 * 1024;
    static final Slot SLOT = Slot.scsi(0, 0);

    private SnapshotVms() {
    }

    /**
     * {@link TestVms#options()} with the synthetic storage provider and a longer stop grace: a
     * snapshot test's VM flushes its disk as it stops.
     */
    static Hypervisor hypervisor(Path root) throws IOException {
        return Hypervisor.open(root, TestVms.options()
                .withStopGrace(Duration.ofSeconds(2))
                .withDeviceProvider(SyntheticStorage.create()));
    }

    /** A VM with a dynamic base VHD at scsi:0:0 that lives in the VM's folder (so vhdimount finds every layer). */
    static VirtualMachine vm(Hypervisor h, String name) throws IOException {
        return vm(h, name, SIZE);
    }

    /** The same with a base VHD of {@code size} bytes. */
    static VirtualMachine vm(Hypervisor h, String name, long size) throws IOException {
        VirtualMachine vm = TestVms.vm(h, name);
        Path base = TestVms.dynamicVhd(vm.folder(), "base.vhd", size);
        vm.reconfigure(vm.configuration().withAttachment(Attachment.disk(SLOT, base)));
        return vm;
    }

    static Path disk(VirtualMachine vm) {
        return vm.configuration().attachment(SLOT).orElseThrow().path();
    }

    /** Writes "pattern {@code letter}" to the Off VM's disk and to {@code model}: region {@code letter} and sector 0. */
    static void write(VirtualMachine vm, byte[] model, char letter) throws IOException {
        byte[] region = new byte[REGION];
        Arrays.fill(region, (byte) letter);
        int at = (letter - 'A') * REGION + 4096;
        try (VhdDisk d = Vhd.open(disk(vm), OpenOptions.READ_WRITE)) {
            d.write(at, region);
            d.write(0, Arrays.copyOf(region, 512));
            d.flush();
        }
        System.arraycopy(region, 0, model, at, REGION);
        System.arraycopy(region, 0, model, 0, 512);
    }

    static void assertShows(Path file, byte[] model, String what) throws IOException {
        byte[] actual = new byte[(int) SIZE];
        try (VhdDisk d = Vhd.openReadOnly(file)) {
            d.read(0, actual);
        }
        assertArrayEquals(model, actual, what + " (" + file.getFileName() + ")");
    }

    /** Every VHD and AVHD file in the VM's folder passes the image check. */
    static void assertAllClean(VirtualMachine vm) throws IOException {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(vm.folder(), "*.{vhd,avhd}")) {
            for (Path p : ds) {
                CheckReport r = ImageCheck.check(p, ProgressListener.NONE);
                assertEquals(CheckReport.Status.CLEAN, r.status(), p + ": " + r);
            }
        }
    }
}
