package org.vhdkit.vhd.interop;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.format.DiskGeometry;
import org.vhdkit.vhd.interop.Interop.Bytes;
import org.vhdkit.vhd.testing.ExternalTools;

/**
 * The largest disk the format allows, 2040 GiB (0xFF000000 sectors), as we write it: its geometry
 * is the maximum 65535/16/255, which covers only 136.9 GB, and qemu (which takes the Current Size
 * for the maximum geometry whatever the creator) and libvhdi must still give it its full size and
 * find the bytes written at its very end.
 */
class LargestDiskTest {
    private static final int TAIL = 8192;

    @TempDir
    Path tmp;

    private Path image;
    private final byte[] head = new byte[TAIL];
    private final byte[] tail = new byte[TAIL];

    @BeforeEach
    void writeTheEnds() throws IOException {
        image = tmp.resolve("largest.vhd");
        Arrays.fill(head, (byte) 0x3c);
        Arrays.fill(tail, (byte) 0xc3);
        try (VhdDisk disk = Vhd.create(image, CreateOptions.dynamic(Vhd.MAX_SIZE))) {
            assertEquals(DiskGeometry.MAX, disk.footer().geometry());
            disk.write(0, head);
            disk.write(Vhd.MAX_SIZE - TAIL, tail);
        }
    }

    @Test
    void largestDiskKeepsItsSizeAndItsLastBytesInQemu() throws IOException {
        ExternalTools.assumeAvailable("qemu-img", "qemu-io");
        assertEquals(Vhd.MAX_SIZE, Interop.qemuVirtualSize(image));
        // qemu-io exits 1 and prints "Pattern verification failed" when a read -P finds other bytes.
        String out = ExternalTools.run(Interop.TOOL_TIMEOUT, "qemu-io", "-f", "vpc", "-r",
                "-c", "read -P 0x3c 0 " + TAIL,
                "-c", "read -P 0xc3 " + (Vhd.MAX_SIZE - TAIL) + " " + TAIL,
                "-c", "read -P 0 " + (Vhd.MAX_SIZE - 2 * Interop.MIB) + " " + (2 * Interop.MIB - TAIL),
                image.toString()).requireSuccess().stdout();
        assertEquals(false, out.contains("Pattern verification failed"), out);
    }

    @Test
    void largestDiskKeepsItsSizeAndItsLastBytesInLibvhdi() throws IOException {
        ExternalTools.assumeAvailable("vhdiinfo", "vhdimount");
        String info = Interop.vhdiinfo(image).stdout();
        assertEquals(Vhd.MAX_SIZE, Interop.vhdiMediaSize(info), info);
        try (ExternalTools.Mount mount = ExternalTools.vhdimount(image, tmp.resolve("mnt"))) {
            assertEquals(Vhd.MAX_SIZE, Files.size(mount.disk()));
            try (FileChannel ch = FileChannel.open(mount.disk(), StandardOpenOption.READ)) {
                byte[] got = new byte[TAIL];
                Bytes.of(ch).read(Vhd.MAX_SIZE - TAIL, got);
                assertArrayEquals(tail, got, "the last bytes");
                Bytes.of(ch).read(0, got);
                assertArrayEquals(head, got, "the first bytes");
            }
        }
    }
}
