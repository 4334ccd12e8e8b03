package org.vhdkit.stack.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.guest.workload.Workload;
import org.vhdkit.stack.testvm.TestVms;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmException;
import org.vhdkit.stack.vm.VmState;
import org.vhdkit.vhd.disk.RawDisk;
import org.vhdkit.vhd.testing.ExternalTools;

/** Raw host files and block devices attached in place of a VHD. */
class PassThroughTest {
    static final long SIZE = 4L << 20;
    static final long SEED = 7;

    @TempDir
    Path dir;

    private Path rawFile(String name) throws Exception {
        Path p = dir.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(SIZE);
        }
        return p;
    }

    private static void guestWritesAndVerifies(Hypervisor h, String name, Path device) throws Exception {
        VirtualMachine vm = TestVms.vm(h, name, Attachment.passThrough(Slot.scsi(0, 0), device, false));
        Workload w = new Workload(Workload.Plan.writeAndVerify(SEED));
        vm.start(w);
        TestVms.awaitFinished(w);
        assertTrue(w.reports().stream().allMatch(Workload.Report::clean), w.reports().toString());
        assertEquals(SIZE, w.reports().getFirst().bytes(), "the size came from the device");
        vm.turnOff();
    }

    private static void assertPattern(Path file) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            byte[] sector = new byte[512];
            for (long lba = 0; lba < SIZE / 512; lba += 97) {
                f.seek(lba * 512);
                f.readFully(sector);
                assertArrayEquals(Workload.expectedSector(lba, SEED), sector, "LBA " + lba);
            }
        }
    }

    @Test
    void aRawFilePassedThroughHoldsWhatTheGuestWrote() throws Exception {
        Path raw = rawFile("raw.img");
        try (Hypervisor h = TestVms.hypervisor(dir.resolve("vms"), SyntheticStorage.create())) {
            guestWritesAndVerifies(h, "vm", raw);
        }
        assertPattern(raw);
    }

    @Test
    void aLoopDeviceHoldsWhatTheGuestWrote() throws Exception {
        Path backing = rawFile("loop.img");
        ExternalTools.Result attach = ExternalTools.run(Duration.ofSeconds(10), "losetup", "--find", "--show",
                backing.toString());
        ExternalTools.assumeEnvironment(attach.exitCode() == 0, () -> "cannot attach a loop device here (needs root"
                + " and /dev/loop*): " + attach.stderr().strip());
        Path device = Path.of(attach.stdout().strip());
        try {
            try (Hypervisor h = TestVms.hypervisor(dir.resolve("vms"), SyntheticStorage.create())) {
                guestWritesAndVerifies(h, "vm", device);
            }
        } finally {
            ExternalTools.run(Duration.ofSeconds(10), "losetup", "-d", device.toString());
        }
        assertPattern(backing);
    }

    @Test
    void aDeviceHeldElsewhereIsRefused() throws Exception {
        Path raw = rawFile("held.img");
        try (Hypervisor h = TestVms.hypervisor(dir.resolve("vms"), SyntheticStorage.create())) {
            VirtualMachine first = TestVms.vm(h, "first", Attachment.passThrough(Slot.scsi(0, 0), raw, false));
            VirtualMachine second = TestVms.vm(h, "second", Attachment.passThrough(Slot.scsi(0, 0), raw, false));
            first.start(g -> { });
            VmException e = assertThrows(VmException.class, () -> second.start(g -> { }));
            assertTrue(e.getMessage().contains(raw.toString()), e.getMessage());
            assertEquals(VmState.OFF, second.state());
            assertThrows(java.io.IOException.class, () -> RawDisk.open(raw, false).close(), "another writer is refused");
            first.turnOff();
            second.start(g -> { });
            second.turnOff();
        }
        assertTrue(Files.exists(raw));
    }
}
