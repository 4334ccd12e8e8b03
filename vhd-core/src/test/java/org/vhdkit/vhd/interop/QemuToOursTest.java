package org.vhdkit.vhd.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.format.DiskGeometry;
import org.vhdkit.vhd.format.DiskType;
import org.vhdkit.vhd.interop.Interop.Bytes;
import org.vhdkit.vhd.interop.Interop.DiskModel;
import org.vhdkit.vhd.testing.ExternalTools;

/**
 * Images qemu-img 7.2 creates and qemu-io fills, read by our library: every byte as qemu reads
 * it, and the size qemu gives them.
 *
 * <p>What qemu writes, and why our size always equals qemu's here: without {@code force_size}
 * qemu rounds the requested size <em>up</em> to the next CHS product, stores that product as the
 * Current Size, and writes the creator {@code qemu}; reading such an image qemu uses the CHS
 * product (its creator is not on qemu's Current Size list), which is the Current Size, so both
 * readers agree, on a size larger than the one asked for. With {@code force_size=on} qemu
 * stores the requested size, the maximum geometry 65535/16/255 and the creator {@code qem2}
 * (on the list), so qemu and we both take the exact size.
 */
class QemuToOursTest {
    /** 50 MiB + 7 sectors: not a CHS product, so qemu rounds it unless forced. */
    private static final long REQUESTED = 50L * Interop.MIB + 7 * 512;

    @TempDir
    Path tmp;

    @Test
    void qemuDynamicDiskReadsTheSameThroughUsAtQemusChsRoundedSize() throws IOException {
        try (VhdDisk disk = qemuImageReadsTheSameThroughUs("subformat=dynamic")) {
            assertEquals(DiskType.DYNAMIC, disk.type());
            assertChsRounded(disk);
        }
    }

    @Test
    void qemuDynamicDiskWithForceSizeReadsTheSameThroughUsAtTheExactSize() throws IOException {
        try (VhdDisk disk = qemuImageReadsTheSameThroughUs("subformat=dynamic,force_size=on")) {
            assertEquals(DiskType.DYNAMIC, disk.type());
            assertForcedSize(disk);
        }
    }

    @Test
    void qemuFixedDiskReadsTheSameThroughUsAtQemusChsRoundedSize() throws IOException {
        try (VhdDisk disk = qemuImageReadsTheSameThroughUs("subformat=fixed")) {
            assertEquals(DiskType.FIXED, disk.type());
            assertChsRounded(disk);
        }
    }

    @Test
    void qemuFixedDiskWithForceSizeReadsTheSameThroughUsAtTheExactSize() throws IOException {
        try (VhdDisk disk = qemuImageReadsTheSameThroughUs("subformat=fixed,force_size=on")) {
            assertEquals(DiskType.FIXED, disk.type());
            assertForcedSize(disk);
        }
    }

    /** Creator {@code qemu}, Current Size = the CHS product, the smallest one not below the request. */
    private static void assertChsRounded(VhdDisk disk) {
        assertEquals("qemu", disk.footer().creatorApplication());
        DiskGeometry geometry = disk.footer().geometry();
        assertEquals(geometry.capacity(), disk.footer().currentSize(), "qemu stores the CHS product as the size");
        assertEquals(disk.footer().currentSize(), disk.size());
        assertTrue(disk.size() > REQUESTED, "qemu rounds up: " + disk.size());
        assertTrue(disk.size() - REQUESTED < Interop.MIB, "by less than a MiB: " + disk.size());
        // For the record: 50 MiB + 3584 bytes becomes 52432896 (50 MiB + 4096) today.
    }

    /** Creator {@code qem2}, maximum geometry, Current Size exactly as requested. */
    private static void assertForcedSize(VhdDisk disk) {
        assertEquals("qem2", disk.footer().creatorApplication());
        assertEquals(DiskGeometry.MAX, disk.footer().geometry());
        assertEquals(REQUESTED, disk.size());
        assertNotEquals(REQUESTED, DiskGeometry.forSize(REQUESTED).capacity());
    }

    /**
     * Creates an image with qemu-img, writes patterns with qemu-io (unaligned, across block edges,
     * a whole block, zeros over data, the last bytes), and checks that our library reads exactly
     * what the patterns say and what {@code qemu-img convert} gives. Returns the image open.
     */
    private VhdDisk qemuImageReadsTheSameThroughUs(String options) throws IOException {
        ExternalTools.assumeAvailable("qemu-img", "qemu-io");
        Path image = tmp.resolve("qemu.vhd");
        Interop.qemuImg("create", "-q", "-f", "vpc", "-o", options, image.toString(), Long.toString(REQUESTED))
                .requireSuccess();
        long qemuSize = Interop.qemuVirtualSize(image);
        DiskModel model = new DiskModel(qemuSize);
        long m = Interop.MIB;
        List<String> argv = new ArrayList<>(List.of("qemu-io", "-f", "vpc"));
        pattern(argv, model, 0x5a, 0, 4096 + 17);
        pattern(argv, model, 0x11, 1000, 100);
        pattern(argv, model, 0x22, 2 * m - 700, 1500);
        pattern(argv, model, 0x33, 4 * m - 1, 2);
        pattern(argv, model, 0x44, 6 * m, 2 * (int) m);
        pattern(argv, model, 0x55, 9 * m + 333, 5 * (int) m + 1000);
        pattern(argv, model, 0x66, 600, 1200);
        zeros(argv, model, 6 * m + 4096, 8192);
        pattern(argv, model, 0x77, qemuSize - 777, 777);
        pattern(argv, model, 0x88, qemuSize / 2 + 12345, 4096);
        argv.add(image.toString());
        ExternalTools.run(null, Interop.TOOL_TIMEOUT, argv).requireSuccess();

        Path raw = Interop.qemuConvertToRaw(image, tmp.resolve("qemu.raw"));
        Interop.assertRawFileHolds("qemu-img convert against qemu-io's patterns", raw, Bytes.of(model), qemuSize);
        VhdDisk disk = Vhd.openReadOnly(image);
        try {
            assertEquals(qemuSize, disk.size(), "our size against qemu-img info's virtual-size");
            assertEquals(List.of(), disk.warnings());
            Interop.assertSameBytes("our read of a qemu image against qemu-io's patterns", Bytes.of(model),
                    Bytes.of(disk), qemuSize);
            return disk;
        } catch (IOException | RuntimeException | AssertionError e) {
            disk.close();
            throw e;
        }
    }

    private static void pattern(List<String> argv, DiskModel model, int value, long offset, int length) {
        argv.add("-c");
        argv.add("write -P 0x" + Integer.toHexString(value) + " " + offset + " " + length);
        byte[] bytes = new byte[length];
        Arrays.fill(bytes, (byte) value);
        model.write(offset, bytes);
    }

    private static void zeros(List<String> argv, DiskModel model, long offset, int length) {
        argv.add("-c");
        argv.add("write -z " + offset + " " + length);
        model.write(offset, new byte[length]);
    }
}
