package org.vhdkit.vhd.image;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;

/**
 * Reads and writes of data a disk already holds allocate nothing on the heap, so a guest doing
 * millions of small I/Os makes no garbage. (Counted with the JVM's per-thread allocation counter,
 * not timed.)
 */
class HotPathAllocationTest {
    private static final int MIB = 1 << 20;
    private static final int IOS = 20_000;

    @TempDir
    Path tmp;

    private static long allocatedBy(Runnable work) {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();
        work.run();
        return threads.getCurrentThreadAllocatedBytes() - before;
    }

    private interface Io {
        void run(long offset) throws IOException;
    }

    private static Runnable ios(Io io, long[] offsets) {
        return () -> {
            try {
                for (long offset : offsets) {
                    io.run(offset);
                }
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        };
    }

    private void assertAllocationFree(VhdDisk disk) {
        long[] offsets = new Random(1).longs(IOS, 0, disk.size() / 4096).map(l -> l * 4096).toArray();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(4096);
            Runnable reads = ios(offset -> disk.read(offset, buffer, 0, 4096), offsets);
            Runnable writes = ios(offset -> disk.write(offset, buffer, 0, 4096), offsets);
            reads.run(); // warm up
            writes.run();
            long read = allocatedBy(reads);
            long written = allocatedBy(writes);
            // A few bytes of slack for the counter itself; one object per I/O would be 20,000 x 16 bytes.
            assertTrue(read < 64 * 1024, disk.type() + ": " + IOS + " reads allocated " + read + " bytes");
            assertTrue(written < 64 * 1024, disk.type() + ": " + IOS + " writes allocated " + written + " bytes");
        }
    }

    @Test
    void dynamicDiskReadsAndWritesOfAllocatedBlocksAllocateNothing() throws IOException {
        try (VhdDisk disk = Vhd.create(tmp.resolve("d.vhd"), CreateOptions.dynamic(16 * MIB))) {
            disk.write(0, new byte[16 * MIB]);
            assertAllocationFree(disk);
        }
    }

    @Test
    void fixedDiskReadsAndWritesAllocateNothing() throws IOException {
        try (VhdDisk disk = Vhd.create(tmp.resolve("f.vhd"), CreateOptions.fixed(16 * MIB))) {
            assertAllocationFree(disk);
        }
    }

    @Test
    void differencingDiskReadsAndWritesOfItsOwnSectorsAllocateNothing() throws IOException {
        try (VhdDisk base = Vhd.create(tmp.resolve("b.vhd"), CreateOptions.dynamic(16 * MIB))) {
            base.flush();
        }
        try (VhdDisk disk = Vhd.create(tmp.resolve("c.vhd"), CreateOptions.differencing(tmp.resolve("b.vhd")))) {
            disk.write(0, new byte[16 * MIB]);
            assertAllocationFree(disk);
        }
    }
}
