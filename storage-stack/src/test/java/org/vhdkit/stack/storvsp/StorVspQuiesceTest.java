package org.vhdkit.stack.storvsp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.stack.protocol.storage.StorageProtocol.DATA_IN;
import static org.vhdkit.stack.protocol.storage.StorageProtocol.VERSION_THRESHOLD;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.vhdkit.stack.scsi.ScsiDisk;
import org.vhdkit.stack.vmbus.GpaRangeList;
import org.vhdkit.vhd.disk.Extent;
import org.vhdkit.vhd.disk.MemoryDisk;
import org.vhdkit.vhd.disk.VirtualDisk;

/**
 * Quiescing a provider whose request hangs in the host disk: quiesce gives up after its (short)
 * timeout and says so; once the request ends, quiesce succeeds, and nothing of the provider touches
 * the disk any more.
 */
@Timeout(60)
class StorVspQuiesceTest {
    /** A disk whose reads wait until {@link #release} is counted down; counts the reads that started. */
    private static final class HangingDisk implements VirtualDisk {
        final MemoryDisk memory = MemoryDisk.create("hanging", 1 << 20);
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        final AtomicInteger reads = new AtomicInteger();

        @Override
        public String name() {
            return "hanging";
        }

        @Override
        public long size() {
            return memory.size();
        }

        @Override
        public boolean isReadOnly() {
            return false;
        }

        @Override
        public void read(long offset, MemorySegment dst, long dstOffset, long length) throws IOException {
            reads.incrementAndGet();
            entered.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted");
            }
            memory.read(offset, dst, dstOffset, length);
        }

        @Override
        public void write(long offset, MemorySegment src, long srcOffset, long length) throws IOException {
            memory.write(offset, src, srcOffset, length);
        }

        @Override
        public void flush() {
        }

        @Override
        public List<Extent> extents(long offset, long length) throws IOException {
            return memory.extents(offset, length);
        }

        @Override
        public void close() {
        }
    }

    private static byte[] read16(long lba, int blocks) {
        byte[] cdb = new byte[16];
        cdb[0] = (byte) 0x88;
        cdb[9] = (byte) lba;
        cdb[13] = (byte) blocks;
        return cdb;
    }

    @Test
    void quiesceGivesUpWhileARequestHangsAndSucceedsOnceItEnds() throws Exception {
        try (RawGuest g = new RawGuest("quiesce", 1 << 20)) {
            HangingDisk disk = new HangingDisk();
            g.target.attach(1, ScsiDisk.of(disk, ScsiDisk.Settings.of(UUID.randomUUID())));
            g.initialize(VERSION_THRESHOLD);
            int length = g.srb(VERSION_THRESHOLD, 0, 0, 1, read16(0, 1), DATA_IN, 512);
            g.sendGpa(new GpaRangeList().addBuffer(RawGuest.DATA, 512), length);
            assertTrue(disk.entered.await(30, TimeUnit.SECONDS), "the read reached the disk");
            assertFalse(g.vsp.quiesce(Duration.ofMillis(50)), "a request still runs in the disk");
            disk.release.countDown();
            assertTrue(g.vsp.quiesce(Duration.ofSeconds(30)), "the request ended");
            g.awaitClosed(); // quiescing closed the channel
            assertEquals(1, disk.reads.get(), "nothing more reached the disk");
            assertTrue(g.vsp.quiesce(Duration.ofMillis(1)), "quiescing a quiet provider succeeds at once");
        }
    }
}
