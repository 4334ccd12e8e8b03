package org.vhdkit.vhd.edit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.check.CheckReport;
import org.vhdkit.vhd.check.ImageCheck;
import org.vhdkit.vhd.testing.ExternalTools;
import org.vhdkit.vhd.testing.QemuImg;

/**
 * What the tests of this package share: writes that go to a disk and to a byte-array model of it at
 * once, whole-disk comparisons, and the few real-tool calls that judge the results.
 */
final class EditTesting {
    static final int KIB = 1 << 10;
    static final int MIB = 1 << 20;
    static final Duration TOOL_TIMEOUT = Duration.ofSeconds(120);

    private EditTesting() {
    }

    /**
     * Random writes of every shape: partial sectors, whole sectors, runs across block edges, into
     * {@code [from, to)} of the disk; each applied to {@code model} as well.
     */
    static void randomWrites(VirtualDisk disk, byte[] model, Random random, int count, long from, long to)
            throws IOException {
        for (int i = 0; i < count; i++) {
            int length = switch (random.nextInt(4)) {
                case 0 -> 1 + random.nextInt(511);
                case 1 -> 512 * (1 + random.nextInt(16));
                case 2 -> 1 + random.nextInt(300_000);
                default -> 4096;
            };
            length = (int) Math.min(length, to - from);
            long offset = from + random.nextLong(to - from - length + 1);
            byte[] data = new byte[length];
            random.nextBytes(data);
            disk.write(offset, data);
            System.arraycopy(data, 0, model, (int) offset, length);
        }
    }

    /**
     * Random writes in whole, aligned 4 KiB units into {@code [from, to)}: a differencing disk written
     * this way has no bitmap byte with some bits set and others clear, which libvhdi 20210425 misreads
     * (it takes a partial bitmap byte as wholly clear; see the interop tests), so vhdimount can judge it.
     */
    static void alignedWrites(VirtualDisk disk, byte[] model, Random random, int count, long from, long to)
            throws IOException {
        int unit = 4096;
        long units = (to - from) / unit;
        for (int i = 0; i < count; i++) {
            int length = (int) Math.min(units, 1 + random.nextInt(80)) * unit;
            long offset = from + random.nextLong(units - length / unit + 1) * unit;
            byte[] data = new byte[length];
            random.nextBytes(data);
            disk.write(offset, data);
            System.arraycopy(data, 0, model, (int) offset, length);
        }
    }

    /** Random writes anywhere in the disk. */
    static void randomWrites(VirtualDisk disk, byte[] model, Random random, int count) throws IOException {
        randomWrites(disk, model, random, count, 0, model.length);
    }

    /** The disk must be {@code model.length} bytes and read as the model, byte for byte. */
    static void assertReadsAs(byte[] model, VirtualDisk disk) throws IOException {
        assertEquals(model.length, disk.size(), disk.name() + ": size");
        byte[] all = new byte[model.length];
        disk.read(0, all);
        int i = Arrays.mismatch(model, all);
        if (i >= 0) {
            fail(difference(disk.name(), i, model, all));
        }
    }

    /** A file (a raw disk, a FUSE-mounted one) must hold exactly the model. */
    static void assertFileHolds(byte[] model, Path file) throws IOException {
        assertEquals(model.length, Files.size(file), file + ": size");
        byte[] all = new byte[model.length];
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer buffer = ByteBuffer.wrap(all);
            while (buffer.hasRemaining()) {
                if (channel.read(buffer, buffer.position()) < 0) {
                    fail(file + ": ends at " + buffer.position());
                }
            }
        }
        int i = Arrays.mismatch(model, all);
        if (i >= 0) {
            fail(difference(file.toString(), i, model, all));
        }
    }

    private static String difference(String what, int i, byte[] expected, byte[] actual) {
        int from = Math.max(0, i - 8);
        int to = Math.min(expected.length, i + 16);
        return what + ": first difference at byte " + i + " (sector " + i / 512 + "); expected "
                + HexFormat.of().formatHex(expected, from, to) + ", got " + HexFormat.of().formatHex(actual, from, to);
    }

    /** Writes the model as a raw image. */
    static Path raw(byte[] model, Path file) throws IOException {
        Files.write(file, model);
        return file;
    }

    // ---------------------------------------------------------------- real tools

    static ExternalTools.Result qemuImg(String... args) {
        String[] argv = new String[args.length + 1];
        argv[0] = "qemu-img";
        System.arraycopy(args, 0, argv, 1, args.length);
        return ExternalTools.run(TOOL_TIMEOUT, argv);
    }

    /** The virtual size {@code qemu-img info} gives the image. */
    static long qemuVirtualSize(Path image) {
        String json = qemuImg("info", "--output=json", "-f", "vpc", image.toString()).requireSuccess().stdout();
        Matcher m = Pattern.compile("\"virtual-size\"\\s*:\\s*(\\d+)").matcher(json);
        assertTrue(m.find(), () -> "no virtual-size in " + json);
        return Long.parseLong(m.group(1));
    }

    /**
     * Our own check finds the image clean, and {@code qemu-img map} shows data in exactly the blocks
     * our table allocates. (qemu-img 7.2 cannot check a VHD.)
     */
    static void assertCleanAndQemuMapsOurBlocks(Path image) throws IOException {
        CheckReport report = ImageCheck.check(image, ProgressListener.NONE);
        assertEquals(CheckReport.Status.CLEAN, report.status(), () -> "our check of " + image + ": " + report.findings());
        QemuImg.assertMapsTheBlocksOurTableAllocates(image);
    }

    /** {@code qemu-img compare} of the image with a raw file of the model: qemu reads the same bytes. */
    static void assertQemuReadsAs(byte[] model, Path image, Path scratch) throws IOException {
        Path raw = raw(model, scratch.resolve("expected-" + image.getFileName() + ".raw"));
        try {
            qemuImg("compare", "-f", "vpc", "-F", "raw", image.toString(), raw.toString()).requireSuccess();
        } finally {
            Files.deleteIfExists(raw);
        }
    }

    /** {@code qemu-img convert} to a (sparse) raw file. */
    static Path qemuToRaw(Path image, Path raw) {
        qemuImg("convert", "-f", "vpc", "-O", "raw", image.toString(), raw.toString()).requireSuccess();
        return raw;
    }

    /** The file holds {@code expected} at {@code offset}. */
    static void assertFileHoldsAt(Path file, long offset, byte[] expected) throws IOException {
        byte[] actual = new byte[expected.length];
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer buffer = ByteBuffer.wrap(actual);
            while (buffer.hasRemaining()) {
                if (channel.read(buffer, offset + buffer.position()) < 0) {
                    fail(file + ": ends at " + (offset + buffer.position()));
                }
            }
        }
        int i = Arrays.mismatch(expected, actual);
        if (i >= 0) {
            fail(difference(file + " from offset " + offset, i, expected, actual));
        }
    }

    /** vhdimount (libvhdi) reads the image, with its parents, as the model. */
    static void assertLibvhdiReadsAs(byte[] model, Path image, Path mountDir) throws IOException {
        try (ExternalTools.Mount mount = ExternalTools.vhdimount(image, mountDir)) {
            assertFileHolds(model, mount.disk());
        }
    }
}
