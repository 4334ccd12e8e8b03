package org.vhdkit.vhd.check;

import static org.junit.jupiter.api.Assertions.assertNotEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.testing.FuzzedImages;
import org.vhdkit.vhd.testing.Fuzzing;

/**
 * Fuzzes {@code check} and {@code check --repair} ({@link ImageCheck}) on fuzzed images (see
 * {@link FuzzedImages}): a check reports or refuses with an exception naming the file; a repair
 * does too, and an image the repair calls sound (or leaking only) then opens and reads, and a
 * second check agrees that it is not corrupt.
 */
class ImageCheckFuzzTest {
    private static final FuzzedImages IMAGES = new FuzzedImages("vhdkit-check-fuzz");

    @FuzzTest
    void checkAndRepair(byte[] input) throws IOException {
        FuzzedImages.Images images = IMAGES.write(input);
        String where = IMAGES.directory().toString();
        try {
            ImageCheck.check(images.child(), ProgressListener.NONE);
        } catch (IOException e) {
            Fuzzing.assertClear(e, where);
        }
        CheckReport repaired;
        try {
            repaired = ImageCheck.repair(images.child(), ProgressListener.NONE);
        } catch (IOException e) {
            Fuzzing.assertClear(e, where);
            return;
        }
        if (repaired.status() == CheckReport.Status.CORRUPT) {
            return;
        }
        try (VhdDisk disk = Vhd.open(images.child(), OpenOptions.READ_ONLY)) {
            FuzzedImages.readAll(disk);
        }
        assertNotEquals(CheckReport.Status.CORRUPT, ImageCheck.check(images.child(), ProgressListener.NONE).status(),
                () -> "check finds corruption in an image its repair called " + repaired.status() + ": " + repaired);
    }
}
