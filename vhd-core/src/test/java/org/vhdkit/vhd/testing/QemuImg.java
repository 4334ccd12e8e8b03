package org.vhdkit.vhd.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.vhdkit.vhd.disk.Extent;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.format.BlockAllocationTable;
import org.vhdkit.vhd.format.DiskType;

/**
 * Cross-checks of a VHD image with qemu-img that can fail. qemu-img 7.2 cannot check a VHD at all
 * ({@code qemu-img check -f vpc} exits 63, "does not support checks", for every image, sound or
 * not), so agreement with qemu is shown by what it maps and what it reads instead.
 *
 * <p>Thread-safety: stateless; each call runs its own qemu-img processes.
 */
public final class QemuImg {
    private static final Duration TIMEOUT = Duration.ofSeconds(120);
    private static final int CHUNK = 1 << 20;
    private static final Pattern MAP_ENTRY = Pattern.compile(
            "\\{\\s*\"start\"\\s*:\\s*(\\d+)\\s*,\\s*\"length\"\\s*:\\s*(\\d+)[^}]*?\"data\"\\s*:\\s*(true|false)");

    private QemuImg() {
    }

    /**
     * {@code qemu-img map -f vpc} shows data exactly where our allocation table allocates blocks (qemu
     * reads the table, not the sector bitmaps, and does not follow parents); for a fixed image, data
     * over the whole disk. Fails on a table qemu reads differently from us: a wrong entry, a wrong
     * table offset or size, a block size or disk size qemu does not see.
     */
    public static void assertMapsTheBlocksOurTableAllocates(Path image) throws IOException {
        List<long[]> ours = new ArrayList<>();
        long size;
        try (VhdDisk disk = Vhd.openReadOnly(image)) {
            size = disk.size();
            if (disk.type() == DiskType.FIXED) {
                ours.add(new long[] {0, size});
            } else {
                BlockAllocationTable table = disk.blockAllocationTable().orElseThrow();
                long block = disk.dynamicHeader().orElseThrow().blockSize();
                for (int i = 0; i < table.size(); i++) {
                    if (table.isAllocated(i)) {
                        long start = i * block;
                        ours.add(new long[] {start, Math.min(start + block, size)});
                    }
                }
            }
        }
        // qemu maps a fixed image's footer too; what lies beyond the disk is no part of the comparison.
        List<long[]> qemu = new ArrayList<>();
        for (long[] r : dataRanges(image)) {
            if (r[0] < size) {
                qemu.add(new long[] {r[0], Math.min(r[1], size)});
            }
        }
        assertEquals(describe(merge(ours)), describe(qemu),
                "qemu-img map's data ranges against the blocks our table allocates in " + image);
    }

    /**
     * {@code qemu-img compare} finds that qemu reads, through its vpc driver, the bytes we read from
     * a fixed or dynamic image (qemu ignores a differencing disk's parent, so not for those).
     */
    public static void assertReadsTheBytesWeRead(Path image, Path scratch) throws IOException {
        Path raw = Files.createTempFile(scratch, "our-read-", ".raw");
        try {
            try (VhdDisk disk = Vhd.openReadOnly(image);
                    RandomAccessFile out = new RandomAccessFile(raw.toFile(), "rw")) {
                assertNotEquals(DiskType.DIFFERENCING, disk.type(), "qemu does not follow parents: " + image);
                out.setLength(disk.size());
                byte[] buffer = new byte[CHUNK];
                for (Extent e : disk.extents(0, disk.size())) {
                    if (!e.isData()) {
                        continue;
                    }
                    for (long at = e.offset(); at < e.end(); at += CHUNK) {
                        int n = (int) Math.min(CHUNK, e.end() - at);
                        byte[] chunk = n == CHUNK ? buffer : new byte[n];
                        disk.read(at, chunk);
                        out.seek(at);
                        out.write(chunk, 0, n);
                    }
                }
            }
            run("compare", "-f", "vpc", "-F", "raw", image.toString(), raw.toString());
        } finally {
            Files.deleteIfExists(raw);
        }
    }

    /** The data ranges of {@code qemu-img map --output=json -f vpc}, merged, as [start, end) pairs. */
    public static List<long[]> dataRanges(Path image) {
        Matcher m = MAP_ENTRY.matcher(run("map", "--output=json", "-f", "vpc", image.toString()).stdout());
        List<long[]> ranges = new ArrayList<>();
        while (m.find()) {
            if (m.group(3).equals("true")) {
                long start = Long.parseLong(m.group(1));
                ranges.add(new long[] {start, start + Long.parseLong(m.group(2))});
            }
        }
        return merge(ranges);
    }

    /** Ranges in order with touching ones joined. */
    public static List<long[]> merge(List<long[]> ranges) {
        List<long[]> sorted = new ArrayList<>(ranges);
        sorted.sort((a, b) -> Long.compare(a[0], b[0]));
        List<long[]> merged = new ArrayList<>();
        for (long[] r : sorted) {
            if (r[1] <= r[0]) {
                continue;
            }
            if (!merged.isEmpty() && merged.getLast()[1] >= r[0]) {
                merged.getLast()[1] = Math.max(merged.getLast()[1], r[1]);
            } else {
                merged.add(r.clone());
            }
        }
        return merged;
    }

    /** Ranges as "[start, end)" lines, for a readable assertion message. */
    public static String describe(List<long[]> ranges) {
        StringBuilder sb = new StringBuilder();
        for (long[] r : ranges) {
            sb.append('[').append(r[0]).append(", ").append(r[1]).append(")\n");
        }
        return sb.toString();
    }

    private static ExternalTools.Result run(String... args) {
        String[] argv = new String[args.length + 1];
        argv[0] = "qemu-img";
        System.arraycopy(args, 0, argv, 1, args.length);
        return ExternalTools.run(TIMEOUT, argv).requireSuccess();
    }
}
