package org.vhdkit.vhd.interop;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.check.CheckReport;
import org.vhdkit.vhd.check.ImageCheck;
import org.vhdkit.vhd.interop.Interop.Bytes;
import org.vhdkit.vhd.interop.Interop.DiskModel;
import org.vhdkit.vhd.testing.ExternalTools;
import org.vhdkit.vhd.testing.QemuImg;

/**
 * What a killed process leaves, as other tools see it: a dynamic disk written to new blocks and not
 * flushed is copied byte for byte (the file as the page cache holds it, as after a process crash)
 * and the copy read by qemu-img and by us. SparseVhd writes a new block's footer, data and table
 * entry before the write returns: the copy must read as everything written, and be clean.
 */
class CrashOrderThroughQemuTest {
    private static final long SIZE = 16L * Interop.MIB;
    private static final int BLOCK = 2 * Interop.MIB;

    @TempDir
    Path tmp;

    @Test
    void unflushedWritesToNewBlocksAreInTheImageAKillLeavesForQemuAndUs() throws IOException {
        ExternalTools.assumeAvailable("qemu-img");
        Path image = tmp.resolve("live.vhd");
        Path crash = tmp.resolve("crash.vhd");
        Random random = new Random(42);
        DiskModel old = new DiskModel(SIZE);
        DiskModel now;
        try (VhdDisk disk = Vhd.create(image, CreateOptions.dynamic(SIZE))) {
            Interop.writeRandom(disk, old, random, 1000, 5000);                // block 0
            Interop.writeRandom(disk, old, random, 2L * BLOCK + 77, BLOCK);    // blocks 2 and 3
            disk.flush();
            long fileBefore = disk.fileSize();
            now = old.copy();
            Interop.writeRandom(disk, now, random, 5L * BLOCK + 512, 3000);   // new block 5, not flushed
            Interop.writeRandom(disk, now, random, 7L * BLOCK - 100, 200);    // new blocks 6 and 7, not flushed
            assertTrue(disk.fileSize() > fileBefore, "the new blocks are in the file already");
            Files.copy(image, crash);

            // The crash image: clean, qemu maps the blocks our table allocates (the unflushed ones
            // too), qemu reads everything written, and so do we.
            assertEquals(CheckReport.Status.CLEAN, ImageCheck.check(crash, ProgressListener.NONE).status());
            QemuImg.assertMapsTheBlocksOurTableAllocates(crash);
            assertEquals(SIZE, Interop.qemuVirtualSize(crash));
            Path raw = Interop.qemuConvertToRaw(crash, tmp.resolve("crash.raw"));
            Interop.assertRawFileHolds("qemu-img convert of the crash image against everything written", raw,
                    Bytes.of(now), SIZE);
            try (VhdDisk copy = Vhd.openReadOnly(crash)) {
                assertEquals(List.of(), copy.warnings());
                assertEquals(6, copy.blockAllocationTable().orElseThrow().allocatedCount(),
                        "the unflushed blocks are in the crash image's table too");
                Interop.assertSameBytes("our read of the crash image against everything written", Bytes.of(now),
                        Bytes.of(copy), SIZE);
            }
        }
        // And after close (a flush) the live image holds the new content, for qemu too.
        Path raw = Interop.qemuConvertToRaw(image, tmp.resolve("live.raw"));
        Interop.assertRawFileHolds("qemu-img convert of the closed image against everything written", raw,
                Bytes.of(now), SIZE);
    }

    /** The crash image can be written on, keeping the unflushed write; qemu agrees. */
    @Test
    void crashImageCanBeWrittenOnAndQemuReadsTheResult() throws IOException {
        ExternalTools.assumeAvailable("qemu-img");
        Path image = tmp.resolve("live.vhd");
        Path crash = tmp.resolve("crash.vhd");
        Random random = new Random(43);
        DiskModel model = new DiskModel(SIZE);
        try (VhdDisk disk = Vhd.create(image, CreateOptions.dynamic(SIZE))) {
            Interop.writeRandom(disk, model, random, 0, 4096);
            disk.flush();
            Interop.writeRandom(disk, model, random, 3L * BLOCK, 4096); // unflushed, kept by the page cache
            Files.copy(image, crash);
        }
        try (VhdDisk disk = Vhd.open(crash, OpenOptions.READ_WRITE)) {
            Interop.writeRandom(disk, model, random, 3L * BLOCK + 100, 1000);
            Interop.writeRandom(disk, model, random, 6L * BLOCK - 10, 20);
        }
        assertNotEquals(CheckReport.Status.CORRUPT, ImageCheck.check(crash, ProgressListener.NONE).status());
        QemuImg.assertMapsTheBlocksOurTableAllocates(crash);
        Path raw = Interop.qemuConvertToRaw(crash, tmp.resolve("crash.raw"));
        Interop.assertRawFileHolds("qemu-img convert of the crash image written on", raw, Bytes.of(model), SIZE);
        try (VhdDisk disk = Vhd.openReadOnly(crash)) {
            Interop.assertSameBytes("our read of the crash image written on", Bytes.of(model), Bytes.of(disk), SIZE);
        }
    }

    /**
     * qemu places a new block right after the last block the table references and never zeroes its
     * data. Once an unflushed block was left unreferenced by a kill, and qemu's next block showed its
     * bitmap and data in the sectors qemu did not write; now the unflushed block is referenced, so
     * qemu's new block lies past it: qemu's unwritten sectors read zeros and the unflushed block
     * reads as written, to qemu and to us alike.
     */
    @Test
    void qemuWritingIntoAKilledWritersImageShowsNoStaleData() throws IOException {
        ExternalTools.assumeAvailable("qemu-img", "qemu-io");
        Path image = tmp.resolve("live.vhd");
        Path crash = tmp.resolve("crash.vhd");
        byte[] unflushed = new byte[BLOCK];
        Arrays.fill(unflushed, (byte) 0x77);
        try (VhdDisk disk = Vhd.create(image, CreateOptions.dynamic(SIZE))) {
            disk.write(0, new byte[] {1});
            disk.flush();
            disk.write(3L * BLOCK, unflushed); // a whole new block, never flushed
            Files.copy(image, crash);
        }
        ExternalTools.run(Interop.TOOL_TIMEOUT, "qemu-io", "-f", "vpc", "-c", "write -P 0x5a " + 5L * BLOCK + " 512",
                crash.toString()).requireSuccess();
        Path raw = Interop.qemuConvertToRaw(crash, tmp.resolve("crash.raw"));
        byte[] qemuBlock5 = new byte[BLOCK];
        byte[] qemuBlock3 = new byte[BLOCK];
        try (var ch = FileChannel.open(raw)) {
            Bytes.of(ch).read(5L * BLOCK, qemuBlock5);
            Bytes.of(ch).read(3L * BLOCK, qemuBlock3);
        }
        byte[] ourBlock5 = new byte[BLOCK];
        try (VhdDisk disk = Vhd.openReadOnly(crash)) {
            disk.read(5L * BLOCK, ourBlock5);
        }
        assertArrayEquals(qemuBlock5, ourBlock5, "qemu and we agree");
        byte[] truth = new byte[BLOCK];
        Arrays.fill(truth, 0, 512, (byte) 0x5a);
        assertArrayEquals(truth, qemuBlock5, "qemu's sector, then zeros: no stale data");
        assertArrayEquals(unflushed, qemuBlock3, "the unflushed block survived the kill");
    }
}
