package org.vhdkit.vhd.check;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.vhdkit.vhd.testing.ExternalTools;

/**
 * What qemu-img says about an image. qemu 7.2's vpc driver has no consistency check ({@code qemu-img
 * check -f vpc} exits 63 for every image, sound or not), so agreement is shown by {@code qemu-img
 * compare} finding the image's content equal to the model's and by {@code qemu-img map} showing the
 * blocks our table allocates ({@link org.vhdkit.vhd.testing.QemuImg}).
 *
 * <p>Thread-safety: stateless.
 */
final class Qemu {
    private static final Duration TIMEOUT = Duration.ofSeconds(120);

    private Qemu() {
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
