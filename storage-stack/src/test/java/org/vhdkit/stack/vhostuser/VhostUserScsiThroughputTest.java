package org.vhdkit.stack.vhostuser;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.vhdkit.stack.protocol.vhostuser.VhostUser.*;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.protocol.vhostuser.VirtioScsi;
import org.vhdkit.stack.scsi.ScsiDisk;
import org.vhdkit.stack.scsi.ScsiTarget;
import org.vhdkit.stack.vhostuser.TestFrontEnd.Ring;
import org.vhdkit.vhd.disk.MemoryDisk;

/**
 * The backend's own cost per request, without a guest: 4 KiB random READ(10)s from a memory disk
 * at queue depth 1 and 32 through one request queue, driven by {@link TestFrontEnd}; prints
 * requests per second and the request queue worker's CPU time per request. A measurement, not a
 * check: runs only with {@code -Dvhdkit.long=true}.
 */
class VhostUserScsiThroughputTest {
    private static final int REQUESTS = 50_000;

    @TempDir
    Path dir;

    @Test
    void fourKibRandomReads() throws Exception {
        Assumptions.assumeTrue(Boolean.getBoolean("vhdkit.long"), "a measurement: -Dvhdkit.long=true");
        ScsiTarget target = new ScsiTarget("bench", 1);
        MemoryDisk disk = MemoryDisk.create("bench", 64 << 20);
        target.attach(0, ScsiDisk.of(disk, ScsiDisk.Settings.of(UUID.randomUUID())));
        try (VhostUserScsi backend = VhostUserScsi.start(dir.resolve("b.sock"), target, new VhostUserScsi.Options(1),
                line -> { });
             TestFrontEnd f = TestFrontEnd.connect(backend.socket())) {
            f.handshake(1L << F_VERSION_1 | 1L << F_PROTOCOL_FEATURES | 1L << F_RING_EVENT_IDX);
            Ring q = f.ring(VirtioScsi.FIRST_REQUEST_QUEUE);
            for (int depth : new int[] {1, 32}) {
                run(f, q, depth, REQUESTS / 10); // warm-up
                long cpu0 = workerCpu();
                long t0 = System.nanoTime();
                run(f, q, depth, REQUESTS);
                long wall = System.nanoTime() - t0;
                long cpu = workerCpu() - cpu0;
                System.out.printf("vhost-user-scsi 4 KiB random reads, QD %d: %.0f requests/s, worker CPU %.2f us"
                        + " per request (%.0f requests per CPU second)%n", depth, REQUESTS * 1e9 / wall,
                        cpu / 1e3 / REQUESTS, REQUESTS * 1e9 / Math.max(cpu, 1));
            }
        }
    }

    private static long workerCpu() {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().equals("vhost-user-scsi request 0")) {
                return mx.getThreadCpuTime(t.threadId());
            }
        }
        throw new AssertionError("no request queue worker");
    }

    /** {@code count} READ(10)s of 8 blocks at random LBAs, {@code depth} in flight. */
    private static void run(TestFrontEnd f, Ring q, int depth, int count) throws Exception {
        Random random = new Random(depth);
        int submitted = 0;
        int completed = 0;
        for (int slot = 0; slot < depth; slot++) {
            long header = TestFrontEnd.BUFFERS + 0x100L * slot;
            long response = TestFrontEnd.BUFFERS + 0x4000 + 0x100L * slot;
            long data = TestFrontEnd.BUFFERS + 0x10000 + 0x1000L * slot;
            MemorySegment h = f.guest.asSlice(header, VirtioScsi.REQUEST_LENGTH);
            h.fill((byte) 0);
            VirtioScsi.putLun(h, 0, 0);
            h.set(ValueLayout.JAVA_BYTE, VirtioScsi.REQ_CDB, (byte) 0x28);
            h.set(ValueLayout.JAVA_BYTE, VirtioScsi.REQ_CDB + 8, (byte) 8);
            int d = 3 * slot;
            q.descriptor(d, header, VirtioScsi.REQUEST_LENGTH, SplitRing.DESC_F_NEXT, d + 1);
            q.descriptor(d + 1, response, VirtioScsi.RESPONSE_LENGTH, SplitRing.DESC_F_WRITE | SplitRing.DESC_F_NEXT,
                    d + 2);
            q.descriptor(d + 2, data, 4096, SplitRing.DESC_F_WRITE, 0);
        }
        for (int slot = 0; slot < depth && submitted < count; slot++, submitted++) {
            lba(f, slot, random);
            q.publish(3 * slot);
        }
        while (completed < count) {
            int[] used = q.awaitUsed();
            assertEquals(VirtioScsi.RESPONSE_LENGTH + 4096, used[1]);
            completed++;
            if (submitted < count) {
                lba(f, used[0] / 3, random);
                q.publish(used[0]);
                submitted++;
            }
        }
    }

    private static void lba(TestFrontEnd f, int slot, Random random) {
        int lba = random.nextInt((64 << 20) / 512 / 8) * 8;
        long cdb = TestFrontEnd.BUFFERS + 0x100L * slot + VirtioScsi.REQ_CDB;
        f.guest.set(ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN), cdb + 2, lba);
    }
}
