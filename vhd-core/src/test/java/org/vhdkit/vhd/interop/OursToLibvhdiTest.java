package org.vhdkit.vhd.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.interop.Interop.Bytes;
import org.vhdkit.vhd.interop.OurImage.Built;
import org.vhdkit.vhd.testing.ExternalTools;

/**
 * Images our library writes, read by libvhdi 20210425: vhdiinfo reports the size we gave them,
 * and vhdimount shows exactly the bytes we wrote.
 */
class OursToLibvhdiTest {
    @TempDir
    Path tmp;

    @Test
    void fixedDiskWeWriteHasOurSizeInVhdiinfoAndMountsWithOurBytes() throws IOException {
        assertLibvhdiReadsWhatWeWrote(OurImage.FIXED_24_MIB, "Fixed");
    }

    @Test
    void dynamicDiskWeWriteHasOurSizeInVhdiinfoAndMountsWithOurBytes() throws IOException {
        assertLibvhdiReadsWhatWeWrote(OurImage.DYNAMIC_2_MIB_BLOCKS, "Dynamic");
    }

    @Test
    void dynamicDiskWith512KibBlocksWeWriteHasOurSizeInVhdiinfoAndMountsWithOurBytes() throws IOException {
        assertLibvhdiReadsWhatWeWrote(OurImage.DYNAMIC_512_KIB_BLOCKS, "Dynamic");
    }

    @Test
    void dynamicDiskWith4KibBlocksWeWriteHasOurSizeInVhdiinfoAndMountsWithOurBytes() throws IOException {
        assertLibvhdiReadsWhatWeWrote(OurImage.DYNAMIC_4_KIB_BLOCKS, "Dynamic");
    }

    @Test
    void dynamicDiskWith4MibBlocksWeWriteHasOurSizeInVhdiinfoAndMountsWithOurBytes() throws IOException {
        assertLibvhdiReadsWhatWeWrote(OurImage.DYNAMIC_4_MIB_BLOCKS, "Dynamic");
    }

    @Test
    void dynamicDiskWhoseSizeIsNotAChsProductKeepsItsExactSizeInLibvhdi() throws IOException {
        assertLibvhdiReadsWhatWeWrote(OurImage.DYNAMIC_NOT_A_CHS_SIZE, "Dynamic");
    }

    private void assertLibvhdiReadsWhatWeWrote(OurImage kind, String diskType) throws IOException {
        ExternalTools.assumeAvailable("vhdiinfo");
        Built built = kind.create(tmp);
        String info = Interop.vhdiinfo(built.path()).stdout();
        assertEquals(built.size(), Interop.vhdiMediaSize(info), () -> "vhdiinfo's media size:\n" + info);
        assertEquals(diskType, Interop.vhdiField(info, "Disk type"), info);
        assertEquals("512 bytes", Interop.vhdiField(info, "Bytes per sector"), info);

        try (ExternalTools.Mount mount = ExternalTools.vhdimount(built.path(), tmp.resolve("mnt"))) {
            assertEquals(List.of(mount.disk()), mount.layers(), "a plain image shows one layer");
            assertEquals(built.size(), Files.size(mount.disk()), "size of the mounted disk");
            // Through FUSE every byte costs a copy: the 10 GiB disk is compared where it was
            // written (qemu compares it whole in OursToQemuTest).
            List<long[]> ranges = Interop.comparisonRanges(built.model(), kind.small());
            try (FileChannel ch = FileChannel.open(mount.disk(), StandardOpenOption.READ)) {
                Interop.assertSameBytes("vhdimount of " + kind + " against what we wrote",
                        Bytes.of(built.model()), Bytes.of(ch), ranges);
            }
        }
    }
}
