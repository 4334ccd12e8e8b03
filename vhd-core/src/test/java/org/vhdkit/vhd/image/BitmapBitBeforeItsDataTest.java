package org.vhdkit.vhd.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.disk.Extent;
import org.vhdkit.vhd.testing.RecordingLog;

/**
 * Regression, found by the power-loss simulation ({@code PowerLossTest}): a differencing disk wrote
 * a sector's data and then set its bitmap bit with no force in between, in a block whose table
 * entry was already in the file. The page cache writes pages back in any order, so a power cut
 * could leave the bit on the disk and not the data: the sector then read what the file held there
 * before (zeros, or a block that once stood in reused space) in place of its parent's bytes, data
 * it never held. The bit may reach the file only after its data is durable, or where the file
 * already holds the parent's bytes under it.
 */
class BitmapBitBeforeItsDataTest {
    private static final long SIZE = 8L << 20;

    @TempDir
    Path dir;

    @Test
    void aBitmapBitReachesTheFileOnlyAfterTheDataItCoversIsForced() throws IOException {
        assertTrue(forcedBetweenDataAndBit((byte) 0x5A), "the child is forced between the data it writes and"
                + " the bitmap bit that makes it visible");
    }

    @Test
    void noForceIsNeededWhereTheFileAlreadyHoldsWhatLiesBelow() throws IOException {
        // The parent reads zeros and the child's file holds zeros there: a bit without its data is harmless.
        assertFalse(forcedBetweenDataAndBit((byte) 0), "no force where the file holds the parent's bytes");
    }

    @Test
    void aBlockWithClearSectorsOverItsParentsDataIsForcedOnceNotAtEachFirstWriteIntoIt() throws IOException {
        // Block 0 saved with sectors 0-7 set; a write at 64 KiB pays the force and takes the whole block.
        assertTrue(forcedBetweenDataAndBit((byte) 0x5A));
        Path child = dir.resolve("child.vhd");
        RecordingLog log = RecordingLog.of(dir);
        log.record(() -> {
            try (VhdDisk disk = Vhd.open(child, OpenOptions.READ_WRITE)) {
                for (int i = 1; i < 16; i++) {
                    disk.write(i * (128L << 10), new byte[4096]); // other clear sectors of block 0
                }
                assertEquals(List.of(new Extent(0, 2L << 20, 0)), disk.extents(0, 2L << 20),
                        "the block holds all its sectors, the parent's copied");
            }
            return null;
        });
        int file = log.files().stream().filter(f -> f.name().equals("child.vhd")).findFirst().orElseThrow().id();
        long forces = log.events().stream().filter(e -> e instanceof RecordingLog.Force && e.file() == file).count();
        assertEquals(1, forces, "the force of the close, none for the 15 writes: " + log.events());
        try (VhdDisk disk = Vhd.open(child, OpenOptions.READ_ONLY)) {
            byte[] back = new byte[2 << 20];
            disk.read(0, back);
            for (int i = 0; i < back.length; i++) {
                boolean written = i % (128 << 10) < 4096 || i >= (64 << 10) && i < (68 << 10);
                assertEquals(written ? 0 : (byte) 0x5A, back[i], "byte " + i);
            }
        }
    }

    /**
     * Writes 4 KiB into clear sectors of a saved block of a child whose parent holds {@code fill}
     * everywhere, recorded; whether the child was forced between the data and the bitmap write.
     */
    private boolean forcedBetweenDataAndBit(byte fill) throws IOException {
        Path parent = dir.resolve("parent.vhd");
        Path child = dir.resolve("child.vhd");
        byte[] ones = new byte[(int) SIZE];
        Arrays.fill(ones, fill);
        try (VhdDisk disk = Vhd.create(parent, CreateOptions.dynamic(SIZE))) {
            disk.write(0, ones);
        }
        long bitmap;
        int bitmapBytes;
        try (VhdDisk disk = Vhd.create(child, CreateOptions.differencing(parent))) {
            assertEquals(0, disk.blockAllocationTable().orElseThrow().allocatedCount());
        }
        // Without its parent the child marks only the sectors written (as other tools may leave a block):
        // block 0 is saved with clear sectors over the parent's data.
        try (VhdDisk disk = Vhd.open(child, OpenOptions.READ_WRITE.withoutParent())) {
            disk.write(0, new byte[4096]); // allocates block 0; the close saves its entry
            bitmap = disk.blockAllocationTable().orElseThrow().sector(0) * 512;
            bitmapBytes = disk.dynamicHeader().orElseThrow().bitmapBytes();
        }

        RecordingLog log = RecordingLog.of(dir);
        log.record(() -> {
            try (VhdDisk disk = Vhd.open(child, OpenOptions.READ_WRITE)) {
                disk.write(64 << 10, new byte[4096]); // clear sectors of the saved block 0
            }
            return null;
        });
        int file = log.files().stream().filter(f -> f.name().equals("child.vhd")).findFirst().orElseThrow().id();
        List<RecordingLog.Event> events = log.events();
        int bitmapWrite = -1;
        int lastData = -1;
        for (int i = 0; i < events.size(); i++) {
            if (events.get(i) instanceof RecordingLog.Write w && w.file() == file) {
                boolean isBitmap = w.offset() >= bitmap && w.offset() < bitmap + bitmapBytes;
                if (isBitmap && bitmapWrite < 0) {
                    bitmapWrite = i;
                } else if (!isBitmap && bitmapWrite < 0 && w.offset() > bitmap) {
                    lastData = i;
                }
            }
        }
        assertTrue(lastData >= 0 && bitmapWrite > lastData, "the data, then the bit: " + events);
        return events.subList(lastData + 1, bitmapWrite).stream()
                .anyMatch(e -> e instanceof RecordingLog.Force && e.file() == file);
    }
}
