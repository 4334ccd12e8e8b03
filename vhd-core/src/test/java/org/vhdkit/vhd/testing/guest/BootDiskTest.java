package org.vhdkit.vhd.testing.guest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.format.DiskType;
import org.vhdkit.vhd.testing.ExternalTools;

/**
 * The boot disk as other tools read it, without booting it (booting is BootFromIdeOverNbdTest's, in
 * vhd-export): qemu-img reads our dynamic VHD, and mtools finds in the partition the kernel byte for
 * byte, the initramfs, the SYSLINUX configuration and SYSLINUX's own files; the MBR boots the one
 * active partition where mkfs.vfat's boot sector says it is.
 */
class BootDiskTest {
    @TempDir
    Path tmp;

    @Test
    void qemuImgAndMtoolsFindABootableMbrAndTheKernelInitramfsAndConfigInTheFatPartition() throws IOException {
        BootDisk disk = BootDisk.prepare();
        ExternalTools.assumeAvailable("qemu-img", "mtype", "mdir");
        try (VhdDisk vhd = Vhd.openReadOnly(disk.vhd())) {
            assertEquals(DiskType.DYNAMIC, vhd.type());
            assertEquals(BootDisk.SIZE, vhd.size());
        }
        Path raw = tmp.resolve("disk.raw");
        ExternalTools.run(Duration.ofSeconds(60), "qemu-img", "convert", "-f", "vpc", "-O", "raw",
                disk.vhd().toString(), raw.toString()).requireSuccess();
        assertEquals(BootDisk.SIZE, Files.size(raw));

        ByteBuffer mbr = sector(raw, 0);
        assertEquals(0xaa55, Short.toUnsignedInt(mbr.getShort(510)), "boot signature");
        assertEquals(0x80, Byte.toUnsignedInt(mbr.get(446)), "the partition is active");
        assertEquals(BootDisk.PARTITION_TYPE, Byte.toUnsignedInt(mbr.get(446 + 4)));
        assertEquals(BootDisk.PARTITION_START, mbr.getInt(446 + 8));
        assertEquals(BootDisk.SIZE / 512 - BootDisk.PARTITION_START, mbr.getInt(446 + 12));
        for (int entry = 1; entry < 4; entry++) {
            assertEquals(0, mbr.getLong(446 + 16 * entry) | mbr.getLong(446 + 16 * entry + 8), "entry " + entry + " empty");
        }
        ByteBuffer boot = sector(raw, BootDisk.PARTITION_START);
        assertEquals("SYSLINUX", new String(boot.array(), 3, 8, StandardCharsets.US_ASCII), "OEM name of the boot sector");
        assertEquals(BootDisk.PARTITION_START, boot.getInt(0x1c), "hidden sectors: where the BIOS finds the partition");
        assertEquals(0xaa55, Short.toUnsignedInt(boot.getShort(510)));

        String fat = raw + "@@" + (long) BootDisk.PARTITION_START * 512;
        assertEquals(BootDisk.syslinuxConfig(), ExternalTools.run(Duration.ofSeconds(30), "mtype", "-i", fat,
                "::syslinux.cfg").requireSuccess().stdout());
        String dir = ExternalTools.run(Duration.ofSeconds(30), "mdir", "-a", "-b", "-i", fat, "::").requireSuccess().stdout();
        for (String file : new String[] {"::/ldlinux.sys", "::/ldlinux.c32", "::/vmlinuz", "::/initrd"}) {
            assertTrue(dir.lines().anyMatch(file::equals), file + " in\n" + dir);
        }
        Path kernel = tmp.resolve("vmlinuz");
        ExternalTools.run(Duration.ofSeconds(30), "mcopy", "-i", fat, "::vmlinuz", kernel.toString()).requireSuccess();
        GuestKernel installed = GuestKernel.installed().orElseThrow();
        assertArrayEquals(Files.readAllBytes(installed.bzImage()), Files.readAllBytes(kernel),
                "the partition holds the installed kernel's bzImage");
    }

    @Test
    void mbrCodeShorterThanTheBootCodeAreaIsRefusedNamingTheFile() {
        IOException e = assertThrows(IOException.class, () -> BootDisk.masterBootRecord(new byte[100], 1000));
        assertTrue(e.getMessage().contains(BootDisk.MBR_CODE.toString()) && e.getMessage().contains("100 bytes"),
                e.getMessage());
    }

    private static ByteBuffer sector(Path raw, long lba) throws IOException {
        try (var channel = Files.newByteChannel(raw)) {
            ByteBuffer b = ByteBuffer.allocate(512).order(ByteOrder.LITTLE_ENDIAN);
            channel.position(lba * 512);
            while (b.hasRemaining() && channel.read(b) > 0) {
                // Reads until the sector is whole.
            }
            return b;
        }
    }
}
