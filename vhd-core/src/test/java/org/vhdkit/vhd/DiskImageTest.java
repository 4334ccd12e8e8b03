package org.vhdkit.vhd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.format.VhdFormatException;

/**
 * {@link DiskImage#open} for writing, as {@code vhd serve}, {@code vhd mount} and {@code vhd bench}
 * use it: a raw image and a VHD both take writes that a later read-only open sees, and what is
 * neither is refused before anything is opened for writing.
 */
class DiskImageTest {
    private static final byte[] SECTOR = sector();

    @TempDir
    Path tmp;

    private static byte[] sector() {
        byte[] s = new byte[VirtualDisk.SECTOR_SIZE];
        for (int i = 0; i < s.length; i++) {
            s[i] = (byte) (i * 7 + 1);
        }
        return s;
    }

    private static byte[] read(VirtualDisk disk, long offset) throws IOException {
        byte[] back = new byte[SECTOR.length];
        disk.read(offset, back);
        return back;
    }

    @Test
    void aRawImageOpenedForWritingKeepsItsWritesInPlace() throws IOException {
        Path raw = tmp.resolve("disk.img");
        Files.write(raw, new byte[1 << 20]);
        try (VirtualDisk disk = DiskImage.open(raw, false)) {
            disk.write(4096, SECTOR);
        }
        assertEquals(1 << 20, Files.size(raw), "a raw image does not grow");
        byte[] onFile = Files.readAllBytes(raw);
        assertArrayEquals(SECTOR, java.util.Arrays.copyOfRange(onFile, 4096, 4096 + SECTOR.length));
        try (VirtualDisk disk = DiskImage.open(raw, true)) {
            assertArrayEquals(SECTOR, read(disk, 4096));
        }
    }

    @Test
    void aVhdOpenedForWritingIsOpenedAsAVhdNotAsRawBytes() throws IOException {
        Path vhd = tmp.resolve("disk.vhd");
        Vhd.create(vhd, CreateOptions.dynamic(8L << 20)).close();
        try (VirtualDisk disk = DiskImage.open(vhd, false)) {
            assertInstanceOf(VhdDisk.class, disk);
            assertEquals(8L << 20, disk.size(), "the virtual size, not the file's");
            disk.write(3L << 20, SECTOR);
        }
        try (VhdDisk disk = Vhd.openReadOnly(vhd)) {
            assertArrayEquals(SECTOR, read(disk, 3L << 20));
        }
    }

    @Test
    void anImageOfAnotherFormatIsRefusedForWritingNamingTheFormat() throws IOException {
        Path qcow = tmp.resolve("disk.img");
        byte[] header = new byte[4096];
        header[0] = 'Q';
        header[1] = 'F';
        header[2] = 'I';
        header[3] = (byte) 0xFB;
        Files.write(qcow, header);
        VhdFormatException e = assertThrows(VhdFormatException.class, () -> DiskImage.open(qcow, false).close());
        assertTrue(e.getMessage().contains(qcow.toString()) && e.getMessage().contains("a QCOW image"), e.getMessage());
        assertArrayEquals(header, Files.readAllBytes(qcow), "left as it was");
    }
}
