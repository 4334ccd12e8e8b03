package org.vhdkit.cli.disk;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.vhdkit.cli.conventions.CommandFailure;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.cli.conventions.FileArguments;
import org.vhdkit.cli.conventions.Json;
import org.vhdkit.cli.conventions.OutputOption;
import org.vhdkit.cli.conventions.ProgressBar;
import org.vhdkit.cli.conventions.Size;
import org.vhdkit.vhd.ParentNotFoundException;
import org.vhdkit.vhd.edit.ImageEdits;
import org.vhdkit.vhd.edit.RebaseMode;
import org.vhdkit.vhd.edit.RebaseResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code vhd rebase} (alias {@code set-parent}): links a differencing VHD to another parent.
 *
 * <p>Prints one line, or with {@code --output json} one object: {@code file}, {@code parent} (the new
 * one), {@code mode} ("safe" or "unsafe"), {@code oldParentUuid}, {@code newParentUuid},
 * {@code bytesCopied} (safe mode: the old parents' content copied into FILE), {@code warnings}.
 *
 * <p>FILE not differencing, a new parent larger than FILE, or one whose chain holds FILE, is refused
 * (exit 65) before anything is written; so is a safe rebase whose old parent cannot be found.
 */
@Command(name = "rebase", aliases = "set-parent",
        description = {
            "Links a differencing VHD to another parent (Set-VHD -ParentPath, qemu-img rebase).",
            "Safe (the default): wherever FILE holds nothing and the new parent's content differs from the old"
                    + " parent chain's, the old content is first copied into FILE, so FILE reads exactly the same"
                    + " afterwards. This needs the old parent and reads both, a sector at a time. Use it to drop a"
                    + " disk from the middle of a chain (rebase onto the grandparent) or to move onto another base.",
            "--unsafe rewrites the link only: right when NEW is the old parent moved, copied or restored (same"
                    + " content); otherwise FILE shows other content afterwards.",
            "The link is the parent's UUID, modification time and file name, and its path both relative to"
                    + " FILE's folder and absolute, as Windows records them. NEW must not be larger than FILE.",
            "Crash-safe by ordering: the copy writes into FILE only what it already shows; the new paths are"
                    + " appended where nothing refers to them yet (a few KiB); then one header write switches the"
                    + " link. An interrupted rebase leaves FILE linked to its old parent, and running it again"
                    + " completes it."},
        footerHeading = "%nExamples:%n",
        footer = {
            "  vhd rebase --unsafe --parent /mnt/new/base.vhd child.vhd   # the parent was moved or copied",
            "  vhd rebase --parent base.vhd top.vhd      # skip the disk between top.vhd and base.vhd",
            "  vhd set-parent --parent other-base.vhd child.vhd",
            "  vhd rebase --output json --unsafe --parent base.vhd child.vhd"})
public final class RebaseCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    OutputOption output;

    @Option(names = "--parent", required = true, paramLabel = "NEW", description = "The new parent VHD.")
    Path parent;

    @Option(names = {"-u", "--unsafe"}, description = "Rewrite the link only, without comparing contents.")
    boolean unsafe;

    @Option(names = {"-q", "--quiet"}, description = "Show no progress bar.")
    boolean quiet;

    @Parameters(paramLabel = "FILE", description = "The differencing VHD to relink.")
    Path file;

    /** The JSON of a rebase. */
    record Rebased(String file, String parent, String mode, String oldParentUuid, String newParentUuid,
                   long bytesCopied, List<String> warnings) {
    }

    @Override
    public Integer call() throws Exception {
        FileArguments.checkNotDirectory(file);
        FileArguments.checkNotDirectory(parent);
        RebaseMode mode = unsafe ? RebaseMode.UNSAFE : RebaseMode.SAFE;
        RebaseResult result;
        try (ProgressBar bar = ProgressBar.start("Comparing", quiet || unsafe)) {
            result = ImageEdits.rebase(file, parent, mode, bar);
        } catch (ParentNotFoundException e) {
            if (mode == RebaseMode.SAFE && e.getMessage().startsWith(file.toString())) {
                throw CommandFailure.refused(e.getMessage() + "; a safe rebase reads the old parent to keep what "
                        + file + " shows: restore it, or give --unsafe if " + parent + " is a copy of it", e);
            }
            throw e;
        } catch (IOException e) {
            throw FileArguments.naming(file, e);
        }
        Rebased rebased = new Rebased(file.toString(), parent.toString(), mode.name().toLowerCase(Locale.ROOT),
                result.oldParentUuid().toString(), result.newParentUuid().toString(), result.bytesCopied(),
                result.warnings());
        PrintWriter out = spec.commandLine().getOut();
        if (output.json()) {
            Json.print(out, rebased);
        } else {
            PrintWriter err = spec.commandLine().getErr();
            rebased.warnings().forEach(w -> err.println("vhd: warning: " + w));
            err.flush();
            out.println("Rebased " + rebased.file() + " onto " + rebased.parent() + " (" + rebased.mode() + "): "
                    + (mode == RebaseMode.SAFE ? Size.describe(rebased.bytesCopied())
                            + " of the old parents' content copied into it" : "link rewritten only"));
        }
        out.flush();
        return ExitCodes.OK;
    }
}
