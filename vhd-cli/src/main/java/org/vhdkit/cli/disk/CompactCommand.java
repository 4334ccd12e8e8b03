package org.vhdkit.cli.disk;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.cli.conventions.FileArguments;
import org.vhdkit.cli.conventions.Json;
import org.vhdkit.cli.conventions.OutputOption;
import org.vhdkit.cli.conventions.ProgressBar;
import org.vhdkit.cli.conventions.Size;
import org.vhdkit.vhd.transform.Compaction;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code vhd compact}: shrinks a dynamic or differencing VHD to the blocks it needs.
 *
 * <p>Prints one line, or with {@code --output json} one object: {@code file}, {@code type}
 * ("dynamic" or "differencing"), {@code fileSizeBefore}, {@code fileSizeAfter} (bytes),
 * {@code blocksBefore}, {@code blocksAfter}, {@code releasedBlocks}.
 *
 * <p>A fixed disk or a raw image is refused (exit 65), and so is an image open for writing
 * elsewhere (exit 74); the file is then untouched.
 */
@Command(name = "compact",
        description = {
            "Shrinks a dynamic or differencing VHD by releasing the blocks it does not need (Optimize-VHD).",
            "A dynamic disk releases blocks that read as all zeros; a differencing disk releases blocks whose"
                    + " sectors all equal what its parent chain holds there. The blocks kept are packed together"
                    + " and unused space in the file goes. What the disk reads as does not change, nor does its"
                    + " identity: UUID, creator, timestamps, parent link and the file's modification time stay,"
                    + " so differencing disks made on it keep working.",
            "A guest's free space is released only where it reads as zeros: zero it in the guest first"
                    + " (sdelete -z on Windows, zerofree on Linux) to get the most back.",
            "Crash-safe: the compacted image is written to a hidden file beside FILE and renamed over it only"
                    + " once complete and flushed, so FILE is never left half written; it needs free space for"
                    + " the compacted copy meanwhile."},
        footerHeading = "%nExamples:%n",
        footer = {
            "  vhd compact disk.vhd",
            "  vhd compact child.vhd                   # drop blocks that repeat the parent's data",
            "  vhd compact -q --output json disk.vhd"})
public final class CompactCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    OutputOption output;

    @Option(names = {"-q", "--quiet"}, description = "Show no progress bar.")
    boolean quiet;

    @Parameters(paramLabel = "FILE", description = "The dynamic or differencing VHD to compact.")
    Path file;

    /** The JSON of a compaction. */
    record Compacted(String file, String type, long fileSizeBefore, long fileSizeAfter, int blocksBefore,
                     int blocksAfter, int releasedBlocks) {
    }

    @Override
    public Integer call() throws Exception {
        FileArguments.checkNotDirectory(file);
        Compaction.Result result;
        try (ProgressBar bar = ProgressBar.start("Compacting", quiet)) {
            result = Compaction.compact(file, bar);
        } catch (IOException e) {
            throw FileArguments.naming(file, e);
        }
        Compacted compacted = new Compacted(file.toString(), result.type().name().toLowerCase(Locale.ROOT),
                result.fileSizeBefore(), result.fileSizeAfter(), result.blocksBefore(), result.blocksAfter(),
                result.releasedBlocks());
        PrintWriter out = spec.commandLine().getOut();
        if (output.json()) {
            Json.print(out, compacted);
        } else {
            out.println("Compacted " + compacted.type() + " " + compacted.file() + ": "
                    + Size.describe(compacted.fileSizeBefore()) + " -> " + Size.describe(compacted.fileSizeAfter())
                    + ", released " + compacted.releasedBlocks() + " of " + compacted.blocksBefore()
                    + (compacted.blocksBefore() == 1 ? " block" : " blocks"));
        }
        out.flush();
        return ExitCodes.OK;
    }

}
