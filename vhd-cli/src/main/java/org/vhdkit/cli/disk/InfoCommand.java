package org.vhdkit.cli.disk;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.vhdkit.cli.conventions.AlignedLines;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.cli.conventions.FileArguments;
import org.vhdkit.cli.conventions.Json;
import org.vhdkit.cli.conventions.OutputOption;
import org.vhdkit.vhd.ParentNotFoundException;
import org.vhdkit.vhd.VhdDisk;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code vhd info}: what a VHD file is and holds, read-only.
 *
 * <p>The JSON document ({@code --output json}) is an object with these fields, always present (null
 * where they do not apply); sizes and offsets in bytes, timestamps ISO-8601 UTC:
 * <pre>
 * file             the file, as named
 * type             "fixed", "dynamic" or "differencing"
 * size             virtual size (the footer's Current Size)
 * originalSize     the footer's Original Size (the size at creation)
 * geometry         {cylinders, heads, sectorsPerTrack, capacity}: the footer's CHS and the bytes it covers
 * blockSize        null for fixed
 * totalBlocks      null for fixed
 * allocatedBlocks  null for fixed
 * fileSize         the size of the file
 * creator          {application, version, hostOs}, e.g. {"win", "10.0", "Wi2k"}
 * uuid             the footer's Unique Id
 * timestamp        creation time
 * savedState       boolean
 * features         the Features field as a number (2 normally)
 * temporary        boolean: Features bit 0x1
 * formatVersion    "1.0"
 * parent           null unless differencing: {name, uuid, timestamp, path (where it was found, or null),
 *                  locators: [{platform, offset, length, space, path}]}
 * chain            with --chain: the same object (without chain and warnings) for the parent, the
 *                  grandparent, ...; otherwise null
 * warnings         array of strings, from every layer; a parent that cannot be found is one
 * </pre>
 *
 * <p>A differencing disk whose parent cannot be found is still described (parent.path null), and
 * the command then fails with exit code 65.
 */
@Command(name = "info",
        description = {
            "Shows what a VHD file is and which parent it links to.",
            "Type, virtual size, geometry, blocks, creator, UUID, timestamps and, for a differencing disk,"
                    + " the parent it names, its locators and where the parent was found.",
            "Opens the file read-only. Warnings (odd but readable images) go to stderr; with --output json"
                    + " they are in the document instead."},
        footerHeading = "%nExamples:%n",
        footer = {
            "  vhd info disk.vhd",
            "  vhd info --chain child.vhd           # the child and every parent below it",
            "  vhd info --output json disk.vhd | jq .size"})
public final class InfoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    OutputOption output;

    @Option(names = "--chain", description = "Also describe every parent down the chain of a differencing disk.")
    boolean chain;

    @Parameters(paramLabel = "FILE", description = "The VHD file.")
    Path file;

    @Override
    public Integer call() throws Exception {
        List<LayerFacts> layers = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        FileArguments.checkNotDirectory(file);
        try (VhdDisk disk = org.vhdkit.vhd.Vhd.openReadOnly(file)) {
            for (VhdDisk layer : disk.chain()) {
                layers.add(LayerFacts.of(layer));
                layer.warnings().stream().filter(w -> !warnings.contains(w)).forEach(warnings::add);
            }
        } catch (ParentNotFoundException e) {
            // Still show what the child itself says: which parent it wants, and where it looked.
            Optional<LayerFacts> own = LayerFacts.readWithoutParent(file);
            if (own.isPresent()) {
                // JSON readers see the missing parent in the document too; stderr says it once, below.
                print(DiskSummary.of(own.get()), null, output.json() ? List.of(e.getMessage()) : List.of());
            }
            throw e;
        } catch (IOException e) {
            throw FileArguments.naming(file, e);
        }
        List<DiskSummary> summaries = layers.stream().map(DiskSummary::of).toList();
        print(summaries.getFirst(), chain ? summaries.subList(1, summaries.size()) : null, warnings);
        return ExitCodes.OK;
    }

    /** Prints the disk, and its ancestors when there are any to show (null: not asked for, or unknown). */
    private void print(DiskSummary disk, List<DiskSummary> ancestors, List<String> warnings) {
        PrintWriter out = spec.commandLine().getOut();
        if (output.json()) {
            Json.print(out, new InfoReport(disk, ancestors, warnings));
        } else {
            AlignedLines lines = new AlignedLines();
            disk.addTo(lines);
            for (DiskSummary ancestor : ancestors != null ? ancestors : List.<DiskSummary>of()) {
                lines.blank();
                ancestor.addTo(lines);
            }
            lines.print(out);
            PrintWriter err = spec.commandLine().getErr();
            warnings.forEach(w -> err.println("vhd: warning: " + w));
            err.flush();
        }
        out.flush();
    }
}
