package org.vhdkit.vhd.transform;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.testing.ExternalTools;

/**
 * What the transform tests share: small disks filled with seeded random data in a pattern that
 * exercises sparseness (blocks never written, blocks written with zeros, blocks half data, single
 * sectors), a byte-array model of each, and the few qemu-img calls the tests compare against.
 */
final class TestDisks {
    static final int KIB = 1 << 10;
    static final int MIB = 1 << 20;
    static final Duration TOOL_TIMEOUT = Duration.ofSeconds(60);

    private TestDisks() {
    }

    /**
     * Writes to {@code disk} and {@code model} at once: for each 2 MiB stretch one of nothing, zeros
     * (which a dynamic disk allocates but holds nothing), random data all over, random data in one
     * 4 KiB piece, a few random sectors, or data in the first half only.
     */
    static void fill(VirtualDisk disk, byte[] model, long seed) throws IOException {
        Random random = new Random(seed);
        int stretch = 2 * MIB;
        for (int start = 0; start < model.length; start += stretch) {
            int length = Math.min(stretch, model.length - start);
            switch (random.nextInt(6)) {
                case 0 -> { } // never written
                case 1 -> write(disk, model, start, new byte[length]);
                case 2 -> write(disk, model, start, randomBytes(random, length));
                case 3 -> write(disk, model, start + 4096 * random.nextInt(length / 4096), randomBytes(random, 4096));
                case 4 -> {
                    for (int i = 0; i < 5; i++) {
                        write(disk, model, start + 512 * random.nextInt(length / 512), randomBytes(random, 512));
                    }
                }
                default -> write(disk, model, start, randomBytes(random, length / 2));
            }
        }
    }

    /** Random writes of any shape, as a guest makes them. */
    static void scribble(VirtualDisk disk, byte[] model, long seed, int count) throws IOException {
        Random random = new Random(seed);
        for (int i = 0; i < count; i++) {
            int length = 1 + random.nextInt(200_000);
            int offset = random.nextInt(model.length - length);
            write(disk, model, offset, randomBytes(random, length));
        }
    }

    static void write(VirtualDisk disk, byte[] model, long offset, byte[] data) throws IOException {
        disk.write(offset, data);
        System.arraycopy(data, 0, model, (int) offset, data.length);
    }

    static byte[] randomBytes(Random random, int length) {
        byte[] bytes = new byte[length];
        random.nextBytes(bytes);
        // Keep some zero runs inside data, as real disks have.
        if (length > 8192 && random.nextBoolean()) {
            int at = random.nextInt(length - 8192);
            java.util.Arrays.fill(bytes, at, at + 8192, (byte) 0);
        }
        return bytes;
    }

    /** Every byte of a (small) disk. */
    static byte[] contents(VirtualDisk disk) throws IOException {
        byte[] all = new byte[Math.toIntExact(disk.size())];
        disk.read(0, all);
        return all;
    }

    /** Fails at the first byte where the disk differs from the model, naming it. */
    static void assertContents(byte[] model, VirtualDisk disk) throws IOException {
        assertEquals(model.length, disk.size(), disk.name() + ": size");
        assertSameBytes(model, contents(disk), disk.name());
    }

    static void assertSameBytes(byte[] expected, byte[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        int at = java.util.Arrays.mismatch(expected, actual);
        if (at >= 0) {
            throw new AssertionError(what + ": byte " + at + " is " + actual[at] + ", expected " + expected[at]);
        }
    }

    /** How many {@code blockSize} blocks of the model hold a non-zero byte. */
    static long nonZeroBlocks(byte[] model, int blockSize) {
        long count = 0;
        for (int start = 0; start < model.length; start += blockSize) {
            int end = Math.min(model.length, start + blockSize);
            for (int i = start; i < end; i++) {
                if (model[i] != 0) {
                    count++;
                    break;
                }
            }
        }
        return count;
    }

    // ---------------------------------------------------------------- qemu-img

    /** The virtual size qemu-img reports for a VHD. */
    static long qemuVirtualSize(Path image) {
        ExternalTools.Result info = ExternalTools.run(TOOL_TIMEOUT, "qemu-img", "info", "--output", "json",
                "-f", "vpc", image.toString()).requireSuccess();
        Matcher m = Pattern.compile("\"virtual-size\"\\s*:\\s*(\\d+)").matcher(info.stdout());
        if (!m.find()) {
            throw new AssertionError("no virtual-size in qemu-img info: " + info.stdout());
        }
        return Long.parseLong(m.group(1));
    }

    /** What qemu-img reads in an image, converted by qemu-img to raw bytes. */
    static byte[] qemuContents(Path image, String format, Path scratch) throws IOException {
        Path raw = scratch.resolve(image.getFileName() + ".qemu.raw");
        ExternalTools.run(TOOL_TIMEOUT, "qemu-img", "convert", "-f", format, "-O", "raw", image.toString(),
                raw.toString()).requireSuccess();
        try {
            return Files.readAllBytes(raw);
        } finally {
            Files.delete(raw);
        }
    }

    /** The bytes a file takes on the host (du), for sparseness checks. */
    static long allocatedBytes(Path file) {
        ExternalTools.Result du = ExternalTools.run(TOOL_TIMEOUT, "du", "--block-size=1", file.toString())
                .requireSuccess();
        return Long.parseLong(du.stdout().trim().split("\\s+")[0]);
    }
}
