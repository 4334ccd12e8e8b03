package org.vhdkit.stack.scsi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.scsi.ScsiCommand.Direction;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.disk.MemoryDisk;
import org.vhdkit.vhd.disk.VirtualDisk;

/**
 * A 4 KiB READ or WRITE into a preallocated buffer, through a reused command, allocates nothing on
 * the heap: from the CDB to the disk and back, and through the target too. (Counted with the JVM's
 * per-thread allocation counter, as vhd-core's HotPathAllocationTest does; not timed.)
 */
class ScsiDiskAllocationTest {
    private static final int IOS = 20_000;
    /** A few bytes of slack for the counter itself; one object per I/O would be 20,000 x 16 bytes. */
    private static final long SLACK = 64 * 1024;
    private static final java.lang.foreign.ValueLayout.OfInt BIG_ENDIAN_INT =
            java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN);

    @TempDir
    Path tmp;

    private static long allocatedBy(Runnable work) {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();
        work.run();
        return threads.getCurrentThreadAllocatedBytes() - before;
    }

    /** {@link #IOS} commands of 8 blocks at pseudo-random LBAs, CDB rebuilt in place each time. */
    private static Runnable commands(VirtualDisk disk, ScsiTarget target, int opcode, Direction direction,
                                     MemorySegment buffer, ScsiCommand c, byte[] cdb, boolean expectGood) {
        long blocks = disk.size() / 512;
        return () -> {
            long lba = 0;
            for (int i = 0; i < IOS; i++) {
                lba = (lba * 6364136223846793005L + 1442695040888963407L) & Long.MAX_VALUE;
                long at = expectGood ? (lba % (blocks / 8)) * 8 : blocks + lba % 1000;
                cdb[0] = (byte) opcode;
                cdb[2] = (byte) (at >>> 24);
                cdb[3] = (byte) (at >>> 16);
                cdb[4] = (byte) (at >>> 8);
                cdb[5] = (byte) at;
                cdb[8] = 8;
                c.cdb(cdb).data(buffer, direction);
                target.execute(0, c);
                if ((c.status() == ScsiStatus.GOOD) != expectGood) {
                    throw new AssertionError(c.toString());
                }
            }
        };
    }

    private static void assertAllocationFree(VirtualDisk disk) {
        ScsiTarget target = new ScsiTarget("t", 64);
        target.attach(0, ScsiDisk.of(disk, ScsiDisk.Settings.of(new UUID(1, 2))));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(4096);
            ScsiCommand c = new ScsiCommand();
            byte[] cdb = new byte[10];
            Runnable reads = commands(disk, target, 0x28, Direction.IN, buffer, c, cdb, true);
            Runnable writes = commands(disk, target, 0x2A, Direction.OUT, buffer, c, cdb, true);
            Runnable refused = commands(disk, target, 0x28, Direction.IN, buffer, c, cdb, false);
            reads.run(); // warm up
            writes.run();
            refused.run();
            long read = allocatedBy(reads);
            long written = allocatedBy(writes);
            long errors = allocatedBy(refused);
            assertTrue(read < SLACK, disk.name() + ": " + IOS + " READ(10)s allocated " + read + " bytes");
            assertTrue(written < SLACK, disk.name() + ": " + IOS + " WRITE(10)s allocated " + written + " bytes");
            assertTrue(errors < SLACK, disk.name() + ": " + IOS + " refused READ(10)s allocated " + errors + " bytes");
            assertEquals(4096, c.dataLength());

            // As a StorVSP does it: the CDB copied out of a packet, the data in two page runs of guest memory.
            MemorySegment packet = arena.allocate(64);
            MemorySegment guest = arena.allocate(64 * 1024);
            long blocks = disk.size() / 512;
            Runnable scattered = () -> {
                for (int i = 0; i < IOS; i++) {
                    long at = (i * 8L) % blocks;
                    packet.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 20, (byte) 0x28);
                    packet.set(BIG_ENDIAN_INT, 22, (int) at);
                    packet.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 28, (byte) 8);
                    c.cdb(packet, 20, 10).scatter(guest, Direction.IN).addRange(8192 + 100, 1000).addRange(40_000, 3096);
                    target.execute(0, c);
                    if (c.status() != ScsiStatus.GOOD || c.transferred() != 4096) {
                        throw new AssertionError(c.toString());
                    }
                }
            };
            scattered.run();
            long gathered = allocatedBy(scattered);
            assertTrue(gathered < SLACK, disk.name() + ": " + IOS + " scattered READ(10)s allocated " + gathered);
        }
    }

    @Test
    void readsAndWritesOfAMemoryDiskAllocateNothing() {
        try (MemoryDisk disk = MemoryDisk.create("memory", 16 << 20)) {
            assertAllocationFree(disk);
        }
    }

    @Test
    void readsAndWritesOfADynamicVhdAllocateNothing() throws IOException {
        try (VhdDisk disk = Vhd.create(tmp.resolve("d.vhd"), CreateOptions.dynamic(16 << 20))) {
            disk.write(0, new byte[16 << 20]); // allocate every block first: allocating writes may allocate
            assertAllocationFree(disk);
        }
    }
}
