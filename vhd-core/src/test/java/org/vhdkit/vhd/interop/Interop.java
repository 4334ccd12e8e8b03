package org.vhdkit.vhd.interop;

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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.vhdkit.vhd.disk.Extent;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.testing.ExternalTools;
import org.vhdkit.vhd.testing.ExternalTools.Result;
import org.vhdkit.vhd.testing.QemuImg;

/**
 * What the interop tests share: a model of a disk's bytes, writes that go to a disk and its model
 * at once, chunkwise comparison of two byte sources, and the few outputs of qemu-img and vhdiinfo
 * the tests parse.
 */
final class Interop {
    static final int KIB = 1 << 10;
    static final int MIB = 1 << 20;
    static final long GIB = 1L << 30;
    /** Ample for every tool call on the small images here; a hang fails rather than stalls the build. */
    static final Duration TOOL_TIMEOUT = Duration.ofSeconds(60);
    private static final int COMPARE_CHUNK = 4 * MIB;

    private Interop() {
    }

    // ---------------------------------------------------------------- the model

    /**
     * The bytes a disk should hold: chunks of 1 MiB that were written, zeros elsewhere, so that a
     * disk of 10 GiB costs only what was written to it.
     */
    static final class DiskModel {
        private static final int CHUNK = MIB;
        private final long size;
        private final TreeMap<Long, byte[]> chunks = new TreeMap<>();

        DiskModel(long size) {
            this.size = size;
        }

        long size() {
            return size;
        }

        /** An independent copy: the model of a child disk starts as its parent's. */
        DiskModel copy() {
            DiskModel copy = new DiskModel(size);
            chunks.forEach((k, v) -> copy.chunks.put(k, v.clone()));
            return copy;
        }

        void write(long offset, byte[] data) {
            checkRange(offset, data.length);
            int done = 0;
            while (done < data.length) {
                long at = offset + done;
                long index = at / CHUNK;
                int inChunk = (int) (at % CHUNK);
                int n = Math.min(data.length - done, CHUNK - inChunk);
                byte[] chunk = chunks.computeIfAbsent(index, k -> new byte[CHUNK]);
                System.arraycopy(data, done, chunk, inChunk, n);
                done += n;
            }
        }

        void read(long offset, byte[] dst) {
            checkRange(offset, dst.length);
            int done = 0;
            while (done < dst.length) {
                long at = offset + done;
                long index = at / CHUNK;
                int inChunk = (int) (at % CHUNK);
                int n = Math.min(dst.length - done, CHUNK - inChunk);
                byte[] chunk = chunks.get(index);
                if (chunk == null) {
                    Arrays.fill(dst, done, done + n, (byte) 0);
                } else {
                    System.arraycopy(chunk, inChunk, dst, done, n);
                }
                done += n;
            }
        }

        byte[] read(long offset, int length) {
            byte[] bytes = new byte[length];
            read(offset, bytes);
            return bytes;
        }

        /**
         * The ranges [start, end) of every chunk written to, widened by {@code margin} on each side
         * and clipped to the disk: where a comparison must look when it cannot look everywhere.
         */
        List<long[]> writtenRanges(long margin) {
            List<long[]> ranges = new ArrayList<>();
            for (long index : chunks.keySet()) {
                long start = Math.max(0, index * CHUNK - margin);
                long end = Math.min(size, (index + 1) * CHUNK + margin);
                ranges.add(new long[] {start, end});
            }
            return merge(ranges);
        }

        /** Writes the model as a sparse raw image (only the chunks written take space). */
        void writeRaw(Path raw) throws IOException {
            try (FileChannel ch = FileChannel.open(raw, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                for (var e : chunks.entrySet()) {
                    long at = e.getKey() * CHUNK;
                    int n = (int) Math.min(CHUNK, size - at);
                    ByteBuffer buffer = ByteBuffer.wrap(e.getValue(), 0, n);
                    while (buffer.hasRemaining()) {
                        ch.write(buffer, at + buffer.position());
                    }
                }
                ch.truncate(size); // no-op when the last chunk reached the end
                if (ch.size() < size) {
                    ch.write(ByteBuffer.allocate(1), size - 1); // grow sparsely; the last byte stays 0
                }
            }
        }

        private void checkRange(long offset, int length) {
            if (offset < 0 || length < 0 || offset + length > size) {
                throw new IllegalArgumentException("[" + offset + ", +" + length + ") outside the model of " + size);
            }
        }
    }

    /** Random bytes from a seeded generator. */
    static byte[] randomBytes(Random random, int length) {
        byte[] bytes = new byte[length];
        random.nextBytes(bytes);
        return bytes;
    }

    /** Writes random bytes at {@code offset} to the disk and the model. */
    static void writeRandom(VirtualDisk disk, DiskModel model, Random random, long offset, int length)
            throws IOException {
        byte[] data = randomBytes(random, length);
        disk.write(offset, data);
        model.write(offset, data);
    }

    /**
     * Scattered writes of random data that exercise the awkward cases: partial sectors at either
     * end, a write inside one sector, writes straddling one and several block edges, a whole
     * aligned block, an overwrite of earlier data, the last bytes of the disk, a write in the middle
     * and a dozen random ones. {@code blockSize} is the disk's block size (any power of two for a
     * fixed disk, to place the edges). The disk must be at least 8 blocks plus a MiB.
     */
    static void scatteredWrites(VirtualDisk disk, DiskModel model, long seed, int blockSize) throws IOException {
        long size = disk.size();
        if (size < 8L * blockSize + MIB) {
            throw new IllegalArgumentException("disk of " + size + " too small for blocks of " + blockSize);
        }
        Random random = new Random(seed);
        long b = blockSize;
        writeRandom(disk, model, random, 0, 3 * 512 + 17);            // aligned start, partial last sector
        writeRandom(disk, model, random, 1000, 100);                   // inside one sector
        writeRandom(disk, model, random, b - 700, 1500);               // straddles block 0/1, partial sectors
        writeRandom(disk, model, random, 2 * b - 1, 2);                // two bytes across the edge of blocks 1/2
        writeRandom(disk, model, random, 3 * b, blockSize);            // a whole aligned block
        writeRandom(disk, model, random, 5 * b + 333, 2 * blockSize + 1000); // spans three blocks
        writeRandom(disk, model, random, 500, 1200);                   // overwrites the first writes in part
        writeRandom(disk, model, random, size / 2 + 12345, 4096);      // the middle, unaligned
        writeRandom(disk, model, random, size - 777, 777);             // the very end of the disk
        for (int i = 0; i < 12; i++) {
            int length = 1 + random.nextInt(70 * KIB);
            long offset = (long) (random.nextDouble() * (size - length));
            writeRandom(disk, model, random, offset, length);
        }
    }

    // ---------------------------------------------------------------- comparing

    /** Something that can fill a buffer with a disk's bytes from an offset. */
    @FunctionalInterface
    interface Bytes {
        void read(long offset, byte[] dst) throws IOException;

        static Bytes of(VirtualDisk disk) {
            return disk::read;
        }

        static Bytes of(DiskModel model) {
            return model::read;
        }

        /** A file's bytes; reads past its end fail the test (a size check should have caught it). */
        static Bytes of(FileChannel channel) {
            return (offset, dst) -> {
                ByteBuffer buffer = ByteBuffer.wrap(dst);
                while (buffer.hasRemaining()) {
                    int n = channel.read(buffer, offset + buffer.position());
                    if (n < 0) {
                        fail("end of file at " + (offset + buffer.position()) + " while reading " + dst.length
                                + " bytes at " + offset);
                    }
                }
            };
        }
    }

    /** Compares {@code [0, size)} of two sources, 4 MiB at a time; names the first byte that differs. */
    static void assertSameBytes(String what, Bytes expected, Bytes actual, long size) throws IOException {
        assertSameBytes(what, expected, actual, List.<long[]>of(new long[] {0, size}));
    }

    /** Compares the given ranges [start, end) of two sources, naming the first byte that differs. */
    static void assertSameBytes(String what, Bytes expected, Bytes actual, List<long[]> ranges) throws IOException {
        byte[] want = new byte[COMPARE_CHUNK];
        byte[] got = new byte[COMPARE_CHUNK];
        for (long[] range : ranges) {
            for (long at = range[0]; at < range[1]; at += COMPARE_CHUNK) {
                int n = (int) Math.min(COMPARE_CHUNK, range[1] - at);
                byte[] w = n == COMPARE_CHUNK ? want : new byte[n];
                byte[] g = n == COMPARE_CHUNK ? got : new byte[n];
                expected.read(at, w);
                actual.read(at, g);
                int i = Arrays.mismatch(w, g);
                if (i >= 0) {
                    long where = at + i;
                    int from = Math.max(0, i - 8);
                    int to = Math.min(n, i + 24);
                    fail(what + ": first difference at byte " + where + " (sector " + where / 512 + ", +"
                            + where % 512 + "); expected " + HexFormat.of().formatHex(w, from, to) + ", got "
                            + HexFormat.of().formatHex(g, from, to) + " (from byte " + (at + from) + ")");
                }
            }
        }
    }

    /** Compares the whole of a raw file with a source; the file must be exactly {@code size} bytes. */
    static void assertRawFileHolds(String what, Path raw, Bytes expected, long size) throws IOException {
        assertEquals(size, Files.size(raw), what + ": size of " + raw);
        try (FileChannel ch = FileChannel.open(raw, StandardOpenOption.READ)) {
            assertSameBytes(what, expected, Bytes.of(ch), size);
        }
    }

    /**
     * Where to compare a disk byte by byte: all of it when {@code everywhere}, otherwise the
     * chunks written (widened by 4 MiB, more than a block, so the rest of every block written is
     * included), the first and last 4 MiB, and fifteen evenly spread MiB.
     */
    static List<long[]> comparisonRanges(DiskModel model, boolean everywhere) {
        long size = model.size();
        if (everywhere) {
            return List.<long[]>of(new long[] {0, size});
        }
        List<long[]> ranges = new ArrayList<>(model.writtenRanges(4L * MIB));
        ranges.add(new long[] {0, Math.min(size, 4L * MIB)});
        ranges.add(new long[] {Math.max(0, size - 4L * MIB), size});
        for (int i = 1; i < 16; i++) { // and 15 probes of 1 MiB spread over the disk, written or not
            long at = size / 16 * i / MIB * MIB;
            ranges.add(new long[] {at, Math.min(size, at + MIB)});
        }
        return merge(ranges);
    }

    /**
     * Asserts that every extent of the disk that holds data lies inside {@code ranges}: outside
     * them the disk holds nothing and reads as zeros, so comparing only the ranges misses nothing.
     */
    static void assertDataOnlyWithin(VirtualDisk disk, List<long[]> ranges) throws IOException {
        for (Extent e : disk.extents(0, disk.size())) {
            if (!e.isData()) {
                continue;
            }
            boolean inside = ranges.stream().anyMatch(r -> r[0] <= e.offset() && e.end() <= r[1]);
            assertTrue(inside, () -> disk.name() + ": data at [" + e.offset() + ", " + e.end()
                    + ") outside the ranges compared");
        }
    }

    /** Sorts and merges overlapping or touching ranges. */
    static List<long[]> merge(List<long[]> ranges) {
        return QemuImg.merge(ranges);
    }

    // ---------------------------------------------------------------- the tools

    static Result qemuImg(String... args) {
        String[] argv = new String[args.length + 1];
        argv[0] = "qemu-img";
        System.arraycopy(args, 0, argv, 1, args.length);
        return ExternalTools.run(TOOL_TIMEOUT, argv);
    }

    /** {@code qemu-img info --output=json -f vpc}: the virtual size qemu gives the image. */
    static long qemuVirtualSize(Path image) {
        Result info = qemuImg("info", "--output=json", "-f", "vpc", image.toString()).requireSuccess();
        return jsonLong(info.stdout(), "virtual-size");
    }

    static long jsonLong(String json, String key) {
        Matcher m = Pattern.compile("\"" + Pattern.quote(key) + "\"\\s*:\\s*(\\d+)").matcher(json);
        assertTrue(m.find(), () -> "no \"" + key + "\" in " + json);
        return Long.parseLong(m.group(1));
    }

    /** {@code qemu-img convert -f vpc -O raw}, returning the raw file. */
    static Path qemuConvertToRaw(Path image, Path raw) {
        qemuImg("convert", "-f", "vpc", "-O", "raw", image.toString(), raw.toString()).requireSuccess();
        return raw;
    }

    /**
     * The data ranges of {@code qemu-img map --output=json -f vpc}: for a dynamic image, the
     * blocks its table allocates; merged.
     */
    static List<long[]> qemuDataRanges(Path image) {
        return QemuImg.dataRanges(image);
    }

    private static final Pattern VHDI_MEDIA_SIZE = Pattern.compile("Media size\\s*:[^(\\n]*\\((\\d+) bytes\\)");

    /** vhdiinfo's output. */
    static Result vhdiinfo(Path image) {
        return ExternalTools.run(TOOL_TIMEOUT, "vhdiinfo", image.toString()).requireSuccess();
    }

    /** The "Media size : ... (N bytes)" vhdiinfo prints. */
    static long vhdiMediaSize(String vhdiinfoOutput) {
        Matcher m = VHDI_MEDIA_SIZE.matcher(vhdiinfoOutput);
        assertTrue(m.find(), () -> "no media size in vhdiinfo's output:\n" + vhdiinfoOutput);
        return Long.parseLong(m.group(1));
    }

    /** The value vhdiinfo prints for a "Label : value" line, trimmed. */
    static String vhdiField(String vhdiinfoOutput, String label) {
        Matcher m = Pattern.compile("(?m)^\\s*" + Pattern.quote(label) + "\\s*:\\s*(.*)$").matcher(vhdiinfoOutput);
        assertTrue(m.find(), () -> "no '" + label + "' in vhdiinfo's output:\n" + vhdiinfoOutput);
        return m.group(1).trim();
    }
}
