package org.vhdkit.export.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.disk.Extent;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.check.CheckReport;
import org.vhdkit.vhd.check.ImageCheck;
import org.vhdkit.vhd.testing.ExternalTools;

/**
 * The server against the real clients: qemu-img (compare, map), qemu-io (writes of every kind),
 * nbdinfo --map and nbdcopy, over a Unix socket, for fixed, dynamic and 3-level differencing disks.
 * What the clients see is checked against the library's own reading and allocation map.
 */
@Timeout(120)
class NbdInteropTest {
    private static final int MIB = 1 << 20;
    private static final int SIZE = 16 * MIB;
    private static final Duration TOOL = Duration.ofSeconds(60);

    @TempDir
    Path tmp;

    private final List<VirtualDisk> open = new ArrayList<>();
    private NbdServer server;
    private final List<String> log = Collections.synchronizedList(new ArrayList<>());

    @AfterEach
    void stop() throws IOException {
        if (server != null) {
            server.close();
        }
        for (VirtualDisk d : open) {
            d.close();
        }
    }

    private void serve(NbdServer.Export... exports) throws IOException {
        server = NbdServer.start(UnixDomainSocketAddress.of(tmp.resolve("nbd.sock")), List.of(exports), log::add);
    }

    private String url(String export) {
        return "nbd+unix:///" + export + "?socket=" + tmp.resolve("nbd.sock");
    }

    private static byte[] pattern(int length, int seed) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** Writes {@code data} at {@code offset} to the disk and to the expected contents. */
    private static void put(VirtualDisk disk, byte[] expected, long offset, byte[] data) throws IOException {
        disk.write(offset, data);
        System.arraycopy(data, 0, expected, (int) offset, data.length);
    }

    /** A 3-level chain (base dynamic, two differencing layers), each layer writing its own ranges. */
    private Path chain(byte[] expected) throws IOException {
        Path base = tmp.resolve("base.vhd");
        Path mid = tmp.resolve("mid.vhd");
        Path top = tmp.resolve("top.vhd");
        try (VhdDisk d = Vhd.create(base, CreateOptions.dynamic(SIZE))) {
            put(d, expected, 0, pattern(MIB, 1));
            put(d, expected, 6 * MIB, pattern(3 * MIB, 2));
        }
        try (VhdDisk d = Vhd.create(mid, CreateOptions.differencing(base))) {
            put(d, expected, MIB / 2, pattern(4096, 3));
            put(d, expected, 10 * MIB + 512, pattern(70_000, 4));
        }
        try (VhdDisk d = Vhd.create(top, CreateOptions.differencing(mid))) {
            put(d, expected, 7 * MIB, pattern(8192, 5));
            put(d, expected, 14 * MIB, pattern(MIB, 6));
        }
        return top;
    }

    private Path dynamic(byte[] expected) throws IOException {
        Path p = tmp.resolve("dynamic.vhd");
        try (VhdDisk d = Vhd.create(p, CreateOptions.dynamic(SIZE))) {
            put(d, expected, 3 * MIB + 100, pattern(5000, 7));
            put(d, expected, 12 * MIB, pattern(2 * MIB, 8));
        }
        return p;
    }

    private Path fixed(byte[] expected) throws IOException {
        Path p = tmp.resolve("fixed.vhd");
        try (VhdDisk d = Vhd.create(p, CreateOptions.fixed(SIZE))) {
            put(d, expected, 0, pattern(4096, 9));
            put(d, expected, 9 * MIB + 7, pattern(100_000, 10));
        }
        return p;
    }

    /** Serves {@code file} read-write as export {@code d}; returns the open disk. */
    private VhdDisk serveWritable(Path file) throws IOException {
        VhdDisk disk = Vhd.open(file, OpenOptions.READ_WRITE);
        open.add(disk);
        serve(new NbdServer.Export("d", disk, false, "d"));
        return disk;
    }

    private VirtualDisk openReadOnly(Path p) throws IOException {
        VirtualDisk d = Vhd.openReadOnly(p);
        open.add(d);
        return d;
    }

    @Test
    void qemuImgCompareSeesEachDiskAsItIs() throws IOException {
        ExternalTools.assumeAvailable("qemu-img");
        byte[] fixedBytes = new byte[SIZE];
        byte[] dynamicBytes = new byte[SIZE];
        byte[] chainBytes = new byte[SIZE];
        Path fixed = fixed(fixedBytes);
        Path dynamic = dynamic(dynamicBytes);
        Path top = chain(chainBytes);
        Path flat = tmp.resolve("chain.raw");
        Files.write(flat, chainBytes);
        serve(new NbdServer.Export("fixed", openReadOnly(fixed), true, "f"),
                new NbdServer.Export("dynamic", openReadOnly(dynamic), true, "d"),
                new NbdServer.Export("chain", openReadOnly(top), true, "c"));
        // The VHDs against qemu's own reading of them (qemu may read them: ours are read-only).
        ExternalTools.run(TOOL, "qemu-img", "compare", "-f", "raw", "-F", "vpc", url("fixed"), fixed.toString()).requireSuccess();
        ExternalTools.run(TOOL, "qemu-img", "compare", "-f", "raw", "-F", "vpc", url("dynamic"), dynamic.toString()).requireSuccess();
        // qemu does not follow a VHD's parents, so the chain against what was written into it.
        ExternalTools.run(TOOL, "qemu-img", "compare", "-f", "raw", "-F", "raw", url("chain"), flat.toString()).requireSuccess();
        // And the comparison can fail: the chain is not the dynamic disk.
        assertEquals(1, ExternalTools.run(TOOL, "qemu-img", "compare", "-f", "raw", "-F", "raw", url("dynamic"),
                flat.toString()).exitCode());
    }

    /** The library's map as (start, length, data) runs, neighbours of the same kind merged. */
    private static List<long[]> ourMap(VirtualDisk disk) throws IOException {
        List<long[]> runs = new ArrayList<>();
        for (Extent e : disk.extents(0, disk.size())) {
            add(runs, e.offset(), e.length(), e.isData());
        }
        return runs;
    }

    private static void add(List<long[]> runs, long start, long length, boolean data) {
        if (!runs.isEmpty()) {
            long[] last = runs.getLast();
            if ((last[2] == 1) == data && last[0] + last[1] == start) {
                last[1] += length;
                return;
            }
        }
        runs.add(new long[] {start, length, data ? 1 : 0});
    }

    private static String show(List<long[]> runs) {
        return runs.stream().map(r -> r[0] + "+" + r[1] + (r[2] == 1 ? " data" : " hole")).toList().toString();
    }

    @Test
    void qemuImgMapAndNbdinfoMapShowOurAllocationMap() throws IOException {
        ExternalTools.assumeAvailable("qemu-img", "nbdinfo");
        VirtualDisk top = openReadOnly(chain(new byte[SIZE]));
        VirtualDisk dynamic = openReadOnly(dynamic(new byte[SIZE]));
        serve(new NbdServer.Export("chain", top, true, "c"), new NbdServer.Export("dynamic", dynamic, true, "d"));
        for (String name : List.of("chain", "dynamic")) {
            VirtualDisk disk = name.equals("chain") ? top : dynamic;
            List<long[]> expected = ourMap(disk);
            assertTrue(expected.size() > 2, "the disk has holes and data: " + show(expected));

            String json = ExternalTools.run(TOOL, "qemu-img", "map", "--output=json", "-f", "raw", url(name))
                    .requireSuccess().stdout();
            List<long[]> qemu = new ArrayList<>();
            Matcher m = Pattern.compile("\"start\": (\\d+), \"length\": (\\d+),.*?\"data\": (true|false)").matcher(json);
            while (m.find()) {
                add(qemu, Long.parseLong(m.group(1)), Long.parseLong(m.group(2)), m.group(3).equals("true"));
            }
            assertEquals(show(expected), show(qemu), json);

            String map = ExternalTools.run(TOOL, "nbdinfo", "--map", url(name)).requireSuccess().stdout();
            List<long[]> nbdinfo = new ArrayList<>();
            for (String line : map.strip().split("\n")) {
                String[] f = line.strip().split("\\s+");
                add(nbdinfo, Long.parseLong(f[0]), Long.parseLong(f[1]), (Integer.parseInt(f[2]) & 1) == 0);
            }
            assertEquals(show(expected), show(nbdinfo), map);
        }
    }

    @Test
    void nbdcopyCopiesAChainOutWhileAGarbageClientIsDropped() throws Exception {
        ExternalTools.assumeAvailable("nbdcopy");
        byte[] expected = new byte[SIZE];
        serve(new NbdServer.Export("chain", openReadOnly(chain(expected)), true, "c"));
        try (SocketChannel garbage = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            garbage.connect(server.address());
            CompletableFuture<ExternalTools.Result> copy = CompletableFuture.supplyAsync(() ->
                    ExternalTools.run(TOOL, "nbdcopy", url("chain"), tmp.resolve("out.raw").toString()));
            ByteBuffer junk = ByteBuffer.wrap(pattern(64 * 1024, 11));
            try {
                while (junk.hasRemaining()) {
                    garbage.write(junk);
                }
                ByteBuffer sink = ByteBuffer.allocate(4096);
                while (garbage.read(sink.clear()) >= 0) {
                    // what the server said before it dropped us
                }
            } catch (IOException dropped) {
                // reset by the server: dropped as well
            }
            copy.get().requireSuccess();
        }
        assertArrayEquals(expected, Files.readAllBytes(tmp.resolve("out.raw")));
        assertTrue(log.stream().anyMatch(l -> l.contains("dropped")), log.toString());
    }

    @Test
    void qemuIoWritesThroughTheServerLeaveACleanImage() throws IOException {
        ExternalTools.assumeAvailable("qemu-io", "qemu-img");
        byte[] expected = new byte[SIZE];
        Path file = dynamic(expected);
        VhdDisk disk = serveWritable(file);
        ExternalTools.run(TOOL, "qemu-io", "-f", "raw",
                "-c", "write -P 0xab 0 64k", // aligned
                "-c", "write -P 0xcd 70000 3000", // unaligned, into a new block's first sector
                "-c", "write -f -P 0x5e 5M 4k", // FUA
                "-c", "write -z 12M 8k", // zeroes over data
                "-c", "write -z -u 8M 64k", // zeroes over a hole: stays a hole
                "-c", "discard 13M 4k", // a hint: the data may stay
                "-c", "flush", url("d")).requireSuccess();
        fill(expected, 0, 65536, (byte) 0xab);
        fill(expected, 70000, 3000, (byte) 0xcd);
        fill(expected, 5 * MIB, 4096, (byte) 0x5e);
        fill(expected, 12 * MIB, 8192, (byte) 0);
        byte[] trimmed = Arrays.copyOfRange(expected, 13 * MIB, 13 * MIB + 4096);

        assertEquals(Extent.ZERO, disk.extents(8 * MIB, 64 * 1024).getFirst().layer(), "zeroing a hole allocated nothing");
        server.close();
        server = null;
        open.remove(disk);
        disk.close();

        CheckReport report = ImageCheck.check(file, ProgressListener.NONE);
        assertEquals(CheckReport.Status.CLEAN, report.status(), report.toString());
        byte[] actual = new byte[SIZE];
        try (VirtualDisk d = Vhd.openReadOnly(file)) {
            d.read(0, actual);
        }
        byte[] actualTrimmed = Arrays.copyOfRange(actual, 13 * MIB, 13 * MIB + 4096);
        assertTrue(Arrays.equals(trimmed, actualTrimmed) || Arrays.equals(new byte[4096], actualTrimmed),
                "a trimmed range reads as before or as zeros");
        System.arraycopy(trimmed, 0, actual, 13 * MIB, 4096);
        assertArrayEquals(expected, actual);
        // qemu reads the image the same.
        Path flat = tmp.resolve("expected.raw");
        Files.write(flat, actual);
        ExternalTools.run(TOOL, "qemu-img", "compare", "-f", "vpc", "-F", "raw", file.toString(), flat.toString())
                .requireSuccess();
    }

    @Test
    void aWriterAndAReaderAtOnce() throws Exception {
        ExternalTools.assumeAvailable("qemu-io", "nbdcopy");
        byte[] expected = new byte[SIZE];
        Path file = dynamic(expected);
        VhdDisk disk = serveWritable(file);
        CompletableFuture<ExternalTools.Result> writer = CompletableFuture.supplyAsync(() -> ExternalTools.run(TOOL,
                "qemu-io", "-f", "raw", "-c", "write -P 0x42 4M 2M", "-c", "flush", url("d")));
        CompletableFuture<ExternalTools.Result> reader = CompletableFuture.supplyAsync(() -> ExternalTools.run(TOOL,
                "nbdcopy", url("d"), tmp.resolve("copy.raw").toString()));
        writer.get().requireSuccess();
        reader.get().requireSuccess();
        byte[] copy = Files.readAllBytes(tmp.resolve("copy.raw"));
        // Outside the range written, the copy is the disk as it was; inside, old or new bytes.
        for (int i = 0; i < SIZE; i += 512) {
            boolean inWrite = i >= 4 * MIB && i < 6 * MIB;
            byte[] got = Arrays.copyOfRange(copy, i, i + 512);
            byte[] before = Arrays.copyOfRange(expected, i, i + 512);
            byte[] after = new byte[512];
            Arrays.fill(after, (byte) 0x42);
            assertTrue(Arrays.equals(got, before) || inWrite && Arrays.equals(got, after),
                    "sector at " + i);
        }
        byte[] back = new byte[2 * MIB];
        disk.read(4 * MIB, back);
        byte[] written = new byte[2 * MIB];
        Arrays.fill(written, (byte) 0x42);
        assertArrayEquals(written, back);
        assertTrue(log.stream().filter(l -> l.contains("by NBD_OPT_GO")).count() >= 2, log.toString());
    }

    /** Fills {@code length} bytes of {@code a} from {@code offset}. */
    private static void fill(byte[] a, int offset, int length, byte value) {
        Arrays.fill(a, offset, offset + length, value);
    }
}
