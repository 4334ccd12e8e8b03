package org.vhdkit.vhd.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.disk.Extent;
import org.vhdkit.vhd.check.CheckReport;
import org.vhdkit.vhd.check.ImageCheck;
import org.vhdkit.vhd.format.DiskGeometry;
import org.vhdkit.vhd.interop.Interop.Bytes;
import org.vhdkit.vhd.interop.OurImage.Built;
import org.vhdkit.vhd.testing.ExternalTools;
import org.vhdkit.vhd.testing.QemuImg;

/**
 * Images our library writes, read by qemu-img 7.2: clean to our check, the blocks our table
 * allocates in qemu's map, the size we gave them, and exactly the bytes we wrote.
 */
class OursToQemuTest {
    @TempDir
    Path tmp;

    @Test
    void fixedDiskWeWriteHasOurSizeInQemuAndConvertsToTheSameBytes() throws IOException {
        assertQemuReadsWhatWeWrote(OurImage.FIXED_24_MIB);
    }

    @Test
    void dynamicDiskWeWriteHasOurSizeInQemuAndConvertsToTheSameBytes() throws IOException {
        assertQemuReadsWhatWeWrote(OurImage.DYNAMIC_2_MIB_BLOCKS);
    }

    @Test
    void dynamicDiskWith512KibBlocksWeWriteHasOurSizeInQemuAndConvertsToTheSameBytes() throws IOException {
        assertQemuReadsWhatWeWrote(OurImage.DYNAMIC_512_KIB_BLOCKS);
    }

    /**
     * 10 GiB + 3 MiB is not a CHS product: its geometry covers less. qemu takes the Current Size
     * only because we write the creator {@code win }; this pins that the size survives.
     */
    @Test
    void dynamicDiskWith4KibBlocksWeWriteHasOurSizeInQemuAndConvertsToTheSameBytes() throws IOException {
        assertQemuReadsWhatWeWrote(OurImage.DYNAMIC_4_KIB_BLOCKS);
    }

    @Test
    void dynamicDiskWith4MibBlocksWeWriteHasOurSizeInQemuAndConvertsToTheSameBytes() throws IOException {
        assertQemuReadsWhatWeWrote(OurImage.DYNAMIC_4_MIB_BLOCKS);
    }

    @Test
    void dynamicDiskWhoseSizeIsNotAChsProductKeepsItsExactSizeInQemu() throws IOException {
        OurImage image = OurImage.DYNAMIC_NOT_A_CHS_SIZE;
        assertNotEquals(image.size(), DiskGeometry.forSize(image.size()).capacity(), "the size must not be a CHS product");
        assertQemuReadsWhatWeWrote(image);
    }

    /**
     * qemu's map of a dynamic image lists the blocks its table allocates; ours lists the sectors
     * our bitmaps hold. We mark every sector of a block we allocate (as Windows does), so the two
     * must be the same ranges.
     */
    @Test
    void qemuMapShowsExactlyTheBlocksWeAllocated() throws IOException {
        ExternalTools.assumeAvailable("qemu-img");
        Built built = OurImage.DYNAMIC_512_KIB_BLOCKS.create(tmp);
        List<long[]> ours = new ArrayList<>();
        try (VhdDisk disk = Vhd.openReadOnly(built.path())) {
            for (Extent e : disk.extents(0, disk.size())) {
                if (e.isData()) {
                    ours.add(new long[] {e.offset(), e.end()});
                }
            }
        }
        List<long[]> qemu = Interop.qemuDataRanges(built.path());
        assertFalse(qemu.isEmpty(), "qemu-img map found no data");
        assertEquals(describe(Interop.merge(ours)), describe(qemu));
    }

    private static String describe(List<long[]> ranges) {
        StringBuilder sb = new StringBuilder();
        for (long[] r : ranges) {
            sb.append('[').append(r[0]).append(", ").append(r[1]).append(")\n");
        }
        return sb.toString();
    }

    private void assertQemuReadsWhatWeWrote(OurImage kind) throws IOException {
        ExternalTools.assumeAvailable("qemu-img");
        Built built = kind.create(tmp);
        assertEquals(CheckReport.Status.CLEAN, ImageCheck.check(built.path(), ProgressListener.NONE).status(),
                "our check of " + built.path());
        QemuImg.assertMapsTheBlocksOurTableAllocates(built.path());
        assertEquals(built.size(), Interop.qemuVirtualSize(built.path()), "qemu-img info virtual-size");
        Path raw = Interop.qemuConvertToRaw(built.path(), tmp.resolve("qemu.raw"));
        assertEquals(built.size(), Files.size(raw), "size of qemu-img convert's raw output");
        // The whole disk, compared by qemu itself: it skips holes, so 10 GiB costs nothing.
        Path expected = tmp.resolve("model.raw");
        built.model().writeRaw(expected);
        Interop.qemuImg("compare", "-f", "vpc", "-F", "raw", built.path().toString(), expected.toString())
                .requireSuccess();
        Interop.qemuImg("compare", "-f", "raw", "-F", "raw", raw.toString(), expected.toString()).requireSuccess();
        // Byte by byte here, everywhere for a small disk; for the 10 GiB one where it was written
        // (reading 10 GiB of holes twice takes half a minute) and nowhere else holds data.
        List<long[]> ranges = Interop.comparisonRanges(built.model(), kind.small());
        try (FileChannel ch = FileChannel.open(raw, StandardOpenOption.READ)) {
            Interop.assertSameBytes("qemu-img convert of " + kind + " against what we wrote",
                    Bytes.of(built.model()), Bytes.of(ch), ranges);
        }
        try (VhdDisk disk = Vhd.openReadOnly(built.path())) {
            assertEquals(built.size(), disk.size());
            Interop.assertSameBytes(kind + " read back by us", Bytes.of(built.model()), Bytes.of(disk), ranges);
            Interop.assertDataOnlyWithin(disk, ranges);
        }
    }
}
