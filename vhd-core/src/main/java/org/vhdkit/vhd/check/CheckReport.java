package org.vhdkit.vhd.check;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.vhdkit.vhd.format.DiskType;

/**
 * What {@link ImageCheck#check} or {@link ImageCheck#repair} found in an image, in the order found:
 * footers first, then the dynamic header, the block allocation table, the blocks, the space between
 * them and the parent link.
 *
 * <p>Records are immutable and safe to share between threads.
 *
 * @param path     the image
 * @param type     the disk type the footer in force gives; empty when no footer could be read
 * @param findings everything found; after a repair, each marked with whether it was repaired
 * @param repairRun whether this report comes from {@link ImageCheck#repair}
 */
public record CheckReport(Path path, Optional<DiskType> type, List<Finding> findings, boolean repairRun) {
    /** The verdict on an image, from the findings that remain (were not repaired). */
    public enum Status {
        /** No findings remain but warnings: the image is sound. */
        CLEAN,
        /** Leaked space remains, and nothing worse. */
        LEAKS,
        /** At least one corrupt finding remains. */
        CORRUPT
    }

    public CheckReport {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(type, "type");
        findings = List.copyOf(findings);
    }

    /** The verdict: the worst severity among the findings that remain, warnings not counted. */
    public Status status() {
        boolean leaks = false;
        for (Finding finding : findings) {
            if (finding.remains()) {
                if (finding.severity() == Severity.CORRUPT) {
                    return Status.CORRUPT;
                }
                leaks |= finding.severity() == Severity.LEAK;
            }
        }
        return leaks ? Status.LEAKS : Status.CLEAN;
    }

    /** The findings a repair fixed. */
    public List<Finding> repaired() {
        return findings.stream().filter(Finding::repaired).toList();
    }

    /** The findings that still hold: not repaired (warnings included). */
    public List<Finding> remaining() {
        return findings.stream().filter(Finding::remains).toList();
    }

    /** How many of the remaining findings {@link ImageCheck#repair} would fix. */
    public long repairableCount() {
        return findings.stream().filter(f -> f.remains() && f.repairable()).count();
    }
}
