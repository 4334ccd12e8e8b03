package org.vhdkit.vhd.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.format.BlockAllocationTable;
import org.vhdkit.vhd.io.ByteStore;
import org.vhdkit.vhd.io.ForwardingByteStore;
import org.vhdkit.vhd.io.StoreInterception;

/**
 * A block whose sector bitmap has every bit set (every block of a dynamic disk) is served without
 * looking at its bitmap again: a 4 KiB request into it is one copy or {@code pwrite} of its data,
 * not a bitmap read first. Counted at the store, not timed.
 */
class WholeBlockBitmapTest {
    private static final int MIB = 1 << 20;

    @TempDir
    Path tmp;

    /** Counts the reads of the store that fall in any of {@code bitmaps} (pairs of offset and length). */
    private static final class BitmapReads extends ForwardingByteStore {
        final List<long[]> bitmaps = new ArrayList<>();
        final AtomicInteger count = new AtomicInteger();

        BitmapReads(ByteStore delegate) {
            super(delegate);
        }

        @Override
        public void read(long offset, MemorySegment dst, long dstOffset, long length) throws IOException {
            for (long[] bitmap : bitmaps) {
                if (offset < bitmap[0] + bitmap[1] && offset + length > bitmap[0]) {
                    count.incrementAndGet();
                }
            }
            super.read(offset, dst, dstOffset, length);
        }
    }

    @Test
    void aWholeBlocksBitmapIsReadOnceNotAtEveryRequest() throws IOException {
        Path path = tmp.resolve("d.vhd");
        byte[] content = new byte[8 * MIB];
        new Random(3).nextBytes(content);
        try (VhdDisk disk = Vhd.create(path, CreateOptions.dynamic(content.length))) {
            disk.write(0, content);
        }
        BitmapReads[] store = new BitmapReads[1];
        try (VhdDisk disk = StoreInterception.call(s -> store[0] = new BitmapReads(s),
                () -> Vhd.open(path, OpenOptions.READ_WRITE))) {
            BlockAllocationTable bat = disk.blockAllocationTable().orElseThrow();
            int bitmapBytes = disk.dynamicHeader().orElseThrow().bitmapBytes();
            for (int block = 0; block < bat.size(); block++) {
                store[0].bitmaps.add(new long[] {bat.sector(block) * 512, bitmapBytes});
            }
            Random random = new Random(4);
            byte[] page = new byte[4096];
            for (int i = 0; i < 2000; i++) {
                int at = random.nextInt(content.length / 4096) * 4096;
                if (i % 2 == 0) {
                    random.nextBytes(page);
                    disk.write(at, page);
                    System.arraycopy(page, 0, content, at, page.length);
                } else {
                    disk.read(at, page);
                    assertArrayEquals(Arrays.copyOfRange(content, at, at + page.length), page, "read at " + at);
                }
            }
            assertTrue(store[0].count.get() <= bat.size(), "2000 requests into " + bat.size() + " whole blocks read"
                    + " their bitmaps " + store[0].count.get() + " times; at most once a block is needed");
            byte[] all = new byte[content.length];
            disk.read(0, all);
            assertArrayEquals(content, all);
        }
        try (VhdDisk disk = Vhd.open(path, OpenOptions.READ_ONLY)) {
            byte[] all = new byte[content.length];
            disk.read(0, all);
            assertArrayEquals(content, all);
            assertEquals(content.length, disk.size());
        }
    }
}
