package org.vhdkit.vhd.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.util.Arrays;
import org.vhdkit.vhd.DiskImage;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.testing.FuzzedImages;
import org.vhdkit.vhd.testing.Fuzzing;

/**
 * Fuzzes opening and reading whole images, differencing chains included (see {@link FuzzedImages}
 * for how an input becomes a child and its parent): {@link Vhd#open} and {@link DiskImage} either
 * open the image, and then every sector that holds data reads, or refuse it with an exception
 * naming the file. With flag 4 the image is also opened for writing, one sector written and read
 * back, and the image opened again.
 */
class ImageFuzzTest {
    private static final FuzzedImages IMAGES = new FuzzedImages("vhdkit-image-fuzz");

    @FuzzTest
    void openAndRead(byte[] input) throws IOException {
        FuzzedImages.Images images = IMAGES.write(input);
        String where = IMAGES.directory().toString();
        boolean opened = false;
        try (VhdDisk disk = Vhd.open(images.child(), OpenOptions.READ_ONLY)) {
            disk.chain();
            FuzzedImages.readAll(disk);
            opened = true;
        } catch (IOException e) {
            Fuzzing.assertClear(e, where);
        }
        try (VirtualDisk disk = DiskImage.openReadOnly(images.child())) {
            FuzzedImages.readAll(disk);
        } catch (IOException e) {
            Fuzzing.assertClear(e, where);
        }
        if (opened && images.write()) {
            writeOneSector(images, where);
        }
    }

    private static void writeOneSector(FuzzedImages.Images images, String where) throws IOException {
        byte[] sector = new byte[VirtualDisk.SECTOR_SIZE];
        Arrays.fill(sector, (byte) 0x5A);
        long at;
        try (VhdDisk disk = Vhd.open(images.child(), OpenOptions.READ_WRITE)) {
            at = disk.size() == 0 ? -1 : Math.floorMod(images.writeAt(), disk.size());
            if (at < 0) {
                return;
            }
            disk.write(at, sector);
            disk.flush();
            byte[] back = new byte[sector.length];
            disk.read(at, back);
            assertArrayEquals(sector, back, "a sector written reads back");
        } catch (IOException e) {
            Fuzzing.assertClear(e, where);
            return;
        }
        try (VhdDisk disk = Vhd.open(images.child(), OpenOptions.READ_ONLY)) {
            byte[] back = new byte[sector.length];
            disk.read(at, back);
            assertArrayEquals(sector, back, "a sector written and flushed reads back after reopening");
        }
    }
}
