package org.vhdkit.vhd.interop;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.interop.Interop.Bytes;
import org.vhdkit.vhd.interop.Interop.DiskModel;
import org.vhdkit.vhd.interop.OurImage.Built;
import org.vhdkit.vhd.testing.Corpus;
import org.vhdkit.vhd.testing.ExternalTools;

/**
 * Images passed back and forth: ours written on by qemu-io, then by us again, each reading what
 * the other wrote.
 */
class QemuWritesIntoOursTest {
    @TempDir
    Path tmp;

    /**
     * Our dynamic disk (blocks already allocated, 4 KiB-aligned as Windows places them): qemu-io
     * writes into held blocks and new ones (qemu appends where our trailing footer is), then we
     * write again after qemu's blocks. Both readers see every byte at every step.
     */
    @Test
    void qemuAndWeTakeTurnsWritingOurDynamicDiskAndBothReadEveryByte() throws IOException {
        ExternalTools.assumeAvailable("qemu-img", "qemu-io");
        Built built = OurImage.DYNAMIC_2_MIB_BLOCKS.create(tmp);
        DiskModel model = built.model();
        long b = 2L * Interop.MIB;
        List<Integer> free = new ArrayList<>();
        try (VhdDisk disk = Vhd.openReadOnly(built.path())) {
            var bat = disk.blockAllocationTable().orElseThrow();
            for (int i = 0; i < bat.size(); i++) {
                if (!bat.isAllocated(i)) {
                    free.add(i);
                }
            }
        }
        assertTrue(free.size() >= 3, "free blocks: " + free);
        long newBlock = free.get(0) * b;
        long anotherNewBlock = free.get(1) * b;
        long lastFree = free.get(2) * b;
        List<String> argv = new ArrayList<>(List.of("qemu-io", "-f", "vpc"));
        pattern(argv, model, 0x5a, 700, 3000);                        // into block 0, ours
        pattern(argv, model, 0x6b, newBlock - 100, 300);              // the edge into a new block
        pattern(argv, model, 0x7c, anotherNewBlock + 1, (int) b);     // a new block and the next
        pattern(argv, model, 0x8d, 3 * b + 4096, 4096);               // block 3, ours, whole
        argv.add(built.path().toString());
        ExternalTools.run(null, Interop.TOOL_TIMEOUT, argv).requireSuccess();
        assertBothRead(built.path(), model, "after qemu-io wrote into our image");

        Random random = new Random(77);
        try (VhdDisk disk = Vhd.open(built.path(), OpenOptions.READ_WRITE)) {
            assertEquals(List.of(), disk.warnings());
            Interop.writeRandom(disk, model, random, newBlock + 2048, 5000);  // into qemu's block
            Interop.writeRandom(disk, model, random, lastFree - 3, 10);       // a new block after qemu's
        }
        assertBothRead(built.path(), model, "after we wrote on after qemu");
    }

    /**
     * qemu 7.2 places the first block of an image with no blocks yet right after the table's
     * entries (rounded to a sector), assuming nothing lies there, and never zeroes a new block's
     * data. Hyper-V's layout (the table padded with 0xFF to 4 KiB, the trailing footer in the sector
     * before the next 4 KiB boundary) then shows the padding and the old footer inside qemu's block
     * (see the next test). Ours ends the table exactly where the first bitmap goes, so qemu's first
     * block lands over our trailing footer, its data in fresh zeros beyond the old end of the file.
     */
    @Test
    void qemusFirstBlockInOurFreshDynamicDiskHoldsOnlyWhatQemuWrote() throws IOException {
        ExternalTools.assumeAvailable("qemu-img", "qemu-io");
        Path image = tmp.resolve("fresh.vhd");
        try (VhdDisk disk = Vhd.create(image, CreateOptions.dynamic(40L * Interop.MIB))) {
            assertEquals(3072, disk.dynamicHeader().orElseThrow().tableOffset());
            assertEquals(20, disk.blockAllocationTable().orElseThrow().size());
            assertEquals(4096, disk.fileSize(), "footer copy, header, table ending at 3584, footer at 3584");
        }
        ExternalTools.run(Interop.TOOL_TIMEOUT, "qemu-io", "-f", "vpc", "-c", "write -P 0x5a 0 512", image.toString())
                .requireSuccess();
        byte[] qemuSees = new byte[2 * Interop.MIB];
        Path raw = Interop.qemuConvertToRaw(image, tmp.resolve("fresh.raw"));
        try (FileChannel ch = FileChannel.open(raw, StandardOpenOption.READ)) {
            Bytes.of(ch).read(0, qemuSees);
        }
        byte[] weSee = new byte[2 * Interop.MIB];
        try (VhdDisk disk = Vhd.openReadOnly(image)) {
            assertEquals(7, disk.blockAllocationTable().orElseThrow().sector(0), "qemu put block 0's bitmap at 3584");
            disk.read(0, weSee);
        }
        assertArrayEquals(qemuSees, weSee, "qemu and we read the same bytes");
        byte[] expected = new byte[2 * Interop.MIB];
        Arrays.fill(expected, 0, 512, (byte) 0x5a); // what qemu wrote, and zeros after it
        assertArrayEquals(expected, qemuSees);
    }

    /** The same with Windows' own layout: qemu's first block in a fresh Hyper-V 2012 R2 image shows its old footer. */
    @Test
    void qemusFirstBlockInAFreshHyperVImageShowsItsOldFooterToo() throws IOException {
        ExternalTools.assumeAvailable("qemu-img", "qemu-io");
        Path image = Files.copy(Corpus.cached("qemu-hyperv2012r2-dynamic.vhd.bz2"), tmp.resolve("hyperv.vhd"));
        ExternalTools.run(Interop.TOOL_TIMEOUT, "qemu-io", "-f", "vpc", "-c", "write -P 0x5a 0 512", image.toString())
                .requireSuccess();
        String sector7 = ExternalTools.run(Interop.TOOL_TIMEOUT, "qemu-io", "-f", "vpc", "-c", "read -v 3584 16",
                image.toString()).requireSuccess().stdout();
        assertEquals(true, sector7.contains("conectix"), sector7);
    }

    private static void assertBothRead(Path image, DiskModel model, String when) throws IOException {
        Path raw = Interop.qemuConvertToRaw(image, image.resolveSibling("check-" + System.nanoTime() + ".raw"));
        Interop.assertRawFileHolds("qemu-img convert " + when, raw, Bytes.of(model), model.size());
        Files.delete(raw);
        try (VhdDisk disk = Vhd.openReadOnly(image)) {
            Interop.assertSameBytes("our read " + when, Bytes.of(model), Bytes.of(disk), model.size());
        }
    }

    private static void pattern(List<String> argv, DiskModel model, int value, long offset, int length) {
        argv.add("-c");
        argv.add("write -P 0x" + Integer.toHexString(value) + " " + offset + " " + length);
        byte[] bytes = new byte[length];
        Arrays.fill(bytes, (byte) value);
        model.write(offset, bytes);
    }
}
