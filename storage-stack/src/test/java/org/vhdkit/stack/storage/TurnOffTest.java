package org.vhdkit.stack.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
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
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.check.CheckReport;
import org.vhdkit.vhd.check.ImageCheck;

/** Pulling the plug while requests are in flight loses nothing the guest was told is durable. */
class TurnOffTest {
    static final long SIZE = 64L << 20;
    static final long SEED = 99;
    static final int CHUNK = 16; // blocks per write
    static final int DEPTH = 8;

    @TempDir
    Path dir;

    /** Writes the pattern forever, 8 in flight; after every 64 writes drains, flushes and publishes how far is durable. */
    static GuestProgram writer(AtomicLong durable, AtomicReference<String> failure) {
        return ctx -> {
            if (ctx.processor() != 0) {
                return;
            }
            try (Storvsc storvsc = Storvsc.open(ctx, new GuestPages(ctx.memory(), Workload.DRIVER_PAGES,
                    Workload.DRIVER_PAGES_LENGTH), DEPTH)) {
                StorvscDisk disk = storvsc.disk(0, 0).orElseThrow();
                StorvscController c = disk.controller();
                long chunks = disk.blocks() / CHUNK;
                long next = 0;
                while (true) {
                    for (int batch = 0; batch < 64; batch++) {
                        if (c.inFlight() == DEPTH) {
                            release(c, failure);
                        }
                        long lba = (next % chunks) * CHUNK;
                        // a buffer is reused only after its request finished: 2 x DEPTH buffers, DEPTH in flight,
                        // completions in order
                        long buffer = Workload.BUFFERS + (next % (2 * DEPTH)) * CHUNK * 512;
                        for (int s = 0; s < CHUNK; s++) {
                            ctx.memory().write(buffer + 512L * s, Workload.expectedSector(lba + s, SEED));
                        }
                        disk.write(lba, CHUNK, buffer);
                        next++;
                    }
                    while (c.inFlight() > 0) {
                        release(c, failure);
                    }
                    disk.flush();
                    release(c, failure);
                    durable.set(Math.min(next, chunks) * CHUNK);
                }
            }
        };
    }

    private static void release(StorvscController c, AtomicReference<String> failure) throws Exception {
        int tag = c.awaitCompletion();
        if (c.status(tag) != IoStatus.OK) {
            failure.compareAndSet(null, "a request ended " + c.status(tag));
        }
        c.release(tag);
    }

    @Test
    void nothingAcknowledgedAfterAFlushIsLost() throws Exception {
        Path vhd = TestVms.dynamicVhd(dir, "a.vhd", SIZE);
        AtomicLong durable = new AtomicLong(-1);
        AtomicReference<String> failure = new AtomicReference<>();
        long kept;
        try (Hypervisor h = TestVms.hypervisor(dir.resolve("vms"), SyntheticStorage.create())) {
            VirtualMachine vm = TestVms.vm(h, "vm", TestVms.scsi(0, 0, vhd));
            vm.start(writer(durable, failure));
            long deadline = System.nanoTime() + TestVms.GUEST_WAIT.toNanos();
            while (durable.get() < 3 * 64 * CHUNK) {
                assertTrue(System.nanoTime() < deadline, "the guest does not get three flushes through");
                Thread.onSpinWait();
            }
            vm.turnOff(); // with writes in flight
            kept = durable.get();
        }
        assertEquals(null, failure.get());
        assertEquals(CheckReport.Status.CLEAN, ImageCheck.check(vhd, ProgressListener.NONE).status());
        try (VhdDisk d = Vhd.openReadOnly(vhd)) {
            byte[] sector = new byte[512];
            for (long lba = 0; lba < kept; lba++) {
                d.read(lba * 512, sector);
                assertArrayEquals(Workload.expectedSector(lba, SEED), sector, "LBA " + lba + " of " + kept);
            }
        }
    }
}
