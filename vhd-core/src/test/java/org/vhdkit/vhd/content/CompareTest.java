package org.vhdkit.vhd.content;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.vhd.content.ContentFixtures.MIB;
import static org.vhdkit.vhd.content.ContentFixtures.SECTOR;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Random;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.content.ContentFixtures.Layout;
import org.vhdkit.vhd.content.ContentFixtures.RecordingDisk;
import org.vhdkit.vhd.disk.MemoryDisk;
import org.vhdkit.vhd.disk.RawDisk;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.testing.Corpus;
import org.vhdkit.vhd.testing.ExternalTools;

/** {@link DiskContents#compare}: by content across every layout, exact to the byte, and as qemu-img compare says. */
class CompareTest {
    @TempDir
    Path tmp;

    private static Comparison compare(VirtualDisk a, VirtualDisk b, CompareOptions options) throws IOException {
        return DiskContents.compare(a, b, options, ProgressListener.NONE);
    }

    /** The first differing byte of two arrays compared as disks: the excess of the longer against zeros. */
    private static OptionalLong firstDifference(byte[] a, byte[] b) {
        int n = Math.max(a.length, b.length);
        for (int i = 0; i < n; i++) {
            byte x = i < a.length ? a[i] : 0;
            byte y = i < b.length ? b[i] : 0;
            if (x != y) {
                return OptionalLong.of(i);
            }
        }
        return OptionalLong.empty();
    }

    @Test
    void everyLayoutOfTheSameBytesIsIdenticalToEveryOther() throws IOException {
        byte[] model = ContentFixtures.sparseRandomModel(11);
        Map<Layout, Path> files = new EnumMap<>(Layout.class);
        for (Layout layout : Layout.values()) {
            files.put(layout, ContentFixtures.write(layout, model, tmp.resolve(layout.name())));
        }
        for (Layout x : Layout.values()) {
            for (Layout y : Layout.values()) {
                try (VirtualDisk a = ContentFixtures.open(x, files.get(x));
                     VirtualDisk b = ContentFixtures.open(y, files.get(y))) {
                    Comparison c = compare(a, b, CompareOptions.DEFAULT.withCountDifferences(true));
                    assertTrue(c.identical(), x + " against " + y + ": " + c);
                    assertEquals(OptionalLong.of(0), c.differingSectors());
                }
            }
        }
    }

    /** One changed byte, anywhere: the comparison names exactly that byte, whichever disk holds which. */
    @ParameterizedTest
    @EnumSource(Layout.class)
    void theFirstDifferingByteIsFoundExactly(Layout changed) throws IOException {
        byte[] model = ContentFixtures.sparseRandomModel(12);
        Path original = ContentFixtures.write(Layout.DYNAMIC, model, tmp.resolve("original"));
        long[] offsets = {0, 511, 512, 1000, 2 * MIB - 1, 5 * MIB + 77 /* in a block nothing holds */,
            8 * MIB - 1, 8 * MIB, model.length - 1};
        for (long offset : offsets) {
            byte[] other = model.clone();
            other[(int) offset] ^= 0x5a;
            Path copy = ContentFixtures.write(changed, other, tmp.resolve(changed + "-" + offset));
            try (VirtualDisk a = Vhd.openReadOnly(original); VirtualDisk b = ContentFixtures.open(changed, copy)) {
                Comparison ab = compare(a, b, CompareOptions.DEFAULT);
                assertEquals(OptionalLong.of(offset), ab.firstDifference(), changed + ", byte " + offset);
                assertFalse(ab.identical());
                assertEquals(OptionalLong.empty(), ab.differingSectors(), "not counted unless asked");
                assertEquals(OptionalLong.of(offset), compare(b, a, CompareOptions.DEFAULT).firstDifference());
            }
        }
    }

    @Test
    void differingSectorsAreCountedOnceEach() throws IOException {
        byte[] model = ContentFixtures.sparseRandomModel(13);
        byte[] other = model.clone();
        Random random = new Random(3);
        TreeSet<Integer> sectors = new TreeSet<>();
        for (int i = 0; i < 500; i++) {
            int at = random.nextInt(other.length);
            other[at] ^= (byte) (1 + random.nextInt(255));
            sectors.add(at / SECTOR);
        }
        // Two differing bytes in one sector, and a run across a window boundary.
        for (int at = 4 * MIB - 700; at < 4 * MIB + 700; at++) {
            other[at] ^= 1;
            sectors.add(at / SECTOR);
        }
        try (VirtualDisk a = disk(Layout.CHAIN, model, "a"); VirtualDisk b = disk(Layout.DYNAMIC, other, "b")) {
            Comparison c = compare(a, b, CompareOptions.DEFAULT.withCountDifferences(true));
            assertEquals(OptionalLong.of(sectors.size()), c.differingSectors());
            assertEquals(firstDifference(model, other), c.firstDifference());
        }
    }

    private VirtualDisk disk(Layout layout, byte[] bytes, String name) throws IOException {
        return ContentFixtures.open(layout, ContentFixtures.write(layout, bytes, tmp.resolve(name)));
    }

    @Test
    void disksOfDifferentSizesCompareTheirCommonPartAndTheExcessAgainstZeros() throws IOException {
        byte[] small = ContentFixtures.sparseRandomModel(14);
        byte[] large = new byte[small.length + 3 * MIB];
        System.arraycopy(small, 0, large, 0, small.length);
        try (VirtualDisk a = disk(Layout.RAW, small, "small"); VirtualDisk b = disk(Layout.DYNAMIC, large, "large")) {
            Comparison loose = compare(a, b, CompareOptions.DEFAULT);
            assertTrue(loose.identical(), loose.toString());
            assertFalse(loose.sameSize());
            assertEquals(small.length, loose.commonSize());
            Comparison strict = compare(a, b, new CompareOptions(true, true));
            assertFalse(strict.identical());
            assertEquals(OptionalLong.of(small.length), strict.firstDifference(), "the smaller disk's end");
            assertEquals(OptionalLong.of(3L * MIB / SECTOR), strict.differingSectors());
        }
        large[small.length + MIB + 3] = 1;
        large[small.length + 2 * MIB] = 1;
        try (VirtualDisk a = disk(Layout.FIXED, small, "small2"); VirtualDisk b = disk(Layout.CHAIN, large, "large2")) {
            Comparison c = compare(b, a, CompareOptions.DEFAULT.withCountDifferences(true));
            assertEquals(OptionalLong.of(small.length + MIB + 3), c.firstDifference());
            assertEquals(OptionalLong.of(2), c.differingSectors());
            assertEquals(large.length, c.sizeA());
            assertEquals(small.length, c.sizeB());
        }
    }

    @Test
    void rangesNeitherDiskHoldsAreNotRead() throws IOException {
        byte[] block = new byte[2 * MIB];
        new Random(8).nextBytes(block);
        Path x = tmp.resolve("x.vhd");
        Path y = tmp.resolve("y.vhd");
        for (Path p : List.of(x, y)) {
            try (VhdDisk disk = Vhd.create(p, CreateOptions.dynamic(1L << 30))) {
                disk.write(600L * MIB, block);
            }
        }
        try (VhdDisk disk = Vhd.open(y, org.vhdkit.vhd.OpenOptions.READ_WRITE)) {
            disk.write(700L * MIB, block); // only y holds this block
        }
        try (RecordingDisk a = new RecordingDisk(Vhd.openReadOnly(x)); RecordingDisk b = new RecordingDisk(Vhd.openReadOnly(y))) {
            Comparison c = compare(a, b, CompareOptions.DEFAULT);
            assertEquals(OptionalLong.of(700L * MIB), c.firstDifference());
            a.assertNoZeroRangeRead();
            b.assertNoZeroRangeRead();
            assertEquals(2 * MIB, a.bytesRead());
            assertEquals(4 * MIB, b.bytesRead());
        }
    }

    @Test
    void progressCoversTheLargerDisk() throws IOException {
        List<long[]> calls = new ArrayList<>();
        try (MemoryDisk a = MemoryDisk.create("a", 5 * MIB); MemoryDisk b = MemoryDisk.create("b", 9 * MIB)) {
            DiskContents.compare(a, b, CompareOptions.DEFAULT, (done, total) -> calls.add(new long[] {done, total}));
        }
        assertEquals(9 * MIB, calls.getLast()[0]);
        assertTrue(calls.stream().allMatch(call -> call[1] == 9 * MIB));
    }

    // ---------------------------------------------------------------- against qemu-img compare

    private static final Pattern QEMU_MISMATCH = Pattern.compile("Content mismatch at offset (\\d+)!");

    /**
     * A VHD against a raw file, in every relation that matters, with qemu-img compare's verdict (exit
     * status 0 or 1) and, where it names one, its offset: qemu rounds down to the sector.
     */
    @ParameterizedTest
    @EnumSource(value = Layout.class, names = {"FIXED", "DYNAMIC"})
    void qemuImgCompareAgrees(Layout layout) throws IOException {
        ExternalTools.assumeAvailable("qemu-img");
        byte[] model = ContentFixtures.sparseRandomModel(15);
        Path vhd = ContentFixtures.write(layout, model, tmp.resolve("vhd"));
        record Case(String name, byte[] raw, boolean strict) {
        }
        List<Case> cases = new ArrayList<>();
        cases.add(new Case("identical", model, false));
        for (int at : new int[] {0, 777, 2 * MIB + 4096, 5 * MIB + 1 /* a hole in the VHD */, model.length - 1}) {
            byte[] raw = model.clone();
            raw[at] ^= 0x10;
            cases.add(new Case("byte " + at + " changed", raw, false));
        }
        byte[] longer = java.util.Arrays.copyOf(model, model.length + MIB);
        cases.add(new Case("longer, zero excess", longer, false));
        cases.add(new Case("longer, zero excess, strict", longer, true));
        byte[] longerWithData = longer.clone();
        longerWithData[model.length + 1234] = 9;
        cases.add(new Case("longer, data in the excess", longerWithData, false));
        cases.add(new Case("shorter", java.util.Arrays.copyOf(model, model.length - 4 * SECTOR), false));
        int i = 0;
        for (Case c : cases) {
            Path raw = Files.write(tmp.resolve("case" + i++ + ".img"), c.raw());
            List<String> argv = new ArrayList<>(List.of("qemu-img", "compare", "-f", "vpc", "-F", "raw"));
            if (c.strict()) {
                argv.add("-s");
            }
            argv.addAll(List.of(vhd.toString(), raw.toString()));
            ExternalTools.Result qemu = ExternalTools.run(null, ContentFixtures.TOOL_TIMEOUT, argv);
            assertTrue(qemu.exitCode() == 0 || qemu.exitCode() == 1, "qemu-img compare failed: " + qemu);
            try (VirtualDisk a = ContentFixtures.open(layout, vhd); VirtualDisk b = RawDisk.open(raw, true)) {
                Comparison ours = compare(a, b, CompareOptions.DEFAULT.withStrict(c.strict()));
                String what = layout + ", " + c.name() + ": qemu said " + qemu.stdout().strip() + "; we found " + ours;
                assertEquals(qemu.exitCode() == 0, ours.identical(), what);
                assertEquals(firstDifference(model, c.raw()).isEmpty() && (!c.strict() || ours.sameSize()),
                        ours.identical(), what);
                Matcher m = QEMU_MISMATCH.matcher(qemu.stdout());
                if (m.find()) {
                    assertEquals(Long.parseLong(m.group(1)), ours.firstDifference().getAsLong() / SECTOR * SECTOR, what);
                    assertEquals(firstDifference(model, c.raw()), ours.firstDifference(), what);
                }
            }
        }
    }

    @Test
    void windowsMadeDynamicAndFixedCorpusImagesDifferInTheMbrDiskSignature() throws IOException {
        Path dynamic = Corpus.cached("dissect-hypervisor-dynamic.vhd.gz");
        Path fixed = Corpus.cached("dissect-hypervisor-fixed.vhd.gz");
        try (VirtualDisk a = Vhd.openReadOnly(dynamic); VirtualDisk b = Vhd.openReadOnly(fixed)) {
            Comparison c = compare(a, b, CompareOptions.DEFAULT);
            byte[] sa = new byte[SECTOR];
            byte[] sb = new byte[SECTOR];
            a.read(0, sa);
            b.read(0, sb);
            long expected = firstDifference(sa, sb).orElseThrow();
            assertTrue(expected >= 440 && expected < 444, "the README says only the disk signature differs: " + expected);
            assertEquals(OptionalLong.of(expected), c.firstDifference());
        }
    }

    @Test
    void aDiskComparedWithItselfIsIdentical() throws IOException {
        byte[] model = ContentFixtures.sparseRandomModel(16);
        Path top = ContentFixtures.write(Layout.CHAIN, model, tmp);
        try (VirtualDisk a = Vhd.openReadOnly(top); VirtualDisk b = Vhd.openReadOnly(top)) {
            assertTrue(compare(a, b, new CompareOptions(true, true)).identical());
        }
        try (MemoryDisk a = MemoryDisk.create("a", MIB)) {
            a.write(100, MemorySegment.ofArray(new byte[] {1}));
            assertTrue(compare(a, a, CompareOptions.DEFAULT).identical());
        }
    }
}
