package org.vhdkit.vhd.check;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.vhdkit.vhd.testing.ExternalTools;

/**
 * What qemu-img says about an image. qemu 7.2's vpc driver has no consistency check: {@code qemu-img
 * check -f vpc} prints {@value #NO_CHECKS} and exits 63 for every image, sound or not. So agreement is
 * shown by that check not failing (a later qemu that can check must exit 0) and by {@code qemu-img
 * compare} finding the image's content equal to the model's.
 *
 * <p>Thread-safety: stateless.
 */
final class Qemu {
    static final String NO_CHECKS = "This image format does not support checks";
    private static final Duration TIMEOUT = Duration.ofSeconds(120);

    private Qemu() {
    }

    /** {@code qemu-img check -f vpc}: exit 0, or 63 with qemu's "no checks" message. Returns the exit code. */
    static int assertCheckPasses(Path image) {
        ExternalTools.assumeAvailable("qemu-img");
        ExternalTools.Result check = ExternalTools.run(TIMEOUT, "qemu-img", "check", "-f", "vpc", image.toString());
        if (check.exitCode() == 63) {
            assertTrue(check.stderr().contains(NO_CHECKS), () -> "exit 63 but not the expected message: " + check);
        } else {
            assertEquals(0, check.exitCode(), () -> "qemu-img check: " + check);
        }
        return check.exitCode();
    }

    /** {@code qemu-img compare -f vpc -F raw}: qemu reads the image as {@code model}. */
    static void assertReadsAs(byte[] model, Path image, Path scratch) throws IOException {
        ExternalTools.assumeAvailable("qemu-img");
        Path raw = Files.createTempFile(scratch, "model", ".raw");
        Files.write(raw, model);
        ExternalTools.run(TIMEOUT, "qemu-img", "compare", "-f", "vpc", "-F", "raw", image.toString(), raw.toString())
                .requireSuccess();
        Files.delete(raw);
    }

    /** Runs qemu-img with {@code args}, requiring success. */
    static ExternalTools.Result run(String... args) {
        ExternalTools.assumeAvailable("qemu-img");
        String[] argv = new String[args.length + 1];
        argv[0] = "qemu-img";
        System.arraycopy(args, 0, argv, 1, args.length);
        return ExternalTools.run(TIMEOUT, argv).requireSuccess();
    }
}
