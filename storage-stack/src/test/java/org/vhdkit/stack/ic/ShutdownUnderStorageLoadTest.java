package org.vhdkit.stack.ic;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.guest.GuestPages;
import org.vhdkit.stack.guest.ic.ShutdownGuest;
import org.vhdkit.stack.guest.storvsc.IoStatus;
import org.vhdkit.stack.guest.storvsc.Storvsc;
import org.vhdkit.stack.guest.storvsc.StorvscController;
import org.vhdkit.stack.guest.storvsc.StorvscDisk;
import org.vhdkit.stack.guest.workload.Workload;
import org.vhdkit.stack.storage.SyntheticStorage;
import org.vhdkit.stack.testvm.TestVms;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmState;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.check.CheckReport;
import org.vhdkit.vhd.check.ImageCheck;

/** Shutting down while processor 0 writes with requests in flight: the VM turns Off and nothing completed is lost. */
@Timeout(60)
class ShutdownUnderStorageLoadTest {
    static final long SIZE = 16L << 20;
    static final long SEED = 21;
    static final int CHUNK = 16; // blocks per write
    static final int DEPTH = 8;
    static final int CHUNKS = (int) (SIZE / 512 / CHUNK);

    @TempDir
    Path dir;

    @Test
    void shutdownWhileWritesAreInFlight() throws Exception {
        Path vhd = TestVms.dynamicVhd(dir, "a.vhd", SIZE);
        AtomicIntegerArray completed = new AtomicIntegerArray(CHUNKS);
        AtomicLong writes = new AtomicLong();
        AtomicReference<String> failure = new AtomicReference<>();
        try (Hypervisor h = TestVms.hypervisor(dir.resolve("vms"), SyntheticStorage.create(),
                IntegrationServices.create())) {
            VirtualMachine vm = TestVms.vm(h, "vm", 2, TestVms.scsi(0, 0, vhd));
            vm.start(ctx -> {
                if (ctx.processor() == 1) {
                    try (ShutdownGuest shutdown = ShutdownGuest.open(ctx, IcVms.icPages(ctx))) {
                        shutdown.serve();
                    }
                    return;
                }
                try (Storvsc storvsc = Storvsc.open(ctx, new GuestPages(ctx.memory(), IcVms.DRIVER_PAGES,
                        IcVms.DRIVER_PAGES_LENGTH), DEPTH)) {
                    StorvscDisk disk = storvsc.disk(0, 0).orElseThrow();
                    StorvscController c = disk.controller();
                    int[] chunkOf = new int[1024];
                    for (long next = 0;; next++) {
                        if (c.inFlight() == DEPTH) {
                            release(c, chunkOf, completed, writes, failure);
                        }
                        int chunk = (int) (next % CHUNKS);
                        long lba = (long) chunk * CHUNK;
                        long buffer = IcVms.DRIVER_PAGES + IcVms.DRIVER_PAGES_LENGTH + (next % (2 * DEPTH)) * CHUNK * 512;
                        for (int s = 0; s < CHUNK; s++) {
                            ctx.memory().write(buffer + 512L * s, Workload.expectedSector(lba + s, SEED));
                        }
                        chunkOf[disk.write(lba, CHUNK, buffer)] = chunk;
                    }
                }
            });
            long deadline = System.nanoTime() + IcVms.WAIT.toNanos();
            while (writes.get() < 200) {
                assertTrue(System.nanoTime() < deadline, "the guest does not get writes through: " + vm.lastStopReason());
                Thread.sleep(1);
            }
            IcVms.awaitReady(vm);
            vm.shutDown(IcVms.WAIT); // with writes in flight on processor 0
            assertEquals(VmState.OFF, vm.state());
            assertEquals("the guest powered off", vm.lastStopReason().orElseThrow());
        }
        assertEquals(null, failure.get());
        assertEquals(CheckReport.Status.CLEAN, ImageCheck.check(vhd, ProgressListener.NONE).status());
        try (VhdDisk d = Vhd.openReadOnly(vhd)) {
            byte[] sector = new byte[512];
            int checked = 0;
            for (int chunk = 0; chunk < CHUNKS; chunk++) {
                if (completed.get(chunk) == 0) {
                    continue;
                }
                for (int s = 0; s < CHUNK; s++) {
                    long lba = (long) chunk * CHUNK + s;
                    d.read(lba * 512, sector);
                    assertArrayEquals(Workload.expectedSector(lba, SEED), sector, "LBA " + lba);
                }
                checked++;
            }
            assertTrue(checked > 0);
        }
    }

    private static void release(StorvscController c, int[] chunkOf, AtomicIntegerArray completed, AtomicLong writes,
            AtomicReference<String> failure) throws Exception {
        int tag = c.awaitCompletion();
        if (c.status(tag) != IoStatus.OK) {
            failure.compareAndSet(null, "a write ended " + c.status(tag));
        } else {
            completed.set(chunkOf[tag], 1);
            writes.incrementAndGet();
        }
        c.release(tag);
    }
}
