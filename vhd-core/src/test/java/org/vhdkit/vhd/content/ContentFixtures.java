package org.vhdkit.vhd.content;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.disk.Extent;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.testing.ExternalTools;

/**
 * What the tests of this package share: one content written out as a raw file, a fixed VHD, a
 * dynamic VHD and a three-level differencing chain; a disk that records its reads; and the few
 * qemu-img outputs the tests parse.
 */
final class ContentFixtures {
    static final int MIB = 1 << 20;
    static final int SECTOR = 512;
    static final Duration TOOL_TIMEOUT = Duration.ofSeconds(60);

    private ContentFixtures() {
    }

    /** The ways the same bytes can be stored. */
    enum Layout { RAW, FIXED, DYNAMIC, CHAIN }

    /**
     * A disk of 9 MiB and three sectors (not a whole number of windows or blocks): random bytes in
     * ranges with unaligned ends, zeros elsewhere, and all of the third 2 MiB block zero.
     */
    static byte[] sparseRandomModel(long seed) {
        byte[] model = new byte[9 * MIB + 3 * SECTOR];
        Random random = new Random(seed);
        fill(random, model, 0, 300_001);                      // from byte 0, ending mid-sector
        fill(random, model, 2 * MIB - 4097, 2 * MIB + 5000);  // across the first block boundary
        fill(random, model, 7 * MIB + 3, 8 * MIB + 1000);     // across the window boundary at 8 MiB
        fill(random, model, model.length - 700, model.length); // the very end
        return model;
    }

    static void fill(Random random, byte[] model, int from, int to) {
        byte[] bytes = new byte[to - from];
        random.nextBytes(bytes);
        System.arraycopy(bytes, 0, model, from, bytes.length);
    }

    /** Writes {@code model} in {@code layout} under {@code dir} and returns the file to open. */
    static Path write(Layout layout, byte[] model, Path dir) throws IOException {
        Files.createDirectories(dir);
        return switch (layout) {
            case RAW -> Files.write(dir.resolve("disk.img"), model);
            case FIXED -> {
                Path path = dir.resolve("fixed.vhd");
                try (VhdDisk disk = Vhd.create(path, CreateOptions.fixed(model.length))) {
                    disk.write(0, model);
                }
                yield path;
            }
            case DYNAMIC -> {
                Path path = dir.resolve("dynamic.vhd");
                try (VhdDisk disk = Vhd.create(path, CreateOptions.dynamic(model.length))) {
                    writeNonZeroSectors(disk, model);
                }
                yield path;
            }
            case CHAIN -> chain(model, dir);
        };
    }

    /**
     * A base, a middle and a top disk that together read as {@code model}: the base holds the model
     * but for two ranges of garbage, the middle mends one of them and spoils a third range, the top
     * mends the rest. Every layer shows through somewhere.
     */
    private static Path chain(byte[] model, Path dir) throws IOException {
        Random random = new Random(99);
        int[][] spoiled = {{100_000, 200_000}, {2 * MIB - 10, 2 * MIB + 10}, {7 * MIB + 511, 7 * MIB + 2 * 4096}};
        byte[] base = model.clone();
        fill(random, base, spoiled[0][0], spoiled[0][1]);
        fill(random, base, spoiled[1][0], spoiled[1][1]);
        Path basePath = dir.resolve("base.vhd");
        try (VhdDisk disk = Vhd.create(basePath, CreateOptions.dynamic(model.length))) {
            writeNonZeroSectors(disk, base);
        }
        Path middle = dir.resolve("middle.vhd");
        try (VhdDisk disk = Vhd.create(middle, CreateOptions.differencing(basePath))) {
            write(disk, model, spoiled[0][0], spoiled[0][1]);
            byte[] garbage = new byte[spoiled[2][1] - spoiled[2][0]];
            random.nextBytes(garbage);
            disk.write(spoiled[2][0], garbage);
        }
        Path top = dir.resolve("top.vhd");
        try (VhdDisk disk = Vhd.create(top, CreateOptions.differencing(middle))) {
            write(disk, model, spoiled[1][0], spoiled[1][1]);
            write(disk, model, spoiled[2][0], spoiled[2][1]);
        }
        return top;
    }

    private static void write(VirtualDisk disk, byte[] model, int from, int to) throws IOException {
        disk.write(from, MemorySegment.ofArray(model), from, to - from);
    }

    /** Writes only the sectors of {@code model} that are not all zero, so the rest stays unallocated. */
    static void writeNonZeroSectors(VirtualDisk disk, byte[] model) throws IOException {
        byte[] zero = new byte[SECTOR];
        int runStart = -1;
        for (int at = 0; at <= model.length; at += SECTOR) {
            boolean data = at < model.length && !Arrays.equals(model, at, at + SECTOR, zero, 0, SECTOR);
            if (data && runStart < 0) {
                runStart = at;
            } else if (!data && runStart >= 0) {
                write(disk, model, runStart, at);
                runStart = -1;
            }
        }
    }

    /** Opens what {@link #write} made, read-only. */
    static VirtualDisk open(Layout layout, Path file) throws IOException {
        return layout == Layout.RAW ? org.vhdkit.vhd.disk.RawDisk.open(file, true) : Vhd.openReadOnly(file);
    }

    /** A disk that passes everything to another and records the ranges it was asked to read. */
    static final class RecordingDisk implements VirtualDisk {
        final VirtualDisk disk;
        final List<long[]> reads = new ArrayList<>();

        RecordingDisk(VirtualDisk disk) {
            this.disk = disk;
        }

        long bytesRead() {
            return reads.stream().mapToLong(r -> r[1]).sum();
        }

        /** Fails when a read touched a range that {@link VirtualDisk#extents} reports as {@link Extent#ZERO}. */
        void assertNoZeroRangeRead() throws IOException {
            for (long[] read : reads) {
                for (Extent e : disk.extents(read[0], read[1])) {
                    if (!e.isData()) {
                        throw new AssertionError(disk.name() + ": read " + read[1] + " bytes at " + read[0]
                                + ", which takes in the unallocated " + e);
                    }
                }
            }
        }

        @Override
        public String name() {
            return disk.name();
        }

        @Override
        public long size() {
            return disk.size();
        }

        @Override
        public boolean isReadOnly() {
            return true;
        }

        @Override
        public void read(long offset, MemorySegment dst, long dstOffset, long length) throws IOException {
            reads.add(new long[] {offset, length});
            disk.read(offset, dst, dstOffset, length);
        }

        @Override
        public void write(long offset, MemorySegment src, long srcOffset, long length) throws IOException {
            throw new IOException("read-only");
        }

        @Override
        public void flush() {
        }

        @Override
        public List<Extent> extents(long offset, long length) throws IOException {
            return disk.extents(offset, length);
        }

        @Override
        public void close() throws IOException {
            disk.close();
        }
    }

    // ---------------------------------------------------------------- real tools

    /** Runs a tool and returns what it printed, failing on a non-zero exit code. */
    static String run(String... argv) {
        return ExternalTools.run(TOOL_TIMEOUT, argv).requireSuccess().stdout();
    }

    /** {@code sha256sum FILE}: the digest alone. */
    static String sha256sum(Path file) {
        return run("sha256sum", file.toString()).split("\\s+")[0];
    }

    /**
     * A dynamic VHD made by qemu-img ({@code force_size}, so that it keeps the exact size, creator
     * {@code qem2}) holding {@code model}'s non-zero 64 KiB pieces, written by qemu-io.
     */
    static Path qemuDynamic(byte[] model, Path dir) throws IOException {
        Files.createDirectories(dir);
        Path image = dir.resolve("qemu.vhd");
        run("qemu-img", "create", "-q", "-f", "vpc", "-o", "subformat=dynamic,force_size=on", image.toString(),
                Integer.toString(model.length));
        Path pieces = dir.resolve("piece.bin");
        int piece = 64 << 10;
        for (int at = 0; at < model.length; at += piece) {
            int n = Math.min(piece, model.length - at);
            byte[] bytes = Arrays.copyOfRange(model, at, at + n);
            if (Arrays.equals(bytes, new byte[n])) {
                continue;
            }
            Files.write(pieces, bytes);
            // qemu-io's "write -s FILE" writes the file's bytes.
            run("qemu-io", "-f", "vpc", "-c", "write -s " + pieces + " " + at + " " + n, image.toString());
        }
        Files.deleteIfExists(pieces);
        return image;
    }

    private static final Pattern MAP_ENTRY = Pattern.compile(
            "\\{\\s*\"start\":\\s*(\\d+),\\s*\"length\":\\s*(\\d+),\\s*\"depth\":\\s*(\\d+),"
                    + "(?:\\s*\"present\":\\s*(?:true|false),)?\\s*\"zero\":\\s*(true|false),"
                    + "\\s*\"data\":\\s*(true|false)(?:,\\s*\"offset\":\\s*(\\d+))?");

    /** One entry of {@code qemu-img map --output=json}. */
    record QemuMapEntry(long start, long length, boolean data, Long offset) {
    }

    /** {@code qemu-img map --output=json -f vpc IMAGE}. */
    static List<QemuMapEntry> qemuMap(Path image) {
        String json = run("qemu-img", "map", "--output=json", "-f", "vpc", image.toString());
        List<QemuMapEntry> entries = new ArrayList<>();
        Matcher m = MAP_ENTRY.matcher(json);
        while (m.find()) {
            entries.add(new QemuMapEntry(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)),
                    Boolean.parseBoolean(m.group(5)), m.group(6) != null ? Long.valueOf(m.group(6)) : null));
        }
        long covered = entries.stream().mapToLong(QemuMapEntry::length).sum();
        assertEquals(entries.isEmpty() ? 0 : entries.getLast().start() + entries.getLast().length(), covered,
                "qemu-img map entries should cover the disk without gaps: " + json);
        return entries;
    }

    /** Neighbouring [start, end) ranges joined. */
    static List<long[]> merge(List<long[]> ranges) {
        List<long[]> merged = new ArrayList<>();
        for (long[] r : ranges) {
            if (!merged.isEmpty() && merged.getLast()[1] == r[0]) {
                merged.getLast()[1] = r[1];
            } else {
                merged.add(r.clone());
            }
        }
        return merged;
    }
}
