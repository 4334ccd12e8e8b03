package org.vhdkit.vhd.check;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.check.CheckReport.Status;
import org.vhdkit.vhd.testing.Corpus;
import org.vhdkit.vhd.testing.QemuImg;

/**
 * The real images of the corpus: every one made by a real tool checks clean, and its repair (of a
 * private copy: the cached images are shared) writes nothing; the fuzzed one is corrupt and its
 * repair leaves it as it was.
 */
class CorpusCheckTest {
    @TempDir
    Path tmp;

    private static void print(String name, CheckReport report) {
        System.out.println(name + ": " + report.status() + " " + report.findings());
    }

    @ParameterizedTest
    @ValueSource(strings = {"qemu-virtualpc-dynamic.vhd.bz2", "qemu-hyperv2012r2-dynamic.vhd.bz2",
        "qemu-d2v-zerofilled.vhd.bz2", "dissect-hypervisor-fixed.vhd.gz", "dissect-hypervisor-dynamic.vhd.gz",
        "compactVD-3hfs.vhd.bz2"})
    void imagesMadeByRealToolsCheckClean(String name) throws IOException {
        CheckReport report = ImageCheck.check(Corpus.cached(name), ProgressListener.NONE);
        print(name, report);
        assertEquals(Status.CLEAN, report.status(), report.findings().toString());
        assertEquals(List.of(), report.findings());
    }

    @ParameterizedTest
    @ValueSource(strings = {"qemu-virtualpc-dynamic.vhd.bz2", "qemu-hyperv2012r2-dynamic.vhd.bz2",
        "qemu-d2v-zerofilled.vhd.bz2", "dissect-hypervisor-fixed.vhd.gz", "dissect-hypervisor-dynamic.vhd.gz"})
    void theirRepairWritesNothing(String name) throws IOException {
        Path copy = Corpus.image(name, tmp);
        byte[] before = Files.readAllBytes(copy);
        CheckReport report = ImageCheck.repair(copy, ProgressListener.NONE);
        assertEquals(Status.CLEAN, report.status());
        assertArrayEquals(before, Files.readAllBytes(copy));
    }

    /**
     * Cut inside its dynamic header, whose table size the fuzzer raised to 1073741825: the trailer is
     * gone (the copy at offset 0 is intact) and the header runs past the end of the file.
     */
    @Test
    void theFuzzedImageIsCorruptAndItsRepairChangesNothing() throws IOException {
        Path image = Corpus.cached("qemu-afl5.img.bz2");
        CheckReport report = ImageCheck.check(image, ProgressListener.NONE);
        print("qemu-afl5.img.bz2", report);
        assertEquals(Status.CORRUPT, report.status());
        assertEquals(List.of("FOOTER_DAMAGED", "HEADER_PAST_END"),
                report.findings().stream().map(Finding::code).toList());
        assertTrue(report.findings().stream().noneMatch(Finding::repairable), report.findings().toString());
        Finding header = report.findings().get(1);
        assertEquals(16, header.offset(), "the copy's Data Offset field");
        Path copy = Corpus.image("qemu-afl5.img.bz2", tmp);
        byte[] before = Files.readAllBytes(copy);
        CheckReport repaired = ImageCheck.repair(copy, ProgressListener.NONE);
        assertEquals(Status.CORRUPT, repaired.status());
        assertFalse(repaired.findings().stream().anyMatch(Finding::repaired));
        assertArrayEquals(before, Files.readAllBytes(copy));
    }

    /** The corpus images that hold a fault a repair can fix, once injected, come back byte for byte. */
    @Test
    void aDamagedTrailerOfAHyperVImageIsRestoredFromItsCopy() throws IOException {
        Path copy = Corpus.image("dissect-hypervisor-dynamic.vhd.gz", tmp);
        byte[] sound = Files.readAllBytes(copy);
        Faults.damageTrailingFooter(copy);
        CheckReport report = ImageCheck.check(copy, ProgressListener.NONE);
        assertEquals(List.of("FOOTER_DAMAGED"), report.findings().stream().map(Finding::code).toList());
        assertEquals(Status.CLEAN, ImageCheck.repair(copy, ProgressListener.NONE).status());
        assertArrayEquals(sound, Files.readAllBytes(copy), "restored in place, as Windows laid it out");
        QemuImg.assertMapsTheBlocksOurTableAllocates(copy);
    }
}
