package org.vhdkit.vhd.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.interop.Interop.Bytes;
import org.vhdkit.vhd.interop.Interop.DiskModel;
import org.vhdkit.vhd.testing.Corpus;
import org.vhdkit.vhd.testing.ExternalTools;

/**
 * Windows-made images that we write on, read back by qemu-img: our blocks must go where neither
 * Windows' layout (table padded to 4 KiB, data 4 KiB-aligned, blocks out of order) nor qemu's
 * reading of it is disturbed.
 */
class CorpusWrittenByUsThroughQemuTest {
    @TempDir
    Path tmp;

    /** Hyper-V 2012 R2, 127 GiB, no block yet: our first block goes where its trailing footer is. */
    @Test
    void weWriteIntoAFreshHyperVImageAndQemuReadsEveryByte() throws IOException {
        assertQemuReadsWhatWeWroteInto("qemu-hyperv2012r2-dynamic.vhd.bz2");
    }

    /** Windows 10, 10 MiB, blocks 0, 3 and 1 allocated at a 4104-sector stride; we add the rest. */
    @Test
    void weWriteIntoAWindows10DynamicImageWithBlocksAndQemuReadsEveryByte() throws IOException {
        assertQemuReadsWhatWeWroteInto("dissect-hypervisor-dynamic.vhd.gz");
    }

    private void assertQemuReadsWhatWeWroteInto(String name) throws IOException {
        ExternalTools.assumeAvailable("qemu-img");
        Path image = Files.copy(Corpus.cached(name), tmp.resolve("image.vhd"));
        long size = Interop.qemuVirtualSize(image);
        boolean small = size <= 256L * Interop.MIB;
        DiskModel model = new DiskModel(size);
        if (small) { // the model starts as the image's present content, as qemu reads it
            model.write(0, Files.readAllBytes(Interop.qemuConvertToRaw(image, tmp.resolve("before.raw"))));
        } else {
            assertEquals(List.of(), Interop.qemuDataRanges(image), "a big image must start empty");
        }
        try (VhdDisk disk = Vhd.open(image, OpenOptions.READ_WRITE)) {
            assertEquals(size, disk.size());
            int blockSize = disk.dynamicHeader().orElseThrow().blockSize();
            if (small) {
                // Ten MiB hold too few 2 MiB blocks for the scattered writes' edges: place those
                // every 512 KiB and straddle the real edges here: 0/1 (both Windows'), 1/2
                // (Windows' into a new one), 3/4 (Windows' into the last, new block).
                Interop.scatteredWrites(disk, model, name.hashCode(), 512 * Interop.KIB);
                Random random = new Random(5);
                Interop.writeRandom(disk, model, random, blockSize - 700, 1500);
                Interop.writeRandom(disk, model, random, 2L * blockSize - 1, 2);
                Interop.writeRandom(disk, model, random, 4L * blockSize - 300, 600);
            } else {
                Interop.scatteredWrites(disk, model, name.hashCode(), blockSize);
            }
        }
        Path expected = tmp.resolve("expected.raw");
        model.writeRaw(expected);
        // The whole disk, by qemu (it skips unallocated blocks and holes, so 127 GiB is quick).
        Interop.qemuImg("compare", "-f", "vpc", "-F", "raw", image.toString(), expected.toString()).requireSuccess();
        Path raw = Interop.qemuConvertToRaw(image, tmp.resolve("after.raw"));
        try (FileChannel ch = FileChannel.open(raw)) {
            Interop.assertSameBytes(name + " written by us, converted by qemu", Bytes.of(model), Bytes.of(ch),
                    Interop.comparisonRanges(model, small));
        }
        try (VhdDisk disk = Vhd.openReadOnly(image)) {
            Interop.assertSameBytes(name + " written by us, read back", Bytes.of(model), Bytes.of(disk),
                    Interop.comparisonRanges(model, small));
        }
    }
}
