package org.vhdkit.cli.disk;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.FileSystemException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.cli.conventions.Json;
import org.vhdkit.cli.conventions.OutputOption;
import org.vhdkit.cli.conventions.ProgressBar;
import org.vhdkit.cli.conventions.Size;
import org.vhdkit.vhd.ParentNotFoundException;
import org.vhdkit.vhd.content.CompareOptions;
import org.vhdkit.vhd.content.Comparison;
import org.vhdkit.vhd.content.DiskContents;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.format.VhdFormatException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code vhd compare}: whether two disks hold the same bytes, and if not where they first differ.
 * Exit code 0 when they are identical, 1 when they differ (as {@code qemu-img compare}), another
 * code on an error.
 *
 * <p>Human output: when the sizes differ a line saying so, then one verdict line, {@code Identical: ...}
 * or {@code Different: ...} with the first differing byte's offset in decimal and hex and its sector.
 *
 * <p>The JSON document ({@code --output json}) is an object:
 * <pre>
 * identical         boolean (the exit code says the same)
 * firstDifference   offset of the first differing byte, exact; null when identical
 * differingSectors  with --count, the number of differing 512-byte sectors; otherwise null
 * strict            boolean: --strict was given
 * sameSize          boolean
 * a, b              {file (as named), type ("raw", "fixed", "dynamic" or "differencing"), size}
 * warnings          array of strings, from both disks and their parents
 * </pre>
 */
@Command(name = "compare",
        description = {
            "Compares two disks by content: the bytes they hold, not how they store them.",
            "Each of A and B is a VHD (fixed, dynamic or differencing, read through its parents) or a raw disk"
                    + " image. Prints whether they are identical or the offset of the first byte that differs"
                    + " (exact, not rounded to a sector). Opens both read-only; ranges neither holds are not read.",
            "Disks of different sizes: as qemu-img compare, the part both have is compared and the larger"
                    + " disk's excess must read as zeros; with --strict a different size is a difference."
                    + " Allocation is never compared, only contents.",
            "Exit code 0: identical; 1: different."},
        footerHeading = "%nExamples:%n",
        footer = {
            "  vhd compare child.vhd flat.img",
            "  vhd compare --strict --count a.vhd b.vhd  # sizes must match; count sectors",
            "  vhd compare -q a.vhd b.vhd > /dev/null && echo same"})
public final class CompareCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    OutputOption output;

    @Option(names = "--strict", description = "Disks of different sizes differ, whatever the larger one's excess holds.")
    boolean strict;

    @Option(names = "--count", description = "Read to the end and count the differing 512-byte sectors, rather than"
            + " stop at the first difference.")
    boolean count;

    @Option(names = {"-q", "--quiet"}, description = "Show no progress bar (shown on stderr only when it is a terminal).")
    boolean quiet;

    @Parameters(index = "0", paramLabel = "A", description = "The first disk: a VHD file or a raw image.")
    Path fileA;

    @Parameters(index = "1", paramLabel = "B", description = "The second disk.")
    Path fileB;

    /** A disk in the JSON. */
    record Side(String file, String type, long size) {
    }

    /** The JSON document. */
    record Report(boolean identical, Long firstDifference, Long differingSectors, boolean strict, boolean sameSize,
                  Side a, Side b, List<String> warnings) {
    }

    @Override
    public Integer call() throws Exception {
        Comparison result;
        Side a;
        Side b;
        List<String> warnings = new ArrayList<>();
        try (VirtualDisk diskA = DiskArguments.openReadOnly(fileA);
             VirtualDisk diskB = DiskArguments.openReadOnly(fileB)) {
            a = new Side(fileA.toString(), DiskArguments.type(diskA), diskA.size());
            b = new Side(fileB.toString(), DiskArguments.type(diskB), diskB.size());
            for (VirtualDisk disk : List.of(diskA, diskB)) {
                DiskArguments.warnings(disk).stream().filter(w -> !warnings.contains(w)).forEach(warnings::add);
            }
            if (!output.json()) {
                PrintWriter err = spec.commandLine().getErr();
                warnings.forEach(w -> err.println("vhd: warning: " + w));
                err.flush();
            }
            try (ProgressBar bar = ProgressBar.start("Comparing", quiet)) {
                result = DiskContents.compare(diskA, diskB, new CompareOptions(strict, count), bar);
            }
        } catch (IOException e) {
            throw naming(e);
        }
        PrintWriter out = spec.commandLine().getOut();
        if (output.json()) {
            Json.print(out, new Report(result.identical(),
                    result.firstDifference().isPresent() ? result.firstDifference().getAsLong() : null,
                    result.differingSectors().isPresent() ? result.differingSectors().getAsLong() : null,
                    strict, result.sameSize(), a, b, warnings));
        } else {
            printHuman(out, result, a, b);
        }
        out.flush();
        return result.identical() ? ExitCodes.OK : ExitCodes.DIFFERENT;
    }

    private void printHuman(PrintWriter out, Comparison result, Side a, Side b) {
        if (!result.sameSize()) {
            Side larger = a.size() > b.size() ? a : b;
            out.println("Sizes differ: " + a.file() + " is " + Size.describe(a.size()) + ", " + b.file() + " is "
                    + Size.describe(b.size()) + (strict
                    ? "; --strict counts that as a difference"
                    : "; " + larger.file() + "'s last " + Size.describe(larger.size() - result.commonSize())
                            + " must read as zeros"));
        }
        if (result.identical()) {
            out.println("Identical: " + a.file() + " and " + b.file() + " hold the same "
                    + (result.sameSize() ? Size.describe(a.size()) : "contents"));
            return;
        }
        long first = result.firstDifference().getAsLong();
        StringBuilder line = new StringBuilder("Different: " + a.file() + " and " + b.file() + " first differ at offset "
                + first + " (0x" + Long.toHexString(first) + ", in sector " + first / VirtualDisk.SECTOR_SIZE + ")");
        if (strict && first == result.commonSize() && !result.sameSize()) {
            line.append(", the end of the smaller disk");
        }
        result.differingSectors().ifPresent(n -> line.append("; ").append(n)
                .append(n == 1 ? " sector differs" : " sectors differ"));
        out.println(line);
    }

    /** {@code e}, or when its message names neither disk an IOException that names both. */
    private IOException naming(IOException e) {
        String message = e.getMessage();
        if (message != null && (message.contains(fileA.toString()) || message.contains(fileB.toString()))
                || e instanceof FileSystemException || e instanceof VhdFormatException
                || e instanceof ParentNotFoundException) {
            return e;
        }
        return new IOException("comparing " + fileA + " with " + fileB + ": "
                + (message != null ? message : e.getClass().getSimpleName()), e);
    }
}
