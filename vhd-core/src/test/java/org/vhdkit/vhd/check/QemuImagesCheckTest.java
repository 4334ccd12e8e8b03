package org.vhdkit.vhd.check;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.check.CheckReport.Status;
import org.vhdkit.vhd.testing.ExternalTools;
import org.vhdkit.vhd.testing.QemuImg;

/**
 * Images qemu-img and qemu-io make (their layout is not Windows': no alignment, the footer right
 * after the table or the last block) check clean; each repairable fault injected into them is
 * repaired, after which qemu-img reads the same content as before the fault.
 */
class QemuImagesCheckTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    @TempDir
    Path tmp;

    /** A fault a repair can fix, and the code the check reports for it. */
    enum RepairableFault {
        FLIPPED_FOOTER_CHECKSUM("FOOTER_CHECKSUM"),
        DAMAGED_TRAILING_FOOTER("FOOTER_DAMAGED"),
        FLIPPED_COPY_CHECKSUM("FOOTER_COPY_CHECKSUM"),
        FLIPPED_HEADER_CHECKSUM("HEADER_CHECKSUM"),
        GARBAGE_AFTER_LAST_BLOCK("LEAKED_TAIL"),
        GARBAGE_AFTER_FOOTER("FOOTER_DAMAGED"),
        SHORT_TRAILER("FOOTER_SHORT");

        final String code;

        RepairableFault(String code) {
            this.code = code;
        }

        void inject(Path image) throws IOException {
            switch (this) {
                case FLIPPED_FOOTER_CHECKSUM -> Faults.flipFooterChecksum(image);
                case DAMAGED_TRAILING_FOOTER -> Faults.damageTrailingFooter(image);
                case FLIPPED_COPY_CHECKSUM -> Faults.flipCopyChecksum(image);
                case FLIPPED_HEADER_CHECKSUM -> Faults.flipHeaderChecksum(image);
                case GARBAGE_AFTER_LAST_BLOCK -> Faults.garbageBeforeFooter(image, 65_536, 5);
                case GARBAGE_AFTER_FOOTER -> Faults.garbageAfterFooter(image, 1000, 6);
                case SHORT_TRAILER -> Faults.shortenFooter(image);
            }
        }
    }

    private static void tool(String... argv) {
        ExternalTools.run(TIMEOUT, argv).requireSuccess();
    }

    /** A 20 MiB dynamic image qemu made, with data in three of its blocks. */
    private Path qemuDynamic(String name) {
        ExternalTools.assumeAvailable("qemu-img", "qemu-io");
        Path image = tmp.resolve(name);
        tool("qemu-img", "create", "-q", "-f", "vpc", image.toString(), "20M");
        tool("qemu-io", "-f", "vpc", "-c", "write -P 0xab 0 1M", "-c", "write -P 0xcd 5M 3000",
                "-c", "write -P 0x11 19M 512", image.toString());
        return image;
    }

    private Path qemuFixed(String name) {
        ExternalTools.assumeAvailable("qemu-img", "qemu-io");
        Path image = tmp.resolve(name);
        tool("qemu-img", "create", "-q", "-f", "vpc", "-o", "subformat=fixed", image.toString(), "20M");
        tool("qemu-io", "-f", "vpc", "-c", "write -P 0xab 4096 1M", image.toString());
        return image;
    }

    @Test
    void imagesQemuMakesCheckClean() throws IOException {
        Path empty = tmp.resolve("empty.vhd");
        ExternalTools.assumeAvailable("qemu-img");
        tool("qemu-img", "create", "-q", "-f", "vpc", "-o", "force_size=on", empty.toString(), "100M");
        for (Path image : List.of(qemuDynamic("d.vhd"), qemuFixed("f.vhd"), empty)) {
            CheckReport report = ImageCheck.check(image, ProgressListener.NONE);
            assertEquals(List.of(), report.findings(), image + ": " + report.findings());
        }
    }

    @ParameterizedTest
    @EnumSource(RepairableFault.class)
    void aFaultInAQemuImageIsRepairedAndQemuReadsWhatItDidBefore(RepairableFault fault) throws IOException {
        Path pristine = qemuDynamic("pristine.vhd");
        Path image = tmp.resolve("damaged.vhd");
        Files.copy(pristine, image);
        fault.inject(image);
        CheckReport report = ImageCheck.check(image, ProgressListener.NONE);
        assertEquals(List.of(fault.code), report.findings().stream().map(Finding::code).toList(),
                report.findings().toString());
        if (fault != RepairableFault.SHORT_TRAILER) {
            assertNotEquals(Status.CLEAN, report.status());
        }
        CheckReport repaired = ImageCheck.repair(image, ProgressListener.NONE);
        assertEquals(Status.CLEAN, repaired.status(), repaired.findings().toString());
        assertTrue(repaired.findings().getFirst().repaired(), repaired.findings().toString());
        assertEquals(List.of(), ImageCheck.check(image, ProgressListener.NONE).findings());
        QemuImg.assertMapsTheBlocksOurTableAllocates(image);
        tool("qemu-img", "compare", "-f", "vpc", "-F", "vpc", pristine.toString(), image.toString());
    }

    @Test
    void aFixedQemuImageWithAFlippedChecksumOrGarbageBeforeItsFooterIsRepaired() throws IOException {
        Path pristine = qemuFixed("pristine.vhd");
        for (int i = 0; i < 2; i++) {
            Path image = tmp.resolve("damaged" + i + ".vhd");
            Files.copy(pristine, image);
            if (i == 0) {
                Faults.flipFooterChecksum(image);
            } else {
                Faults.garbageBeforeFooter(image, 4096, 7);
            }
            assertNotEquals(Status.CLEAN, ImageCheck.check(image, ProgressListener.NONE).status());
            assertEquals(Status.CLEAN, ImageCheck.repair(image, ProgressListener.NONE).status());
            assertEquals(Files.size(pristine), Files.size(image));
            QemuImg.assertMapsTheBlocksOurTableAllocates(image);
            tool("qemu-img", "compare", "-f", "vpc", "-F", "vpc", pristine.toString(), image.toString());
        }
    }
}
