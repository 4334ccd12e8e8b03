package org.vhdkit.vhd.check;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import java.io.IOException;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.check.CheckReport.Status;
import org.vhdkit.vhd.check.Faults.Image;
import org.vhdkit.vhd.check.Faults.Layout;
import org.vhdkit.vhd.format.DiskType;
import org.vhdkit.vhd.format.Footer;
import org.vhdkit.vhd.io.ByteStore;
import org.vhdkit.vhd.testing.QemuImg;

/**
 * Each fault injected into an image of known content: the check finds it with the right code and
 * severity, the repair fixes what it claims (and only that), after which the check is clean, the
 * disk reads as its model, and qemu-img agrees.
 */
class ImageCheckTest {
    private static final int MIB = Faults.MIB;

    @TempDir
    Path tmp;

    private static CheckReport check(Path path) throws IOException {
        return ImageCheck.check(path, ProgressListener.NONE);
    }

    private static CheckReport repair(Path path) throws IOException {
        return ImageCheck.repair(path, ProgressListener.NONE);
    }

    private static List<String> codes(CheckReport report) {
        return report.findings().stream().map(Finding::code).toList();
    }

    /** The one finding of {@code code}. */
    private static Finding finding(CheckReport report, String code) {
        List<Finding> found = report.findings().stream().filter(f -> f.code().equals(code)).toList();
        assertEquals(1, found.size(), () -> "one " + code + " in " + report.findings());
        return found.getFirst();
    }

    private static void assertClean(CheckReport report) {
        assertEquals(Status.CLEAN, report.status(), () -> report.findings().toString());
        assertEquals(List.of(), report.findings(), () -> report.findings().toString());
    }

    /** After a repair: clean, the content as before, and qemu-img agrees. */
    private void assertRepaired(CheckReport repair, Image image) throws IOException {
        assertTrue(repair.repairRun());
        assertEquals(Status.CLEAN, repair.status(), () -> repair.findings().toString());
        for (Finding f : repair.findings()) {
            assertEquals(f.repairable(), f.repaired(), () -> "repairable but not repaired: " + f);
        }
        assertClean(check(image.path()));
        Faults.assertReadsAs(image.model(), image.path());
        QemuImg.assertMapsTheBlocksOurTableAllocates(image.path());
        Qemu.assertReadsAs(image.model(), image.path(), tmp);
    }

    // ---------------------------------------------------------------- sound images

    @Test
    void imagesTheLibraryMakesCheckClean() throws IOException {
        Image dynamic = Faults.dynamic(tmp.resolve("dynamic.vhd"), 1);
        Image fixed = Faults.fixed(tmp.resolve("fixed.vhd"), 2);
        Image child = Faults.differencing(tmp.resolve("child.vhd"), dynamic, 3);
        for (Image image : List.of(dynamic, fixed, child)) {
            CheckReport report = check(image.path());
            assertClean(report);
        }
        assertEquals(DiskType.DIFFERENCING, check(child.path()).type().orElseThrow());
        try (VhdDisk empty = Vhd.create(tmp.resolve("empty.vhd"), CreateOptions.dynamic(100L * MIB))) {
            assertEquals(0, empty.blockAllocationTable().orElseThrow().allocatedCount());
        }
        assertClean(check(tmp.resolve("empty.vhd")));
        Path small = tmp.resolve("small-blocks.vhd");
        try (VhdDisk disk = Vhd.create(small, CreateOptions.dynamic(3L * MIB + 5 * 512).withBlockSize(512 << 10))) {
            disk.write(3L * MIB + 4 * 512, new byte[] {1, 2, 3});
            disk.write(100_000, new byte[70_000]);
        }
        assertClean(check(small));
        Path tiny = tmp.resolve("tiny-blocks.vhd");
        try (VhdDisk disk = Vhd.create(tiny, CreateOptions.dynamic(64 << 10).withBlockSize(512))) {
            disk.write(1000, new byte[] {1});
            disk.write(40_000, new byte[] {2});
        }
        assertClean(check(tiny));
    }

    @Test
    void repairOfASoundImageChangesNoByte() throws IOException {
        Image image = Faults.dynamic(tmp.resolve("d.vhd"), 4);
        byte[] before = Files.readAllBytes(image.path());
        CheckReport report = repair(image.path());
        assertEquals(List.of(), report.findings());
        assertArrayEquals(before, Files.readAllBytes(image.path()));
    }

    // ---------------------------------------------------------------- footers

    @Test
    void flippedFooterChecksumOfAFixedDiskIsRepairedByRewritingIt() throws IOException {
        Image image = Faults.fixed(tmp.resolve("f.vhd"), 5);
        Faults.flipFooterChecksum(image.path());
        CheckReport report = check(image.path());
        Finding f = finding(report, "FOOTER_CHECKSUM");
        assertEquals(Severity.CORRUPT, f.severity());
        assertTrue(f.repairable());
        assertEquals(4 * MIB + 64, f.offset());
        assertTrue(f.message().startsWith("footer Checksum at offset 4194368 (0x400040): stored 0x"), f.message());
        assertEquals(Status.CORRUPT, report.status());
        assertEquals(List.of("FOOTER_CHECKSUM"), codes(report));
        long size = Files.size(image.path());
        assertRepaired(repair(image.path()), image);
        assertEquals(size, Files.size(image.path()));
    }

    @Test
    void flippedTrailingFooterChecksumOfADynamicDiskIsRestoredFromTheCopy() throws IOException {
        Image image = Faults.dynamic(tmp.resolve("d.vhd"), 6);
        byte[] sound = Files.readAllBytes(image.path());
        Faults.flipFooterChecksum(image.path());
        CheckReport report = check(image.path());
        assertEquals(List.of("FOOTER_CHECKSUM"), codes(report));
        assertTrue(finding(report, "FOOTER_CHECKSUM").action().contains("copy at offset 0"));
        assertRepaired(repair(image.path()), image);
        assertArrayEquals(sound, Files.readAllBytes(image.path()), "the file as it was before the fault");
    }

    @Test
    void flippedCopyChecksumIsRewrittenFromTheTrailer() throws IOException {
        Image image = Faults.dynamic(tmp.resolve("d.vhd"), 7);
        byte[] sound = Files.readAllBytes(image.path());
        Faults.flipCopyChecksum(image.path());
        CheckReport report = check(image.path());
        Finding f = finding(report, "FOOTER_COPY_CHECKSUM");
        assertEquals(Severity.CORRUPT, f.severity());
        assertTrue(f.message().startsWith("footer copy Checksum at offset 64 (0x40)"), f.message());
        assertEquals(List.of("FOOTER_COPY_CHECKSUM"), codes(report));
        assertRepaired(repair(image.path()), image);
        assertArrayEquals(sound, Files.readAllBytes(image.path()));
    }

    @Test
    void aCopyThatDiffersFromTheTrailerIsRewrittenFromIt() throws IOException {
        Image image = Faults.dynamic(tmp.resolve("d.vhd"), 8);
        byte[] sound = Files.readAllBytes(image.path());
        Footer footer = Footer.decode("copy", sound, 0, 0);
        Faults.poke(image.path(), 0, footer.withTimestamp(footer.timestamp() + 60).encode());
        CheckReport report = check(image.path());
        Finding f = finding(report, "FOOTER_COPY_MISMATCH");
        assertTrue(f.message().contains("Time Stamp"), f.message());
        assertEquals(List.of("FOOTER_COPY_MISMATCH"), codes(report));
        assertRepaired(repair(image.path()), image);
        assertArrayEquals(sound, Files.readAllBytes(image.path()));
    }

    @Test
    void aZeroedCopyIsRewrittenFromTheTrailer() throws IOException {
        Image image = Faults.dynamic(tmp.resolve("d.vhd"), 36);
        byte[] sound = Files.readAllBytes(image.path());
        Faults.poke(image.path(), 0, new byte[512]);
        CheckReport report = check(image.path());
        assertEquals(List.of("FOOTER_COPY_DAMAGED"), codes(report));
        assertTrue(report.findings().getFirst().message().startsWith("footer copy Cookie at offset 0 (0x0)"),
                report.findings().getFirst().message());
        assertRepaired(repair(image.path()), image);
        assertArrayEquals(sound, Files.readAllBytes(image.path()));
    }

    @Test
    void withBothFootersDamagedNothingCanBeDone() throws IOException {
        Image image = Faults.dynamic(tmp.resolve("d.vhd"), 37);
        Faults.damageTrailingFooter(image.path());
        Faults.poke(image.path(), 0, new byte[512]);
        CheckReport report = check(image.path());
        assertEquals(List.of("FOOTER_DAMAGED"), codes(report));
        assertTrue(report.type().isEmpty());
        Finding f = report.findings().getFirst();
        assertFalse(f.repairable());
        assertTrue(f.message().contains("no usable copy at offset 0"), f.message());
        byte[] before = Files.readAllBytes(image.path());
        assertEquals(Status.CORRUPT, repair(image.path()).status());
        assertArrayEquals(before, Files.readAllBytes(image.path()));
    }

    @Test
    void damagedTrailingFooterIsRestoredFromTheCopyInPlace() throws IOException {
        Image image = Faults.dynamic(tmp.resolve("d.vhd"), 9);
        byte[] sound = Files.readAllBytes(image.path());
        Faults.damageTrailingFooter(image.path());
        CheckReport report = check(image.path());
        Finding f = finding(report, "FOOTER_DAMAGED");
        assertEquals(Severity.CORRUPT, f.severity());
        assertTrue(f.message().startsWith("footer Cookie at offset " + (sound.length - 512)), f.message());
        assertTrue(f.repairable());
        assertEquals(List.of("FOOTER_DAMAGED"), codes(report));
        assertRepaired(repair(image.path()), image);
        assertArrayEquals(sound, Files.readAllBytes(image.path()));
    }

    /** A crash while appending a block, in a tool that writes the footer last: the file ends in data. */
    @Test
    void aFileCutOffBeforeItsTrailingFooterGetsItBackAfterTheLastBlock() throws IOException {
        Image image = Faults.dynamic(tmp.resolve("d.vhd"), 10);
        long size = Files.size(image.path());
        try (var channel = java.nio.channels.FileChannel.open(image.path(), java.nio.file.StandardOpenOption.WRITE)) {
            channel.truncate(size - 512); // the file ends with the last block's data
        }
        CheckReport report = check(image.path());
        assertEquals(List.of("FOOTER_DAMAGED"), codes(report), report.findings().toString());
        assertTrue(finding(report, "FOOTER_DAMAGED").action().contains("(the file grows from"),
                finding(report, "FOOTER_DAMAGED").action());
        assertRepaired(repair(image.path()), image);
        assertEquals(size, Files.size(image.path()), "the footer right after the last block");
    }

    @Test
    void garbageAppendedAfterTheFooterIsCutOff() throws IOException {
        Image image = Faults.dynamic(tmp.resolve("d.vhd"), 11);
        byte[] sound = Files.readAllBytes(image.path());
        Faults.garbageAfterFooter(image.path(), 777, 1);
        CheckReport report = check(image.path());
        assertEquals(Status.CORRUPT, report.status());
        assertTrue(codes(report).contains("FOOTER_DAMAGED"), codes(report).toString());
        assertRepaired(repair(image.path()), image);
        assertArrayEquals(sound, Files.readAllBytes(image.path()));
    }

    @Test
    void aShortTrailerIsAWarningAndTheRepairWritesItOut() throws IOException {
        for (Image image : List.of(Faults.dynamic(tmp.resolve("d.vhd"), 12), Faults.fixed(tmp.resolve("f.vhd"), 13))) {
            byte[] sound = Files.readAllBytes(image.path());
            Faults.shortenFooter(image.path());
            CheckReport report = check(image.path());
            assertEquals(List.of("FOOTER_SHORT"), codes(report));
            assertEquals(Severity.WARNING, finding(report, "FOOTER_SHORT").severity());
            assertEquals(Status.CLEAN, report.status());
            assertTrue(finding(report, "FOOTER_SHORT").repairable());
            CheckReport repaired = repair(image.path());
            assertTrue(repaired.findings().getFirst().repaired());
            assertRepaired(repaired, image);
            assertArrayEquals(sound, Files.readAllBytes(image.path()));
        }
    }

    @Test
    void aFileThatIsNoVhdIsCorrupt() throws IOException {
        Path random = tmp.resolve("random.bin");
        byte[] bytes = new byte[8192];
        new Random(1).nextBytes(bytes);
        Files.write(random, bytes);
        CheckReport report = check(random);
        assertEquals(List.of("FOOTER_DAMAGED"), codes(report));
        assertTrue(report.type().isEmpty());
        assertFalse(report.findings().getFirst().repairable());
        Path tiny = tmp.resolve("tiny.bin");
        Files.write(tiny, new byte[100]);
        assertEquals(List.of("FILE_TOO_SHORT"), codes(check(tiny)));
        byte[] before = Files.readAllBytes(random);
        assertEquals(Status.CORRUPT, repair(random).status());
        assertArrayEquals(before, Files.readAllBytes(random), "nothing written");
    }

    // ---------------------------------------------------------------- fixed disks

    @Test
    void garbageBetweenAFixedDisksDataAndItsFooterIsALeakThatRepairCuts() throws IOException {
        Image image = Faults.fixed(tmp.resolve("f.vhd"), 14);
        byte[] sound = Files.readAllBytes(image.path());
        Faults.garbageBeforeFooter(image.path(), 8192, 2);
        CheckReport report = check(image.path());
        assertEquals(List.of("LEAKED_TAIL"), codes(report));
        assertEquals(Status.LEAKS, report.status());
        assertRepaired(repair(image.path()), image);
        assertArrayEquals(sound, Files.readAllBytes(image.path()));
    }

    @Test
    void aFixedDiskShorterThanItsSizeIsCorrupt() throws IOException {
        Image image = Faults.fixed(tmp.resolve("f.vhd"), 15);
        byte[] footer = Faults.read(image.path(), 4 * MIB, 512);
        try (var channel = java.nio.channels.FileChannel.open(image.path(), java.nio.file.StandardOpenOption.WRITE)) {
            channel.truncate(3 * MIB);
        }
        Faults.poke(image.path(), 3 * MIB, footer);
        CheckReport report = check(image.path());
        assertEquals(List.of("FIXED_SIZE_MISMATCH"), codes(report));
        assertFalse(report.findings().getFirst().repairable());
    }

    // ---------------------------------------------------------------- dynamic header

    @Test
    void flippedHeaderChecksumIsRewrittenWhenEveryOtherFieldIsValid() throws IOException {
        Image image = Faults.dynamic(tmp.resolve("d.vhd"), 16);
        byte[] sound = Files.readAllBytes(image.path());
        Faults.flipHeaderChecksum(image.path());
        CheckReport report = check(image.path());
        Finding f = finding(report, "HEADER_CHECKSUM");
        assertEquals(548, f.offset());
        assertTrue(f.repairable());
        assertEquals(List.of("HEADER_CHECKSUM"), codes(report));
        assertRepaired(repair(image.path()), image);
        assertArrayEquals(sound, Files.readAllBytes(image.path()));
    }

    /** Changes the dynamic header at 512 and rewrites its checksum, so that only the change is a finding. */
    private static void editHeader(Path path, int at, byte[] bytes) throws IOException {
        byte[] header = Faults.read(path, 512, 1024);
        System.arraycopy(bytes, 0, header, at, bytes.length);
        int sum = org.vhdkit.vhd.format.Checksum.compute(header, 0, 1024, 36);
        header[36] = (byte) (sum >>> 24);
        header[37] = (byte) (sum >>> 16);
        header[38] = (byte) (sum >>> 8);
        header[39] = (byte) sum;
        Faults.poke(path, 512, header);
    }

    /** What the spec says is zero but harms no reader: warnings, the image still clean. */
    @Test
    void reservedBytesAndAParentInADynamicDiskAreWarnings() throws IOException {
        Image image = Faults.dynamic(tmp.resolve("d.vhd"), 41);
        editHeader(image.path(), 800, new byte[] {7}); // the reserved bytes at 768
        editHeader(image.path(), 61, new byte[] {1}); // the reserved bytes at 60
        CheckReport report = check(image.path());
        assertEquals(List.of("HEADER_RESERVED"), codes(report));
        Finding reserved = finding(report, "HEADER_RESERVED");
        assertEquals(Severity.WARNING, reserved.severity());
        assertEquals(512 + 61, reserved.offset());
        assertEquals(Status.CLEAN, report.status());

        Image other = Faults.dynamic(tmp.resolve("e.vhd"), 42);
        editHeader(other.path(), 64, "\0b\0a\0s\0e".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        editHeader(other.path(), 576, new byte[] {'W', '2', 'k', 'u'}); // a locator, its data empty
        CheckReport parent = check(other.path());
        assertEquals(List.of("PARENT_IN_DYNAMIC"), codes(parent));
        Finding f = finding(parent, "PARENT_IN_DYNAMIC");
        assertEquals(Severity.WARNING, f.severity());
        assertTrue(f.message().contains("'base'") && f.message().contains("1 parent locator"), f.message());
        assertEquals(Status.CLEAN, parent.status());
        Faults.assertReadsAs(other.model(), other.path());
    }

    @Test
    void aHeaderThatIsNoHeaderIsCorruptAndStopsTheCheck() throws IOException {
        Image image = Faults.dynamic(tmp.resolve("d.vhd"), 38);
        Faults.poke(image.path(), 512, "cxspars!".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        CheckReport report = check(image.path());
        assertEquals(List.of("HEADER_DAMAGED"), codes(report));
        assertEquals(512, report.findings().getFirst().offset());
        assertFalse(report.findings().getFirst().repairable());
    }

    @Test
    void aHeaderChecksumIsNotRewrittenWhenAnotherFieldIsWrongToo() throws IOException {
        Image image = Faults.dynamic(tmp.resolve("d.vhd"), 17);
        Faults.poke(image.path(), 512 + 28, new byte[] {0, 0, 0, 9}); // Max Table Entries 6 -> 9, checksum not updated
        CheckReport report = check(image.path());
        assertEquals(List.of("HEADER_CHECKSUM", "TABLE_SIZE"), codes(report), report.findings().toString());
        assertFalse(finding(report, "HEADER_CHECKSUM").repairable());
        byte[] before = Files.readAllBytes(image.path());
        assertEquals(Status.CORRUPT, repair(image.path()).status());
        assertArrayEquals(before, Files.readAllBytes(image.path()));
    }

    // ---------------------------------------------------------------- the table and the blocks

    @Test
    void aBatEntryPastTheEndOfTheFileIsCorruptAndNotRepaired() throws IOException {
        Image image = Faults.dynamic(tmp.resolve("d.vhd"), 18);
        Layout layout = Faults.layout(image.path());
        Faults.pointBatEntryPastEnd(image.path(), 5);
        CheckReport report = check(image.path());
        Finding f = finding(report, "BLOCK_PAST_END");
        assertEquals(Severity.CORRUPT, f.severity());
        assertFalse(f.repairable());
        assertEquals(layout.tableOffset() + 20, f.offset());
        assertTrue(f.message().startsWith("BAT entry 5 at offset " + (layout.tableOffset() + 20)), f.message());
        assertEquals(Status.CORRUPT, report.status());
        byte[] before = Files.readAllBytes(image.path());
        CheckReport repaired = repair(image.path());
        assertEquals(Status.CORRUPT, repaired.status());
        assertTrue(repaired.repaired().isEmpty());
        assertArrayEquals(before, Files.readAllBytes(image.path()), "nothing written");
    }

    @Test
    void overlappingBatEntriesAreCorrupt() throws IOException {
        Image image = Faults.dynamic(tmp.resolve("d.vhd"), 19);
        Faults.overlapBatEntries(image.path(), 0, 3);
        CheckReport report = check(image.path());
        Finding f = finding(report, "BLOCKS_OVERLAP");
        assertEquals(Severity.CORRUPT, f.severity());
        assertFalse(f.repairable());
        Layout layout = Faults.layout(image.path());
        long start = layout.bitmapAt(0);
        assertEquals(Messages.at("BAT entry 3", layout.tableOffset() + 12, "block 3 at "
                + Messages.range(start, start + 512 + 2 * MIB) + " overlaps block 0 at "
                + Messages.range(start, start + 512 + 2 * MIB) + " (BAT entry 0 at offset " + layout.tableOffset() + ")"),
                f.message());
        // Block 3's own area is now referenced by nothing.
        assertTrue(codes(report).contains("LEAKED_GAP"), codes(report).toString());
        assertEquals(Status.CORRUPT, report.status());
    }

    @Test
    void aBlockOverTheTableIsCorrupt() throws IOException {
        Image image = Faults.dynamic(tmp.resolve("d.vhd"), 20);
        Faults.pointBatEntryAtTable(image.path(), 5);
        CheckReport report = check(image.path());
        Finding f = finding(report, "BLOCK_OVERLAPS_METADATA");
        assertTrue(f.message().contains("the Block Allocation Table"), f.message());
        assertEquals(Status.CORRUPT, report.status());
    }

    @Test
    void aClearedBitmapBitOfAWrittenSectorIsCorruptAndNotRepairable() throws IOException {
        Image image = Faults.dynamic(tmp.resolve("d.vhd"), 21);
        Layout layout = Faults.layout(image.path());
        Faults.clearBitmapBit(image.path(), 3, 8); // block 3 holds data from 6 MiB + 4096: its sector 8
        CheckReport report = check(image.path());
        Finding f = finding(report, "DATA_NOT_IN_BITMAP");
        assertEquals(Severity.CORRUPT, f.severity());
        assertFalse(f.repairable());
        assertEquals(layout.bitmapAt(3) + 1, f.offset());
        assertTrue(f.message().contains("1 sector holds data but its bit is clear")
                && f.message().contains("sector 8 of the block (disk offset " + (6L * MIB + 4096)), f.message());
        assertTrue(f.action().contains("guess"), f.action());
        assertEquals(List.of("DATA_NOT_IN_BITMAP"), codes(report));
        byte[] before = Files.readAllBytes(image.path());
        assertEquals(Status.CORRUPT, repair(image.path()).status());
        assertArrayEquals(before, Files.readAllBytes(image.path()));
    }

    @Test
    void aBlockWhoseWholeBitmapIsClearIsAWarningNotCorruption() throws IOException {
        // What a power cut leaves when it keeps a new block's entry and data but not its bitmap: the
        // writes were never flushed, and the block reads zeros, as it did before them.
        Image image = Faults.dynamic(tmp.resolve("d.vhd"), 21);
        Layout layout = Faults.layout(image.path());
        Faults.poke(image.path(), layout.bitmapAt(3), new byte[layout.bitmapBytes()]);
        CheckReport report = check(image.path());
        assertEquals(List.of("BITMAP_NOT_WRITTEN"), codes(report));
        Finding f = finding(report, "BITMAP_NOT_WRITTEN");
        assertEquals(Severity.WARNING, f.severity());
        assertFalse(f.repairable());
        assertEquals(layout.bitmapAt(3), f.offset());
        assertEquals(Status.CLEAN, report.status());
        // Where the new bitmap went over the old trailing footer, that footer is what a cut leaves there.
        byte[] bitmap = new byte[layout.bitmapBytes()];
        System.arraycopy(Faults.read(image.path(), layout.trailerAt(), 512), 0, bitmap, 0, 512);
        Faults.poke(image.path(), layout.bitmapAt(3), bitmap);
        assertEquals(List.of("BITMAP_NOT_WRITTEN"), codes(check(image.path())));
        Faults.poke(image.path(), layout.bitmapAt(3), new byte[layout.bitmapBytes()]);
        // One set bit left in the block, and the clear ones over data are damage again.
        Faults.poke(image.path(), layout.bitmapAt(3), new byte[] {(byte) 0x80});
        assertEquals(List.of("DATA_NOT_IN_BITMAP"), codes(check(image.path())));
    }

    @Test
    void aClearedBitOverZerosIsNoFinding() throws IOException {
        Image image = Faults.dynamic(tmp.resolve("d.vhd"), 22);
        Faults.clearBitmapBit(image.path(), 3, 2000); // block 3's sector 2000 was never written: zeros
        assertClean(check(image.path()));
    }

    @Test
    void aTableTooSmallForTheDiskIsCorrupt() throws IOException {
        Image image = Faults.dynamic(tmp.resolve("d.vhd"), 23);
        byte[] header = Faults.read(image.path(), 512, 1024);
        var decoded = org.vhdkit.vhd.format.DynamicHeader.decode("h", header, 0, 512);
        Faults.poke(image.path(), 512, decoded.withMaxTableEntries(4).encode());
        CheckReport report = check(image.path());
        Finding f = finding(report, "TABLE_SIZE");
        assertTrue(f.message().contains("4 entries, but a disk of 12582912 bytes in blocks of 2097152 bytes needs 6"),
                f.message());
    }

    /** What a resize stopped between its header and footer writes leaves: the footer's size wins. */
    @Test
    void aTableLargerThanTheSizeNeedsIsCutBackToIt() throws IOException {
        Image image = Faults.dynamic(tmp.resolve("d.vhd"), 24);
        byte[] header = Faults.read(image.path(), 512, 1024);
        var decoded = org.vhdkit.vhd.format.DynamicHeader.decode("h", header, 0, 512);
        Faults.poke(image.path(), 512, decoded.withMaxTableEntries(20).encode()); // 6 needed; 0xFF in the padding
        Finding f = finding(check(image.path()), "TABLE_SIZE");
        assertTrue(f.repairable(), f.toString());
        assertTrue(f.action().contains("set Max Table Entries to 6"), f.action());
        CheckReport repaired = repair(image.path());
        assertEquals(Status.CLEAN, repaired.status(), repaired.toString());
        assertTrue(finding(repaired, "TABLE_SIZE").repaired());
        assertArrayEquals(header, Faults.read(image.path(), 512, 1024), "the header as it was");
        assertClean(check(image.path()));
    }

    /**
     * A power cut after new blocks' table entries reached the disk but not the file's new size (nor
     * the blocks, nor, in the second state, more than the zeroing of the old trailer): the entries
     * point past the end, in the places the new blocks took. The repair clears them, and the disk
     * shows what the last flush left.
     */
    @Test
    void entriesAPowerCutKeptWithoutTheirBlocksAreCleared() throws IOException {
        for (boolean trailerZeroed : new boolean[] {false, true}) {
            Path live = tmp.resolve("live-" + trailerZeroed + ".vhd");
            byte[] block0 = new byte[4096];
            new Random(5).nextBytes(block0);
            try (VhdDisk d = Vhd.create(live, CreateOptions.dynamic(16L << 20))) {
                d.write(0, block0);
            }
            byte[] flushed = Files.readAllBytes(live);
            Layout before = Faults.layout(live);
            try (VhdDisk d = Vhd.open(live, OpenOptions.READ_WRITE)) {
                d.write(3L << 21, new byte[] {1});
                d.write(5L << 21, new byte[] {2});
            }
            Layout after = Faults.layout(live);
            Path cut = tmp.resolve("cut-" + trailerZeroed + ".vhd");
            Files.write(cut, flushed);
            Faults.setEntry(cut, before, 3, Integer.toUnsignedLong(after.table()[3]));
            Faults.setEntry(cut, before, 5, Integer.toUnsignedLong(after.table()[5]));
            if (trailerZeroed) {
                Faults.poke(cut, flushed.length - 512, new byte[512]);
            }
            CheckReport report = check(cut);
            assertEquals(Status.CORRUPT, report.status());
            List<Finding> pastEnd = report.findings().stream().filter(f -> f.code().equals("BLOCK_PAST_END")).toList();
            assertEquals(2, pastEnd.size(), report.toString());
            assertTrue(pastEnd.stream().allMatch(Finding::repairable), report.toString());
            CheckReport repaired = repair(cut);
            assertEquals(Status.CLEAN, repaired.status(), repaired.toString());
            try (VhdDisk d = Vhd.openReadOnly(cut)) {
                byte[] first = new byte[4096];
                d.read(0, first);
                assertArrayEquals(block0, first, "what was flushed is there");
                assertEquals(1, d.blockAllocationTable().orElseThrow().allocatedCount());
                byte[] lost = new byte[1];
                d.read(3L << 21, lost);
                assertEquals(0, lost[0], "the block the power cut lost reads as never written");
            }
        }
    }

    /**
     * A power cut can keep any subset of the unforced writes: here the first new block's footer (the
     * file's new size) but not its entry, and the second block's entry but not its size. The kept
     * entry's block lies past the end, one unnamed block's place after the last named one.
     */
    @Test
    void anEntryKeptPastABlockWhoseEntryWasLostIsCleared() throws IOException {
        TwoNewBlocks live = twoNewBlocksAfterAFlush(tmp.resolve("live.vhd"), 6);
        long firstEnd = live.after().dataAt(3) + live.after().blockSize();
        byte[] bytes = Arrays.copyOf(live.bytes(), (int) firstEnd + 512);
        System.arraycopy(live.flushed(), live.flushed().length - 512, bytes, (int) firstEnd, 512); // block 3's footer
        Path cut = live.cut(tmp.resolve("cut.vhd"), bytes);
        CheckReport report = check(cut);
        assertTrue(finding(report, "BLOCK_PAST_END").repairable(), report.toString());
        assertTrue(finding(report, "LEAKED_TAIL").repairable(), report.toString());
        assertRepairedToTheFlushedBlock(cut, live.block0());
    }

    /**
     * The state of issue 14's seed 220585452 (differencing disk, TORN_512): the first new block's
     * entry and footer were lost and only part of its data reached the disk, so the file ends in the
     * middle of that block's place (its last sector zeros: no trailing footer); the second block's
     * entry, one place further on, was kept. The unnamed place runs past the end of the file, and the
     * repair must still step over it to the kept entry, clear that, and put the footer back.
     */
    @Test
    void anEntryKeptPastABlockPlaceATornWriteLeftHalfInTheFileIsCleared() throws IOException {
        TwoNewBlocks live = twoNewBlocksAfterAFlush(tmp.resolve("live.vhd"), 7);
        long torn = live.after().dataAt(3) + 64 * 1024; // block 3's first 64 KiB of data arrived, nothing after
        Path cut = live.cut(tmp.resolve("cut.vhd"), Arrays.copyOf(live.bytes(), (int) torn));
        CheckReport report = check(cut);
        assertEquals(List.of("FOOTER_DAMAGED", "BLOCK_PAST_END", "LEAKED_TAIL"), codes(report), report.toString());
        assertTrue(report.findings().stream().allMatch(Finding::repairable), report.toString());
        assertRepairedToTheFlushedBlock(cut, live.block0());
        try (VhdDisk d = Vhd.openReadOnly(cut)) {
            byte[] lost = new byte[1];
            d.read(5L << 21, lost);
            assertEquals(0, lost[0], "the block whose entry the repair cleared reads as never written");
        }
    }

    /**
     * A dynamic disk with 4 KiB of {@code block0} in block 0, flushed ({@code flushed}, {@code before}),
     * then blocks 3 and 5 allocated by one-byte writes ({@code bytes}, {@code after}).
     */
    private record TwoNewBlocks(byte[] block0, byte[] flushed, Layout before, byte[] bytes, Layout after) {
        /**
         * Writes {@code content} to {@code path} as the cut left it: block 3's entry lost, block 5's
         * kept.
         */
        Path cut(Path path, byte[] content) throws IOException {
            Files.write(path, content);
            Faults.setEntry(path, before, 3, 0xFFFFFFFFL);
            Faults.setEntry(path, before, 5, Integer.toUnsignedLong(after.table()[5]));
            return path;
        }
    }

    private static TwoNewBlocks twoNewBlocksAfterAFlush(Path live, long seed) throws IOException {
        byte[] block0 = new byte[4096];
        new Random(seed).nextBytes(block0);
        try (VhdDisk d = Vhd.create(live, CreateOptions.dynamic(16L << 20))) {
            d.write(0, block0);
        }
        byte[] flushed = Files.readAllBytes(live);
        Layout before = Faults.layout(live);
        try (VhdDisk d = Vhd.open(live, OpenOptions.READ_WRITE)) {
            d.write(3L << 21, new byte[] {1});
            d.write(5L << 21, new byte[] {2});
        }
        return new TwoNewBlocks(block0, flushed, before, Files.readAllBytes(live), Faults.layout(live));
    }

    /** The repair leaves {@code cut} clean, with block 0 alone allocated and reading {@code block0}. */
    private static void assertRepairedToTheFlushedBlock(Path cut, byte[] block0) throws IOException {
        CheckReport repaired = repair(cut);
        assertEquals(Status.CLEAN, repaired.status(), repaired.toString());
        assertEquals(Status.CLEAN, check(cut).status());
        try (VhdDisk d = Vhd.openReadOnly(cut)) {
            byte[] first = new byte[4096];
            d.read(0, first);
            assertArrayEquals(block0, first, "what was flushed is there");
            assertEquals(1, d.blockAllocationTable().orElseThrow().allocatedCount());
        }
    }

    @Test
    void thousandsOfBadEntriesAreSummedUp() throws IOException {
        Path path = tmp.resolve("big.vhd");
        try (VhdDisk disk = Vhd.create(path, CreateOptions.dynamic(4096L * 4096).withBlockSize(4096))) {
            disk.write(0, new byte[] {1});
        }
        Layout layout = Faults.layout(path);
        byte[] table = new byte[layout.table().length * 4];
        for (int i = 0; i < layout.table().length; i++) {
            java.nio.ByteBuffer.wrap(table).putInt(i * 4, (int) (layout.fileSize() / 512 + 100 + 9 * i));
        }
        Faults.poke(path, layout.tableOffset(), table);
        CheckReport report = check(path);
        List<Finding> pastEnd = report.findings().stream().filter(f -> f.code().equals("BLOCK_PAST_END")).toList();
        assertEquals(Findings.MAX_PER_CODE + 1, pastEnd.size());
        assertTrue(pastEnd.getLast().message().startsWith((4096 - Findings.MAX_PER_CODE) + " more"),
                pastEnd.getLast().message());
        // Block 0's own area, which no entry references any more:
        assertEquals(List.of("LEAKED_TAIL"), codes(report).stream().filter(c -> !c.equals("BLOCK_PAST_END")).toList());
    }

    // ---------------------------------------------------------------- leaks

    @Test
    void aLeakedBlockIsALeakAndTheRepairReclaimsIt() throws IOException {
        Image original = Faults.dynamic(tmp.resolve("d.vhd"), 24);
        long soundSize = Files.size(original.path());
        Image crashed = Faults.leakBlock(original, tmp.resolve("crashed.vhd"));
        CheckReport report = check(crashed.path());
        Finding f = finding(report, "LEAKED_TAIL");
        assertEquals(Severity.LEAK, f.severity());
        assertTrue(f.repairable());
        assertEquals(Status.LEAKS, report.status());
        assertEquals(List.of("LEAKED_TAIL"), codes(report));
        CheckReport repaired = repair(crashed.path());
        assertTrue(repaired.findings().getFirst().repaired());
        assertRepaired(repaired, crashed);
        assertEquals(soundSize, Files.size(crashed.path()), "the file is as long as before the block was added");
    }

    /** A crash that kept the first block of an empty image and its footer but not its entry. */
    @Test
    void theFirstBlockLeakedByACrashIsReclaimedDownToTheEmptyImage() throws IOException {
        Path path = tmp.resolve("ordered.vhd");
        Path crashed = tmp.resolve("as-if-crashed.vhd");
        long empty;
        try (VhdDisk disk = Vhd.create(path, CreateOptions.dynamic(10 * MIB))) {
            empty = Files.size(path);
            disk.write(0, new byte[] {7});
            Files.copy(path, crashed);
            Faults.poke(crashed, disk.dynamicHeader().orElseThrow().tableOffset(), new byte[] {-1, -1, -1, -1});
        }
        CheckReport report = check(crashed);
        assertEquals(List.of("LEAKED_TAIL"), codes(report));
        assertEquals(Status.LEAKS, report.status());
        assertRepaired(repair(crashed), new Image(crashed, new byte[10 * MIB]));
        assertEquals(empty, Files.size(crashed), "the footer where a new image has it");
    }

    @Test
    void garbageAfterTheLastBlockIsALeakThatTheRepairCuts() throws IOException {
        Image image = Faults.dynamic(tmp.resolve("d.vhd"), 25);
        byte[] sound = Files.readAllBytes(image.path());
        Faults.garbageBeforeFooter(image.path(), 10_000, 3);
        CheckReport report = check(image.path());
        assertEquals(List.of("LEAKED_TAIL"), codes(report));
        assertEquals(Status.LEAKS, report.status());
        assertRepaired(repair(image.path()), image);
        assertArrayEquals(sound, Files.readAllBytes(image.path()));
    }

    /** The image with the table entry of the block lowest in the file cleared, and what it then reads as. */
    private static Image withFirstBlockLeaked(Image image) throws IOException {
        Layout layout = Faults.layout(image.path());
        int first = -1;
        for (int i = 0; i < layout.table().length; i++) {
            if (layout.table()[i] != -1 && (first < 0 || layout.bitmapAt(i) < layout.bitmapAt(first))) {
                first = i;
            }
        }
        Faults.setEntry(image.path(), layout, first, 0xFFFFFFFFL);
        byte[] model = image.model().clone();
        Arrays.fill(model, first * 2 * MIB, (first + 1) * 2 * MIB, (byte) 0);
        return new Image(image.path(), model);
    }

    @Test
    void aLeakedBlockInsideTheFileIsClosedByMovingTheLastBlockIntoIt() throws IOException {
        Image original = Faults.dynamic(tmp.resolve("d.vhd"), 28);
        Layout before = Faults.layout(original.path());
        Image leaked = withFirstBlockLeaked(original);
        CheckReport report = check(leaked.path());
        assertEquals(List.of("LEAKED_GAP"), codes(report));
        assertEquals(Status.LEAKS, report.status());
        Finding gap = finding(report, "LEAKED_GAP");
        assertTrue(gap.repairable(), gap.toString());
        assertTrue(gap.action().startsWith("move block " + before.lastBlock() + " from the end of the file into"),
                gap.action());
        assertRepaired(repair(leaked.path()), leaked);
        Layout after = Faults.layout(leaked.path());
        long lastBegan = before.bitmapAt(before.lastBlock());
        assertTrue(after.trailerAt() <= lastBegan && after.trailerAt() > lastBegan - 4096,
                "the file ends where the last block began (but for its alignment): " + after.trailerAt());
        assertTrue(after.fileSize() <= before.fileSize() - 2 * MIB, after.fileSize() + " of " + before.fileSize());
    }

    /**
     * A block move copies the block into the gap and forces it, then switches its table entry: a
     * crash after either step leaves an image that reads right and has only leaks, which a repair
     * then reclaims.
     */
    @Test
    void aCrashInTheMiddleOfABlockMoveLeavesAValidImage() throws IOException {
        Image leaked = withFirstBlockLeaked(Faults.dynamic(tmp.resolve("d.vhd"), 29));
        Fix.MoveBlocks fix;
        try (ByteStore store = ByteStore.open(leaked.path(), ByteStore.Mode.READ_ONLY)) {
            fix = (Fix.MoveBlocks) Inspection.run(store, ProgressListener.NONE, true).fixes().getFirst();
        }
        Fix.MoveBlocks.Move move = fix.moves().getFirst();
        Faults.poke(leaked.path(), move.to(), Faults.read(leaked.path(), move.from(), (int) fix.blockBytes()));
        Faults.assertReadsAs(leaked.model(), leaked.path());
        assertEquals(Status.LEAKS, check(leaked.path()).status(), "copied, not yet switched");
        Faults.setEntry(leaked.path(), Faults.layout(leaked.path()), move.block(), move.to() / 512);
        Faults.assertReadsAs(leaked.model(), leaked.path());
        assertEquals(List.of("LEAKED_TAIL"), codes(check(leaked.path())), "switched, the old place not yet cut off");
        assertRepaired(repair(leaked.path()), leaked);
    }

    /** A trailer damaged and leaked space before it: one fix repairs both. */
    @Test
    void aLeakedBlockWithATornTrailerIsRepairedInOneStep() throws IOException {
        Image original = Faults.dynamic(tmp.resolve("d.vhd"), 26);
        long soundSize = Files.size(original.path());
        Image crashed = Faults.leakBlock(original, tmp.resolve("crashed.vhd"));
        Faults.damageTrailingFooter(crashed.path());
        CheckReport report = check(crashed.path());
        assertEquals(List.of("FOOTER_DAMAGED", "LEAKED_TAIL"), codes(report));
        assertRepaired(repair(crashed.path()), crashed);
        assertEquals(soundSize, Files.size(crashed.path()));
    }

    /**
     * The trailer fix writes the footer lower, forces, then truncates: a crash between the two leaves
     * an image that reads right and still shows only the leak.
     */
    @Test
    void aCrashBetweenWritingTheLowerFooterAndTruncatingLeavesAValidImage() throws IOException {
        Image original = Faults.dynamic(tmp.resolve("d.vhd"), 27);
        Image crashed = Faults.leakBlock(original, tmp.resolve("crashed.vhd"));
        Fix.WriteTrailer fix;
        try (ByteStore store = ByteStore.open(crashed.path(), ByteStore.Mode.READ_ONLY)) {
            fix = (Fix.WriteTrailer) Inspection.run(store, ProgressListener.NONE, true).fixes().getFirst();
        }
        Faults.poke(crashed.path(), fix.position(), fix.footer()); // step 1 only, then the "crash"
        Faults.assertReadsAs(crashed.model(), crashed.path());
        assertEquals(List.of("LEAKED_TAIL"), codes(check(crashed.path())));
        assertRepaired(repair(crashed.path()), crashed);
    }

    // ---------------------------------------------------------------- differencing

    @Test
    void aDifferencingDiskIsCheckedAgainstItsParent() throws IOException {
        Image parent = Faults.dynamic(tmp.resolve("parent.vhd"), 28);
        Image child = Faults.differencing(tmp.resolve("child.vhd"), parent, 29);
        assertClean(check(child.path()));

        Files.setLastModifiedTime(parent.path(), FileTime.from(Instant.now().plusSeconds(3600)));
        CheckReport touched = check(child.path());
        Finding stale = finding(touched, "PARENT_TIMESTAMP");
        assertEquals(Severity.WARNING, stale.severity());
        assertEquals(512 + 56, stale.offset());
        assertEquals(Status.CLEAN, touched.status());

        Files.move(parent.path(), tmp.resolve("elsewhere.vhd"));
        CheckReport orphan = check(child.path());
        Finding missing = finding(orphan, "PARENT_NOT_FOUND");
        assertEquals(Severity.CORRUPT, missing.severity());
        assertTrue(missing.message().contains("parent.vhd"), missing.message());
        assertEquals(Status.CORRUPT, orphan.status());
    }

    /**
     * In a differencing disk a clear bit means "read the parent", whatever the block holds there: no
     * finding, unlike in a dynamic disk.
     */
    @Test
    void aClearedBitOfADifferencingDiskIsNoFinding() throws IOException {
        Image parent = Faults.dynamic(tmp.resolve("parent.vhd"), 39);
        Image child = Faults.differencing(tmp.resolve("child.vhd"), parent, 40);
        Faults.clearBitmapBit(child.path(), 0, 8); // the child wrote disk offsets 4196 .. 6196: sector 8
        assertClean(check(child.path()));
    }

    @Test
    void aParentWithAnotherUuidIsNotTheParent() throws IOException {
        Image parent = Faults.dynamic(tmp.resolve("parent.vhd"), 30);
        Image child = Faults.differencing(tmp.resolve("child.vhd"), parent, 31);
        Files.delete(parent.path());
        try (VhdDisk impostor = Vhd.create(parent.path(), CreateOptions.dynamic(Faults.DYNAMIC_SIZE))) {
            impostor.write(0, new byte[] {1});
        }
        Finding f = finding(check(child.path()), "PARENT_NOT_FOUND");
        assertTrue(f.message().contains("its UUID is"), f.message());
    }

    @Test
    void aDifferencingDiskWithADamagedTrailerIsRepairedAndItsLinkChecked() throws IOException {
        Image parent = Faults.dynamic(tmp.resolve("parent.vhd"), 32);
        Image child = Faults.differencing(tmp.resolve("child.vhd"), parent, 33);
        byte[] sound = Files.readAllBytes(child.path());
        Faults.damageTrailingFooter(child.path());
        CheckReport report = check(child.path());
        assertEquals(List.of("FOOTER_DAMAGED", "PARENT_NOT_CHECKED"), codes(report));
        CheckReport repaired = repair(child.path());
        assertEquals(List.of("FOOTER_DAMAGED"), codes(repaired), "the link is checked after the repair");
        assertEquals(Status.CLEAN, repaired.status());
        assertClean(check(child.path()));
        assertArrayEquals(sound, Files.readAllBytes(child.path()));
        Faults.assertReadsAs(child.model(), child.path());
    }

    // ---------------------------------------------------------------- how it runs

    @Test
    void progressCountsTheBytesOfTheDiskWhoseBlocksAreChecked() throws IOException {
        Path path = tmp.resolve("progress.vhd");
        long size = 2000L * 4096;
        try (VhdDisk disk = Vhd.create(path, CreateOptions.dynamic(size).withBlockSize(4096))) {
            disk.write(0, new byte[5000]);
        }
        List<long[]> calls = new ArrayList<>();
        ImageCheck.check(path, (done, total) -> calls.add(new long[] {done, total}));
        assertTrue(calls.size() > 2, "reported along the way");
        long previous = -1;
        for (long[] call : calls) {
            assertEquals(size, call[1]);
            assertTrue(call[0] >= previous && call[0] <= size);
            previous = call[0];
        }
        assertEquals(size, calls.getLast()[0]);
    }

    @Test
    void aRepairIsRefusedWhileTheImageIsOpenForWriting() throws IOException {
        Image image = Faults.dynamic(tmp.resolve("d.vhd"), 34);
        try (VhdDisk open = Vhd.open(image.path(), OpenOptions.READ_WRITE)) {
            assertThrows(IOException.class, () -> repair(open.path()));
        }
    }

    @Test
    void checkAndRepairWorkOnJimfs() throws IOException {
        try (FileSystem jimfs = Jimfs.newFileSystem(Configuration.unix())) {
            Path dir = jimfs.getPath("/images");
            Files.createDirectories(dir);
            Image image = Faults.dynamic(dir.resolve("d.vhd"), 35);
            byte[] sound = Files.readAllBytes(image.path());
            assertClean(check(image.path()));
            Faults.garbageBeforeFooter(image.path(), 20_000, 4);
            Faults.flipCopyChecksum(image.path());
            CheckReport report = check(image.path());
            assertEquals(List.of("FOOTER_COPY_CHECKSUM", "LEAKED_TAIL"), codes(report));
            CheckReport repaired = repair(image.path());
            assertEquals(Status.CLEAN, repaired.status());
            assertClean(check(image.path()));
            assertArrayEquals(sound, Files.readAllBytes(image.path()));
        }
    }
}
