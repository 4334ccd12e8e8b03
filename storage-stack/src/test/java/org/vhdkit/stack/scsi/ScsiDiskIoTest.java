package org.vhdkit.stack.scsi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.stack.scsi.Scsi.in;
import static org.vhdkit.stack.scsi.Scsi.out;
import static org.vhdkit.stack.scsi.Scsi.run;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.scsi.ScsiCommand.Direction;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.disk.VirtualDisk;

/** Data through READ, WRITE, WRITE SAME, UNMAP and the flushes, to memory and to a real dynamic VHD. */
class ScsiDiskIoTest {
    private static final UUID ID = UUID.fromString("0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0ff");

    @TempDir
    Path tmp;

    private static byte[] pattern(int length, long seed) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static byte[] diskBytes(VirtualDisk disk, long offset, int length) throws IOException {
        byte[] b = new byte[length];
        disk.read(offset, b);
        return b;
    }

    @Test
    void everyReadAndWriteFormMovesTheRightBlocks() throws IOException {
        try (TestDisk disk = new TestDisk(1 << 20)) {
            ScsiDisk unit = ScsiDisk.of(disk, ScsiDisk.Settings.of(ID));
            byte[] a = pattern(512, 1);
            out(unit, Scsi.rw6(true, 7, 1), a).good(512);
            assertArrayEquals(a, diskBytes(disk, 7 * 512, 512));
            assertArrayEquals(a, in(unit, Scsi.rw6(false, 7, 1), 512).good(512).returned());

            byte[] b = pattern(3 * 512, 2);
            out(unit, Scsi.rw10(true, 100, 3, 0), b).good(1536);
            assertArrayEquals(b, diskBytes(disk, 100 * 512, 1536));
            assertArrayEquals(b, in(unit, Scsi.rw10(false, 100, 3, 0), 1536).good(1536).returned());

            byte[] c = pattern(8 * 512, 3);
            out(unit, Scsi.rw12(true, 1000, 8, 0), c).good(4096);
            assertArrayEquals(c, diskBytes(disk, 1000 * 512, 4096));
            assertArrayEquals(c, in(unit, Scsi.rw12(false, 1000, 8, 0), 4096).good(4096).returned());

            byte[] d = pattern(2 * 512, 4);
            out(unit, Scsi.rw16(true, 2046, 2, 0), d).good(1024);
            assertArrayEquals(d, diskBytes(disk, 2046 * 512, 1024));
            assertArrayEquals(d, in(unit, Scsi.rw16(false, 2046, 2, 0), 1024).good(1024).returned());
            assertTrue(disk.outside.isEmpty());
        }
    }

    @Test
    void transferLengthZeroMeans256BlocksInTheSixByteFormsAndNothingInTheOthers() throws IOException {
        try (TestDisk disk = new TestDisk(1 << 20)) {
            ScsiDisk unit = ScsiDisk.of(disk, ScsiDisk.Settings.of(ID));
            byte[] all = pattern(256 * 512, 5);
            out(unit, Scsi.rw6(true, 10, 0), all).good(256 * 512);
            assertArrayEquals(all, diskBytes(disk, 10 * 512, all.length));
            assertArrayEquals(all, in(unit, Scsi.rw6(false, 10, 0), all.length).good(all.length).returned());

            int writesBefore = disk.writes.get();
            out(unit, Scsi.rw10(true, 10, 0, 0), new byte[512]).good(0);
            out(unit, Scsi.rw12(true, 10, 0, 0), new byte[0]).good(0);
            out(unit, Scsi.rw16(true, 10, 0, 0), new byte[0]).good(0);
            assertEquals(writesBefore, disk.writes.get());
            in(unit, Scsi.rw10(false, 10, 0, 0), 0).good(0);
            Scsi.run(unit, Scsi.rw16(false, 10, 0, 0), Direction.NONE, new byte[0]).good(0);
        }
    }

    @Test
    void aFuaWriteFlushesAndAPlainOneDoesNot() throws IOException {
        try (TestDisk disk = new TestDisk(1 << 20)) {
            ScsiDisk unit = ScsiDisk.of(disk, ScsiDisk.Settings.of(ID));
            out(unit, Scsi.rw10(true, 0, 1, 0), new byte[512]).good(512);
            assertEquals(0, disk.flushes.get());
            out(unit, Scsi.rw10(true, 0, 1, 0x08), new byte[512]).good(512);
            out(unit, Scsi.rw12(true, 0, 1, 0x08), new byte[512]).good(512);
            out(unit, Scsi.rw16(true, 0, 1, 0x08), new byte[512]).good(512);
            assertEquals(3, disk.flushes.get());
            in(unit, Scsi.rw10(false, 0, 1, 0x08), 512).good(512); // FUA on a read: nothing to flush
            assertEquals(3, disk.flushes.get());
            run(unit, Scsi.lba10(0x35, 0, 0, 0)).good(0);
            run(unit, Scsi.lba16(0x91, 0x02, 10, 100)).good(0); // IMMED
            assertEquals(5, disk.flushes.get());
        }
    }

    @Test
    void scatteredUnalignedRangesNearTheEndOfTheDisk() throws IOException {
        try (TestDisk disk = new TestDisk(1 << 20); Arena arena = Arena.ofConfined()) {
            ScsiDisk unit = ScsiDisk.of(disk, ScsiDisk.Settings.of(ID));
            long blocks = disk.size() / 512;
            MemorySegment memory = arena.allocate(64 * 1024);
            byte[] data = pattern(4 * 512, 6);
            // Four blocks in ranges that cut blocks anywhere: 700 + 1 + 999 + 348 = 2048.
            long[][] ranges = {{40_000, 700}, {123, 1}, {9_000, 999}, {60_000, 348}};
            int at = 0;
            for (long[] r : ranges) {
                MemorySegment.copy(data, at, memory, ValueLayout.JAVA_BYTE, r[0], (int) r[1]);
                at += (int) r[1];
            }
            ScsiCommand c = new ScsiCommand().cdb(Scsi.rw16(true, blocks - 4, 4, 0)).scatter(memory, Direction.OUT);
            for (long[] r : ranges) {
                c.addRange(r[0], r[1]);
            }
            unit.execute(c);
            assertEquals(ScsiStatus.GOOD, c.status());
            assertEquals(2048, c.transferred());
            assertArrayEquals(data, diskBytes(disk, disk.size() - 2048, 2048));

            memory.fill((byte) 0);
            c.cdb(Scsi.rw16(false, blocks - 4, 4, 0)).scatter(memory, Direction.IN);
            for (long[] r : ranges) {
                c.addRange(r[0], r[1]);
            }
            c.addRange(30_000, 5000); // more buffer than the transfer: left alone, counted as residual
            unit.execute(c);
            assertEquals(2048, c.transferred());
            assertEquals(5000, c.residual());
            byte[] back = new byte[2048];
            at = 0;
            for (long[] r : ranges) {
                MemorySegment.copy(memory, ValueLayout.JAVA_BYTE, r[0], back, at, (int) r[1]);
                at += (int) r[1];
            }
            assertArrayEquals(data, back);
            assertEquals(-1, memory.asSlice(30_000, 5000).mismatch(arena.allocate(5000)));
            assertTrue(disk.outside.isEmpty());
        }
    }

    @Test
    void readsAndWritesThroughADynamicVhdSurviveReopening() throws IOException {
        Path file = tmp.resolve("disk.vhd");
        long size = 5L << 20; // three 2 MiB blocks, the last one partly used
        byte[] acrossBlocks = pattern(64 * 1024, 7);
        byte[] atTheEnd = pattern(3 * 512, 8);
        byte[] scattered = pattern(512 * 5, 9);
        try (VhdDisk vhd = Vhd.create(file, CreateOptions.dynamic(size))) {
            ScsiDisk unit = ScsiDisk.of(vhd, ScsiDisk.Settings.of(vhd.footer().uniqueId()));
            long blocks = vhd.size() / 512;
            long boundary = (2L << 20) / 512 - 64; // straddles the first 2 MiB block boundary
            out(unit, Scsi.rw10(true, boundary, 128, 0), acrossBlocks).good(acrossBlocks.length);
            out(unit, Scsi.rw16(true, blocks - 3, 3, 0x08), atTheEnd).good(atTheEnd.length);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment memory = arena.allocate(8192);
                MemorySegment.copy(scattered, 0, memory, ValueLayout.JAVA_BYTE, 1, 1000);
                MemorySegment.copy(scattered, 1000, memory, ValueLayout.JAVA_BYTE, 4097, scattered.length - 1000);
                ScsiCommand c = new ScsiCommand().cdb(Scsi.rw12(true, blocks - 9, 5, 0))
                        .scatter(memory, Direction.OUT).addRange(1, 1000).addRange(4097, scattered.length - 1000);
                unit.execute(c);
                assertEquals(ScsiStatus.GOOD, c.status());
            }
            run(unit, Scsi.lba10(0x35, 0, 0, 0)).good(0);
            assertArrayEquals(acrossBlocks, in(unit, Scsi.rw10(false, boundary, 128, 0), acrossBlocks.length)
                    .good(acrossBlocks.length).returned());
        }
        try (VhdDisk vhd = Vhd.openReadOnly(file)) {
            ScsiDisk unit = ScsiDisk.of(vhd, ScsiDisk.Settings.of(vhd.footer().uniqueId()));
            long blocks = vhd.size() / 512;
            assertTrue(unit.isReadOnly());
            long boundary = (2L << 20) / 512 - 64;
            assertArrayEquals(acrossBlocks, in(unit, Scsi.rw10(false, boundary, 128, 0), acrossBlocks.length)
                    .good(acrossBlocks.length).returned());
            assertArrayEquals(atTheEnd, in(unit, Scsi.rw16(false, blocks - 3, 3, 0), 1536).good(1536).returned());
            assertArrayEquals(scattered, in(unit, Scsi.rw12(false, blocks - 9, 5, 0), 2560).good(2560).returned());
            // Never written: zeros.
            assertArrayEquals(new byte[4096], in(unit, Scsi.read10(0, 8), 4096).good(4096).returned());
            in(unit, Scsi.read10(blocks, 1), 512).check(Scsi.LBA_OUT_OF_RANGE);
            out(unit, Scsi.write10(0, 1), new byte[512]).check(Scsi.WRITE_PROTECTED);
        }
    }

    @Test
    void writeSameWritesOneBlockEverywhereAndWithUnmapDiscards() throws IOException {
        try (TestDisk disk = new TestDisk(1 << 20)) {
            ScsiDisk unit = ScsiDisk.of(disk, ScsiDisk.Settings.of(ID).withUnmap(true));
            byte[] block = pattern(512, 10);
            byte[] more = Arrays.copyOf(block, 4096); // a longer buffer: only its first block counts
            out(unit, Scsi.lba10(0x41, 0, 20, 7), more).good(512);
            for (int i = 0; i < 7; i++) {
                assertArrayEquals(block, diskBytes(disk, (20 + i) * 512L, 512));
            }
            assertArrayEquals(new byte[512], diskBytes(disk, 27 * 512L, 512));
            out(unit, Scsi.lba16(0x93, 0, 2048 - 512, 512), block).good(512);
            assertArrayEquals(block, diskBytes(disk, 2047 * 512L, 512));

            out(unit, Scsi.lba16(0x93, 0x08, 100, 16), new byte[512]).good(512);
            out(unit, Scsi.lba10(0x41, 0x08, 300, 1), new byte[512]).good(512);
            assertEquals(List.of("51200+8192", "153600+512"), discards(disk));
        }
    }

    private static List<String> discards(TestDisk disk) {
        List<String> all = new ArrayList<>();
        for (long[] d : disk.discards) {
            all.add(d[0] + "+" + d[1]);
        }
        return all;
    }

    @Test
    void unmapDiscardsEveryDescriptorAfterCheckingThemAll() throws IOException {
        try (TestDisk disk = new TestDisk(1 << 20)) {
            ScsiDisk unit = ScsiDisk.of(disk, ScsiDisk.Settings.of(ID).withUnmap(true));
            byte[] list = Scsi.unmapList(0, 8, 2040, 8, 500, 0, 1000, 1);
            out(unit, Scsi.unmap(list.length), list).good(list.length);
            assertEquals(List.of("0+4096", "1044480+4096", "512000+512"), discards(disk));
        }
    }

    @Test
    void unmapIgnoresAPartialLastDescriptorAndAnEmptyList() throws IOException {
        try (TestDisk disk = new TestDisk(1 << 20)) {
            ScsiDisk unit = ScsiDisk.of(disk, ScsiDisk.Settings.of(ID).withUnmap(true));
            byte[] list = Scsi.unmapList(4, 4, 0, 0);
            Scsi.put(list, 2, 2, 16 + 15); // the descriptor data length claims 1 and 15/16 descriptors
            out(unit, Scsi.unmap(list.length - 1), list).good(list.length - 1);
            assertEquals(List.of("2048+2048"), discards(disk));
            // The header claims more descriptors than the list holds: only those inside count.
            byte[] claims = Scsi.unmapList(8, 1);
            Scsi.put(claims, 2, 2, 16 * 200);
            out(unit, Scsi.unmap(claims.length), claims).good(claims.length);
            out(unit, Scsi.unmap(0), new byte[0]).good(0);
            out(unit, Scsi.unmap(8), Scsi.unmapList()).good(8);
            assertEquals(List.of("2048+2048", "4096+512"), discards(disk));
        }
    }

    /** A model: random valid reads and writes in random scatter layouts, checked against an array. */
    @Test
    void randomReadsAndWritesAgreeWithAModel() throws IOException {
        int size = 256 * 1024;
        byte[] model = new byte[size];
        Random random = new Random(42);
        try (TestDisk disk = new TestDisk(size); Arena arena = Arena.ofConfined()) {
            ScsiDisk unit = ScsiDisk.of(disk, ScsiDisk.Settings.of(ID));
            MemorySegment memory = arena.allocate(128 * 1024);
            ScsiCommand c = new ScsiCommand();
            int blocks = size / 512;
            for (int i = 0; i < 2000; i++) {
                int count = 1 + random.nextInt(32);
                int lba = random.nextInt(blocks - count + 1);
                boolean write = random.nextBoolean();
                int bytes = count * 512;
                byte[] cdb = switch (random.nextInt(4)) {
                    case 0 -> Scsi.rw6(write, lba, count);
                    case 1 -> Scsi.rw10(write, lba, count, random.nextBoolean() ? 0x08 : 0);
                    case 2 -> Scsi.rw12(write, lba, count, 0);
                    default -> Scsi.rw16(write, lba, count, 0x10);
                };
                // Cut the buffer into 1 to 6 ranges at random places, in a random order in memory.
                int pieces = 1 + random.nextInt(6);
                int[] cuts = random.ints(pieces - 1, 1, bytes).sorted().toArray();
                c.cdb(cdb).scatter(memory, write ? Direction.OUT : Direction.IN);
                byte[] data = pattern(bytes, i);
                int from = 0;
                for (int p = 0; p < pieces; p++) {
                    int to = p < pieces - 1 ? cuts[p] : bytes;
                    long where = (long) p * 20_000 + random.nextInt(20_000 - (to - from) % 20_000 + 1);
                    where = Math.min(where, memory.byteSize() - (to - from));
                    if (write) {
                        MemorySegment.copy(data, from, memory, ValueLayout.JAVA_BYTE, where, to - from);
                    }
                    c.addRange(where, to - from);
                    from = to;
                }
                unit.execute(c);
                assertEquals(ScsiStatus.GOOD, c.status(), c::toString);
                assertEquals(bytes, c.transferred());
                if (write) {
                    // Ranges may overlap in memory; the model takes what the ranges held in order.
                    byte[] sent = gather(memory, c, bytes);
                    System.arraycopy(sent, 0, model, lba * 512, bytes);
                } else {
                    assertArrayEquals(Arrays.copyOfRange(model, lba * 512, lba * 512 + bytes), gather(memory, c, bytes));
                }
            }
            assertArrayEquals(model, diskBytes(disk, 0, size));
        }
    }

    private static byte[] gather(MemorySegment memory, ScsiCommand c, int bytes) {
        byte[] all = new byte[bytes];
        c.get(all, bytes);
        return all;
    }

    /**
     * Many commands in flight from several threads at once, each with its own command slot, each on
     * its own part of the disk: every byte lands, and errors on one thread do not disturb another.
     */
    @Test
    void manyThreadsAtOnce() throws Exception {
        int threads = 4;
        int region = 128 * 1024;
        try (TestDisk disk = new TestDisk((long) threads * region)) {
            ScsiDisk unit = ScsiDisk.of(disk, ScsiDisk.Settings.of(ID));
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                List<Future<byte[]>> results = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    int first = t * region / 512;
                    int seed = t;
                    results.add(pool.submit(() -> {
                        Random random = new Random(seed);
                        byte[] model = new byte[region];
                        byte[] buffer = new byte[16 * 512];
                        MemorySegment segment = MemorySegment.ofArray(buffer);
                        ScsiCommand c = new ScsiCommand();
                        for (int i = 0; i < 3000; i++) {
                            int count = 1 + random.nextInt(16);
                            int lba = random.nextInt(region / 512 - count + 1);
                            switch (random.nextInt(4)) {
                                case 0 -> {
                                    random.nextBytes(buffer);
                                    c.cdb(Scsi.write10(first + lba, count)).data(segment, Direction.OUT);
                                    unit.execute(c);
                                    System.arraycopy(buffer, 0, model, lba * 512, count * 512);
                                }
                                case 1 -> {
                                    c.cdb(Scsi.read10(first + lba, count)).data(segment, Direction.IN);
                                    unit.execute(c);
                                    if (!Arrays.equals(buffer, 0, count * 512, model, lba * 512, (lba + count) * 512)) {
                                        throw new AssertionError("thread " + seed + " read other bytes at " + lba);
                                    }
                                }
                                case 2 -> {
                                    c.cdb(Scsi.read10(disk.size() / 512, 1)).data(segment, Direction.IN);
                                    unit.execute(c);
                                    if (c.status() != ScsiStatus.CHECK_CONDITION) {
                                        throw new AssertionError("read past the end was " + c);
                                    }
                                    continue;
                                }
                                default -> {
                                    c.cdb(Scsi.requestSense(18)).data(segment, Direction.IN);
                                    unit.execute(c);
                                }
                            }
                            if (c.status() != ScsiStatus.GOOD) {
                                throw new AssertionError(c.toString());
                            }
                        }
                        return model;
                    }));
                }
                for (int t = 0; t < threads; t++) {
                    byte[] model = results.get(t).get(30, TimeUnit.SECONDS);
                    assertArrayEquals(model, diskBytes(disk, (long) t * region, region), "thread " + t);
                }
            } finally {
                pool.shutdownNow();
            }
            assertTrue(disk.outside.isEmpty());
        }
    }
}
