package org.vhdkit.stack.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.guest.GuestPages;
import org.vhdkit.stack.guest.storvsc.IoStatus;
import org.vhdkit.stack.guest.storvsc.Storvsc;
import org.vhdkit.stack.guest.storvsc.StorvscController;
import org.vhdkit.stack.guest.storvsc.StorvscDisk;
import org.vhdkit.stack.guest.workload.Workload;
import org.vhdkit.stack.partition.GuestProgram;
import org.vhdkit.stack.testvm.TestVms;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmException;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;

/** Disks added to and removed from a running VM while its guest works. */
class HotPlugTest {
    static final long SIZE = 4L << 20;
    static final long SEED = 5;

    @TempDir
    Path dir;

    /**
     * Reads and writes LUN 0 of controller 0 without pause (4 in flight); whenever LUN 1 appears,
     * writes the pattern to its first 64 KiB and reads it back; reports what it saw.
     */
    static GuestProgram busyGuest(AtomicBoolean stop, AtomicLong lun0Requests, CountDownLatch sawLun1,
            CountDownLatch lun1Gone, AtomicReference<String> failure) {
        return ctx -> {
            if (ctx.processor() != 0) {
                return;
            }
            try {
                busy(ctx, stop, lun0Requests, sawLun1, lun1Gone, failure);
            } catch (Exception | AssertionError e) {
                failure.compareAndSet(null, String.valueOf(e));
                throw e;
            }
        };
    }

    static void busy(org.vhdkit.stack.partition.GuestContext ctx, AtomicBoolean stop, AtomicLong lun0Requests,
            CountDownLatch sawLun1, CountDownLatch lun1Gone, AtomicReference<String> failure) throws Exception {
        {
            try (Storvsc storvsc = Storvsc.open(ctx, new GuestPages(ctx.memory(), Workload.DRIVER_PAGES,
                    Workload.DRIVER_PAGES_LENGTH), 8)) {
                StorvscDisk disk = storvsc.disk(0, 0).orElseThrow();
                StorvscController c = disk.controller();
                boolean wroteLun1 = false;
                long n = 0;
                while (!stop.get()) {
                    while (c.inFlight() < 4) {
                        long lba = (n * 8) % disk.blocks();
                        long buffer = Workload.BUFFERS + (n % 8) * 4096;
                        disk.read(lba, 8, buffer);
                        n++;
                    }
                    int tag = c.awaitCompletion();
                    if (c.status(tag) != IoStatus.OK && c.diskOf(tag) == disk) {
                        failure.compareAndSet(null, "a request to LUN 0 ended " + c.status(tag));
                    }
                    c.release(tag);
                    lun0Requests.incrementAndGet();
                    var lun1 = c.disk(1);
                    if (lun1.isPresent() && !wroteLun1) {
                        wroteLun1 = true;
                        writeAndCheck(ctx.memory(), c, lun1.get(), failure);
                        sawLun1.countDown();
                    }
                    if (wroteLun1 && lun1.isEmpty()) {
                        lun1Gone.countDown();
                    }
                }
                while (c.inFlight() > 0) {
                    c.release(c.awaitCompletion());
                }
            }
        }
    }

    private static void writeAndCheck(org.vhdkit.stack.memory.GuestMemory memory, StorvscController c, StorvscDisk d,
            AtomicReference<String> failure) throws Exception {
        long buffer = Workload.BUFFERS + 0x10_0000;
        for (int s = 0; s < 128; s++) {
            memory.write(buffer + 512L * s, Workload.expectedSector(s, SEED));
        }
        d.write(0, 128, buffer);
        d.flush();
        int seen = 0;
        while (seen < 2) {
            int tag = c.awaitCompletion();
            if (c.diskOf(tag) == d) {
                seen++;
                if (c.status(tag) != IoStatus.OK) {
                    failure.compareAndSet(null, "a request to the new disk ended " + c.status(tag));
                }
            }
            c.release(tag);
        }
    }

    @Test
    void aDiskHotAddedWhileTheGuestWorksIsSeenUsedAndRemoved() throws Exception {
        Path a = TestVms.dynamicVhd(dir, "a.vhd", SIZE);
        Path b = TestVms.dynamicVhd(dir, "b.vhd", SIZE);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong requests = new AtomicLong();
        CountDownLatch sawLun1 = new CountDownLatch(1);
        CountDownLatch lun1Gone = new CountDownLatch(1);
        AtomicReference<String> failure = new AtomicReference<>();
        try (Hypervisor h = TestVms.hypervisor(dir.resolve("vms"), SyntheticStorage.create())) {
            VirtualMachine vm = TestVms.vm(h, "vm", TestVms.scsi(0, 0, a));
            vm.start(busyGuest(stop, requests, sawLun1, lun1Gone, failure));
            awaitPast(requests, 100);
            SyntheticStorage.hotAdd(vm, TestVms.scsi(0, 1, b));
            assertTrue(sawLun1.await(10, TimeUnit.SECONDS), "the guest never saw the new disk");
            assertTrue(vm.configuration().attachment(Slot.scsi(0, 1)).isPresent(), "the configuration records it");
            long before = requests.get();
            assertEquals(org.vhdkit.stack.vm.VmState.RUNNING, vm.state(), () -> vm.lastStopReason().toString());
            assertEquals(TestVms.scsi(0, 1, b), SyntheticStorage.hotRemove(vm, Slot.scsi(0, 1)));
            assertTrue(lun1Gone.await(10, TimeUnit.SECONDS), "the guest never saw the disk go");
            awaitPast(requests, before + 100, failure);
            assertFalse(vm.configuration().attachment(Slot.scsi(0, 1)).isPresent());
            stop.set(true);
            vm.turnOff();
        }
        assertEquals(null, failure.get());
        try (VhdDisk d = Vhd.openReadOnly(b)) { // closed by the hot remove, and holding what the guest wrote
            byte[] sector = new byte[512];
            for (int s = 0; s < 128; s++) {
                d.read(512L * s, sector);
                assertArrayEquals(Workload.expectedSector(s, SEED), sector);
            }
        }
    }

    @Test
    void aControllersOnlyDiskIsAnnouncedWithEnumerateBus() throws Exception {
        Path a = TestVms.dynamicVhd(dir, "a.vhd", SIZE);
        Path b = TestVms.dynamicVhd(dir, "b.vhd", SIZE);
        AtomicReference<Long> seenLun = new AtomicReference<>();
        AtomicBoolean stop = new AtomicBoolean();
        CountDownLatch ready = new CountDownLatch(1);
        CountDownLatch seen = new CountDownLatch(1);
        try (Hypervisor h = TestVms.hypervisor(dir.resolve("vms"), SyntheticStorage.create())) {
            VirtualMachine vm = TestVms.vm(h, "vm", TestVms.scsi(0, 0, a));
            vm.start(ctx -> {
                try (Storvsc storvsc = Storvsc.open(ctx, new GuestPages(ctx.memory(), Workload.DRIVER_PAGES,
                        Workload.DRIVER_PAGES_LENGTH))) {
                    StorvscController c = storvsc.controllers().getFirst();
                    ready.countDown();
                    while (!stop.get()) {
                        c.pollCompletion(); // idle: only the parent's messages arrive
                        if (c.disk(0).isEmpty() && c.disk(5).isPresent()) {
                            seenLun.set(c.busMessages());
                            seen.countDown();
                        }
                        ctx.safePoint();
                        java.util.concurrent.locks.LockSupport.parkNanos(100_000);
                    }
                }
            });
            assertTrue(ready.await(10, TimeUnit.SECONDS));
            SyntheticStorage.hotRemove(vm, Slot.scsi(0, 0));
            SyntheticStorage.hotAdd(vm, TestVms.scsi(0, 5, b));
            assertTrue(seen.await(10, TimeUnit.SECONDS), "the guest never rescanned");
            assertTrue(seenLun.get() >= 1, "ENUMERATE_BUS told the guest");
            stop.set(true);
            vm.turnOff();
        }
        try (Hypervisor h = TestVms.hypervisor(dir.resolve("vms"), SyntheticStorage.create())) {
            VirtualMachine vm = h.get("vm");
            assertEquals(java.util.List.of(TestVms.scsi(0, 5, b)), vm.configuration().attachments(),
                    "the hot changes were stored");
        }
    }

    @Test
    void hotPlugsAreRefusedWhereHyperVRefusesThem() throws Exception {
        Path a = TestVms.dynamicVhd(dir, "a.vhd", SIZE);
        Path b = TestVms.dynamicVhd(dir, "b.vhd", SIZE);
        try (Hypervisor h = TestVms.hypervisor(dir.resolve("vms"), SyntheticStorage.create())) {
            VirtualMachine vm = TestVms.vm(h, "vm", TestVms.scsi(0, 0, a));
            VmException off = assertThrows(VmException.class,
                    () -> SyntheticStorage.hotAdd(vm, TestVms.scsi(0, 1, b)));
            assertTrue(off.getMessage().contains("it is Off"), off.getMessage());
            vm.start(g -> { });
            VmException ide = assertThrows(VmException.class,
                    () -> SyntheticStorage.hotAdd(vm, Attachment.disk(Slot.ide(0, 1), b)));
            assertTrue(ide.getMessage().contains("only SCSI"), ide.getMessage());
            VmException taken = assertThrows(VmException.class,
                    () -> SyntheticStorage.hotAdd(vm, TestVms.scsi(0, 0, b)));
            assertTrue(taken.getMessage().contains("already holds"), taken.getMessage());
            VmException twice = assertThrows(VmException.class,
                    () -> SyntheticStorage.hotAdd(vm, TestVms.scsi(1, 0, a)));
            assertTrue(twice.getMessage().contains("already attached"), twice.getMessage());
            VmException missing = assertThrows(VmException.class,
                    () -> SyntheticStorage.hotAdd(vm, TestVms.scsi(0, 2, dir.resolve("missing.vhd"))));
            assertTrue(missing.getMessage().contains("missing.vhd"), missing.getMessage());
            assertEquals(1, vm.configuration().attachments().size(), "nothing refused was recorded");
            assertThrows(VmException.class, () -> SyntheticStorage.hotRemove(vm, Slot.scsi(0, 3)));
            SyntheticStorage.hotAdd(vm, TestVms.scsi(2, 0, b)); // a new controller is offered
            assertTrue(SyntheticStorage.controller(vm, 2).isPresent());
            vm.turnOff();
        }
    }

    private static void awaitPast(AtomicLong counter, long value) throws InterruptedException {
        awaitPast(counter, value, new AtomicReference<>());
    }

    private static void awaitPast(AtomicLong counter, long value, AtomicReference<String> failure)
            throws InterruptedException {
        long deadline = System.nanoTime() + TestVms.GUEST_WAIT.toNanos();
        while (counter.get() < value) {
            assertTrue(System.nanoTime() < deadline, "the guest stalls at " + counter.get() + ": " + failure.get());
            Thread.sleep(1);
        }
    }
}
