package org.vhdkit.cli.disk;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.cli.conventions.FileArguments;
import org.vhdkit.cli.conventions.Json;
import org.vhdkit.cli.conventions.OutputOption;
import org.vhdkit.cli.conventions.ProgressBar;
import org.vhdkit.vhd.check.CheckReport;
import org.vhdkit.vhd.check.Finding;
import org.vhdkit.vhd.check.ImageCheck;
import org.vhdkit.vhd.check.Severity;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code vhd check}: a full consistency check of a VHD file (Test-VHD), and with {@code --repair}
 * the repair of what can be repaired without guessing. Exit code 0 when the image is clean
 * (warnings allowed), 2 when it is corrupt, 3 when it has leaked space and nothing worse; after
 * {@code --repair}, of what remains.
 *
 * <p>Human output: a verdict line, then two lines per finding: severity, code and message naming
 * field and offset; then what the repair did, would do, or why it cannot.
 *
 * <p>The JSON document ({@code --output json}) is an object:
 * <pre>
 * file       the file, as named
 * type       "fixed", "dynamic" or "differencing"; null when no footer could be read
 * status     "clean", "leaks" or "corrupt": of the findings that remain (not repaired)
 * exitCode   0, 3 or 2, as the status
 * repairRun  boolean: --repair was given
 * findings   [{severity ("corrupt", "leak" or "warning"), code (stable, e.g. "FOOTER_CHECKSUM"), message
 *            (one line naming field and offset), offset (absolute file offset of the field, or null),
 *            repairable (boolean), repaired (boolean), action (what --repair does or did, or why it
 *            cannot)}], in the order found
 * </pre>
 */
@Command(name = "check",
        description = {
            "Checks a VHD file's structure (Test-VHD): the footer and its copy, checksums, the dynamic header,"
                    + " every block allocation table entry inside the file and clear of other blocks and of the"
                    + " headers, sector bitmaps against the data, space nothing references, and a differencing"
                    + " disk's parent (found by UUID; a changed time stamp is a warning).",
            "Opens the file read-only unless --repair is given. Each finding has a stable code; see the JSON.",
            "--repair fixes only what needs no guessing: a damaged trailing footer (from its copy at offset 0),"
                    + " a damaged copy (from the trailer), a checksum whose other fields are valid, leaked space"
                    + " before the trailing footer (the footer moved down, the file truncated), leaked space"
                    + " between blocks (blocks moved there from the end of the file, which is then cut), a table larger"
                    + " than the footer's size needs, as an interrupted resize leaves it (the header's count set"
                    + " to the size's). It says what it did, and what it could not.",
            "Crash-safe: --repair changes the file in place, one step at a time, each leaving a valid image: a"
                    + " footer or checksum is rewritten within one sector; a moved block is copied and flushed"
                    + " before its table entry points at the copy; a footer is written at its new place and"
                    + " flushed before the file is truncated to it. It needs the file to itself.",
            "Exit code 0: clean (warnings allowed); 2: corrupt; 3: leaked space only. After --repair, the"
                    + " code says what remains."},
        footerHeading = "%nExamples:%n",
        footer = {
            "  vhd check disk.vhd",
            "  vhd check --repair disk.vhd",
            "  vhd check -q --output json disk.vhd | jq -r '.findings[].code'",
            "  vhd check -q disk.vhd > /dev/null; echo $?   # 0 clean, 2 corrupt, 3 leaks"})
public final class CheckCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    OutputOption output;

    @Option(names = "--repair", description = "Repair what can be repaired without guessing, in place.")
    boolean repair;

    @Option(names = {"-q", "--quiet"}, description = "Show no progress bar.")
    boolean quiet;

    @Parameters(paramLabel = "FILE", description = "The VHD file.")
    Path file;

    /** One finding in the JSON. */
    record Item(String severity, String code, String message, Long offset, boolean repairable, boolean repaired,
                String action) {
        static Item of(Finding f) {
            return new Item(f.severity().name().toLowerCase(Locale.ROOT), f.code(), f.message(),
                    f.offset() >= 0 ? f.offset() : null, f.repairable(), f.repaired(), f.action());
        }
    }

    /** The JSON document. */
    record Report(String file, String type, String status, int exitCode, boolean repairRun, List<Item> findings) {
    }

    @Override
    public Integer call() throws Exception {
        FileArguments.checkNotDirectory(file);
        CheckReport report;
        try (ProgressBar bar = ProgressBar.start(repair ? "Repairing" : "Checking", quiet)) {
            report = repair ? ImageCheck.repair(file, bar) : ImageCheck.check(file, bar);
        } catch (IOException e) {
            throw FileArguments.naming(file, e);
        }
        int exitCode = exitCode(report.status());
        PrintWriter out = spec.commandLine().getOut();
        if (output.json()) {
            Json.print(out, new Report(file.toString(),
                    report.type().map(t -> t.name().toLowerCase(Locale.ROOT)).orElse(null),
                    report.status().name().toLowerCase(Locale.ROOT), exitCode, report.repairRun(),
                    report.findings().stream().map(Item::of).toList()));
        } else {
            printHuman(out, report);
        }
        out.flush();
        return exitCode;
    }

    public static int exitCode(CheckReport.Status status) {
        return switch (status) {
            case CLEAN -> ExitCodes.OK;
            case LEAKS -> ExitCodes.LEAKS;
            case CORRUPT -> ExitCodes.CORRUPT;
        };
    }

    /**
     * {@code Checked dynamic disk.vhd: corrupt, 2 findings (1 corrupt, 1 leak); 2 repairable with --repair},
     * then each finding.
     */
    private void printHuman(PrintWriter out, CheckReport report) {
        List<Finding> findings = report.findings();
        StringBuilder verdict = new StringBuilder(report.repairRun() ? "Repaired " : "Checked ");
        report.type().ifPresent(t -> verdict.append(t.name().toLowerCase(Locale.ROOT)).append(' '));
        verdict.append(file).append(": ").append(switch (report.status()) {
            case CLEAN -> "clean";
            case LEAKS -> "leaked space only";
            case CORRUPT -> "corrupt";
        });
        if (!findings.isEmpty()) {
            verdict.append(", ").append(count(findings.size(), "finding")).append(" (").append(bySeverity(findings))
                    .append(')');
        }
        if (report.repairRun()) {
            verdict.append("; ").append(report.repaired().size()).append(" repaired");
        } else if (report.repairableCount() > 0) {
            verdict.append("; ").append(report.repairableCount()).append(" repairable with --repair");
        }
        out.println(verdict);
        for (Finding f : findings) {
            out.println("  " + f.severity().name() + " " + f.code() + ": " + f.message());
            String state = f.repaired() ? "repaired: " : f.repairable() ? "--repair would " : "";
            out.println("    " + state + f.action());
        }
    }

    private static String bySeverity(List<Finding> findings) {
        StringBuilder text = new StringBuilder();
        for (Severity severity : Severity.values()) {
            long n = findings.stream().filter(f -> f.severity() == severity).count();
            if (n > 0) {
                text.append(text.isEmpty() ? "" : ", ").append(n).append(' ')
                        .append(severity.name().toLowerCase(Locale.ROOT))
                        .append(n == 1 || severity == Severity.CORRUPT ? "" : "s");
            }
        }
        return text.toString();
    }

    private static String count(long n, String noun) {
        return n + " " + noun + (n == 1 ? "" : "s");
    }
}
