package org.vhdkit.cli.disk;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.cli.conventions.FileArguments;
import org.vhdkit.cli.conventions.Json;
import org.vhdkit.cli.conventions.OutputOption;
import org.vhdkit.cli.conventions.ProgressBar;
import org.vhdkit.cli.conventions.Size;
import org.vhdkit.vhd.edit.ImageEdits;
import org.vhdkit.vhd.edit.MergeOptions;
import org.vhdkit.vhd.edit.MergeResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code vhd merge} (alias {@code commit}): merges a differencing VHD into its parent or an ancestor.
 *
 * <p>Prints one line, or with {@code --output json} one object: {@code file}, {@code target} (the
 * ancestor merged into), {@code merged} (the disks whose data went into it, FILE first),
 * {@code removed} (those deleted; empty with {@code --keep}), {@code bytesWritten},
 * {@code targetGrown} (the target was grown to FILE's larger size first), {@code warnings}.
 *
 * <p>FILE not differencing, or an {@code --into} that is not one of its parents, is refused (exit 65)
 * before anything is written.
 */
@Command(name = "merge", aliases = "commit",
        description = {
            "Merges a differencing VHD into its parent, or down to an ancestor (Merge-VHD, qemu-img commit).",
            "Everything FILE shows that the disks above the target hold is written into the target, which then"
                    + " reads exactly as FILE did; FILE and the disks between it and the target are then deleted,"
                    + " unless --keep. With --keep, FILE still reads the same through its chain, but the disks"
                    + " between no longer show what they did.",
            "Any other differencing disk made on the target (or on a disk between) shows other content afterwards:"
                    + " its parent changed under it. Hyper-V has the same rule.",
            "Crash-safe by ordering: until the merged data is flushed, only the target is written, and only where"
                    + " a disk above it holds the data, so FILE keeps reading the same and every file stays valid;"
                    + " the disks are deleted, FILE first, only afterwards. An interrupted merge is completed by"
                    + " running it again."},
        footerHeading = "%nExamples:%n",
        footer = {
            "  vhd merge snapshot.vhd                      # into its parent; snapshot.vhd is deleted",
            "  vhd merge --into base.vhd top.vhd           # the whole chain above base.vhd",
            "  vhd commit --keep top.vhd                   # keep top.vhd (it reads the same)",
            "  vhd merge -q --output json snapshot.vhd"})
public final class MergeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    OutputOption output;

    @Option(names = "--into", paramLabel = "ANCESTOR",
            description = "The ancestor to merge into: a file of FILE's parent chain (default: its parent).")
    Path into;

    @Option(names = "--keep", description = "Leave FILE and the disks merged in place rather than delete them.")
    boolean keep;

    @Option(names = {"-q", "--quiet"}, description = "Show no progress bar.")
    boolean quiet;

    @Parameters(paramLabel = "FILE", description = "The differencing VHD to merge.")
    Path file;

    /** The JSON of a merge. */
    record Merged(String file, String target, List<String> merged, List<String> removed, long bytesWritten,
                  boolean targetGrown, List<String> warnings) {
    }

    @Override
    public Integer call() throws Exception {
        FileArguments.checkNotDirectory(file);
        if (into != null) {
            FileArguments.checkNotDirectory(into);
        }
        MergeResult result;
        try (ProgressBar bar = ProgressBar.start("Merging", quiet)) {
            result = ImageEdits.merge(file, new MergeOptions(Optional.ofNullable(into), keep), bar);
        } catch (IOException e) {
            throw FileArguments.naming(file, e);
        }
        Merged merged = new Merged(file.toString(), result.target().toString(),
                result.merged().stream().map(Path::toString).toList(),
                result.removed().stream().map(Path::toString).toList(),
                result.bytesWritten(), result.targetGrown(), result.warnings());
        PrintWriter out = spec.commandLine().getOut();
        if (output.json()) {
            Json.print(out, merged);
        } else {
            PrintWriter err = spec.commandLine().getErr();
            merged.warnings().forEach(w -> err.println("vhd: warning: " + w));
            err.flush();
            out.println("Merged " + String.join(", ", merged.merged()) + " into " + merged.target() + ": "
                    + Size.describe(merged.bytesWritten()) + " written"
                    + (merged.removed().isEmpty() ? "; kept " + String.join(", ", merged.merged())
                            : "; deleted " + String.join(", ", merged.removed())));
        }
        out.flush();
        return ExitCodes.OK;
    }
}
