package org.vhdkit.stack.storvsp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.stack.protocol.storage.StorageProtocol.DATA_IN;
import static org.vhdkit.stack.protocol.storage.StorageProtocol.VERSION_THRESHOLD;

import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.vhdkit.stack.scsi.ScsiDisk;
import org.vhdkit.stack.testvm.FaultyDisk;
import org.vhdkit.stack.vmbus.GpaRangeList;

/**
 * Quiescing a provider whose request hangs in the host disk: quiesce gives up after its (short)
 * timeout and says so; once the request ends, quiesce succeeds, and nothing of the provider touches
 * the disk any more.
 */
@Timeout(60)
class StorVspQuiesceTest {
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
            FaultyDisk disk = new FaultyDisk(1 << 20).holdReads();
            g.target.attach(1, ScsiDisk.of(disk, ScsiDisk.Settings.of(UUID.randomUUID())));
            g.initialize(VERSION_THRESHOLD);
            int length = g.srb(VERSION_THRESHOLD, 0, 0, 1, read16(0, 1), DATA_IN, 512);
            g.sendGpa(new GpaRangeList().addBuffer(RawGuest.DATA, 512), length);
            assertTrue(disk.readWaiting.await(30, TimeUnit.SECONDS), "the read reached the disk");
            assertFalse(g.vsp.quiesce(Duration.ofMillis(50)), "a request still runs in the disk");
            disk.releaseReads();
            assertTrue(g.vsp.quiesce(Duration.ofSeconds(30)), "the request ended");
            g.awaitClosed(); // quiescing closed the channel
            assertEquals(1, disk.reads.get(), "nothing more reached the disk");
            assertTrue(g.vsp.quiesce(Duration.ofMillis(1)), "quiescing a quiet provider succeeds at once");
        }
    }
}
