package org.vhdkit.cli.disk;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.vhdkit.cli.conventions.CommandFailure;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.cli.conventions.FileArguments;
import org.vhdkit.cli.conventions.Json;
import org.vhdkit.cli.conventions.OutputOption;
import org.vhdkit.cli.conventions.Size;
import org.vhdkit.vhd.content.DiskContents;
import org.vhdkit.vhd.content.DiskMap;
import org.vhdkit.vhd.disk.VirtualDisk;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code vhd map}: which ranges of a disk hold data, in which layer of a differencing chain, and
 * where in that layer's file.
 *
 * <p>Human output as {@code qemu-img map}'s, with a layer column: a header, then one line per range
 * that holds data (ranges nothing holds, which read as zeros, are left out), in hex:
 * {@code Offset Length Mapped-to Layer File}. "Mapped to" is the offset in the layer's file.
 *
 * <p>The JSON document ({@code --output json}) is an object; unlike the human output it lists every
 * range, in order, covering the mapped range without gaps:
 * <pre>
 * file       the disk, as named
 * type       "raw", "fixed", "dynamic" or "differencing"
 * size       virtual size in bytes
 * layers     [{layer, file}]: 0 the disk itself, 1 its parent, ...
 * ranges     [{offset, length, data (boolean), layer (null when no layer holds the range: it reads as
 *            zeros), file (that layer's file, or null), fileOffset (where the range starts in that file,
 *            or null)}]
 * warnings   array of strings, from the disk and its parents
 * </pre>
 */
@Command(name = "map",
        description = {
            "Shows which ranges of a disk hold data, in which layer, and where in that layer's file.",
            "FILE is a VHD (a differencing disk is mapped through its parents: layer 0 is the disk itself,"
                    + " 1 its parent, ...) or a raw image (one range, layer 0). Human output lists the ranges"
                    + " that hold data, as qemu-img map does; --output json lists every range, including those"
                    + " no layer holds (they read as zeros). Reads only the files' structures, read-only."},
        footerHeading = "%nExamples:%n",
        footer = {
            "  vhd map child.vhd",
            "  vhd map --start-offset 1G --max-length 64M disk.vhd",
            "  vhd map --output json child.vhd | jq '.ranges[] | select(.layer == 0)'"})
public final class MapCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    OutputOption output;

    @Option(names = "--start-offset", paramLabel = "OFFSET", converter = Size.Converter.class,
            description = "Map from this offset (default 0), e.g. 1G; a multiple of 512 is not required.")
    long startOffset;

    @Option(names = "--max-length", paramLabel = "LENGTH", converter = Size.Converter.class,
            description = "Map at most this many bytes (default: to the end of the disk).")
    Long maxLength;

    @Parameters(paramLabel = "FILE", description = "The disk: a VHD file or a raw image.")
    Path file;

    /** A layer in the JSON. */
    record Layer(int layer, String file) {
    }

    /** A range in the JSON. */
    record Range(long offset, long length, boolean data, Integer layer, String file, Long fileOffset) {
    }

    /** The JSON document. */
    record Report(String file, String type, long size, List<Layer> layers, List<Range> ranges, List<String> warnings) {
    }

    @Override
    public Integer call() throws Exception {
        DiskMap map;
        String type;
        List<String> warnings;
        try (VirtualDisk disk = DiskArguments.openReadOnly(file)) {
            type = DiskArguments.type(disk);
            warnings = DiskArguments.warnings(disk);
            if (startOffset > disk.size()) {
                throw CommandFailure.refused("--start-offset " + startOffset + " is beyond the end of " + file
                        + " (" + Size.describe(disk.size()) + ")");
            }
            long length = disk.size() - startOffset;
            if (maxLength != null) {
                length = Math.min(length, maxLength);
            }
            map = DiskContents.map(disk, startOffset, length);
        } catch (IOException e) {
            throw FileArguments.naming(file, e);
        }
        PrintWriter out = spec.commandLine().getOut();
        if (output.json()) {
            List<Layer> layers = map.layers().stream().map(l -> new Layer(l.layer(), l.file())).toList();
            List<Range> ranges = new ArrayList<>();
            for (DiskMap.Range r : map.ranges()) {
                ranges.add(new Range(r.offset(), r.length(), r.isData(), r.isData() ? r.layer() : null, r.file(),
                        r.fileOffset().isPresent() ? r.fileOffset().getAsLong() : null));
            }
            Json.print(out, new Report(file.toString(), type, map.size(), layers, ranges, warnings));
        } else {
            out.printf("%-16s%-16s%-16s%-7s%s%n", "Offset", "Length", "Mapped to", "Layer", "File");
            for (DiskMap.Range r : map.ranges()) {
                if (r.isData()) {
                    out.printf("%-16s%-16s%-16s%-7s%s%n", hex(r.offset()), hex(r.length()),
                            r.fileOffset().isPresent() ? hex(r.fileOffset().getAsLong()) : "-", r.layer(),
                            r.file() != null ? r.file() : "(parent not open)");
                }
            }
            PrintWriter err = spec.commandLine().getErr();
            warnings.forEach(w -> err.println("vhd: warning: " + w));
            err.flush();
        }
        out.flush();
        return ExitCodes.OK;
    }

    /** As qemu-img map prints numbers (C's {@code %#x}): {@code 0}, {@code 0x200000}. */
    private static String hex(long value) {
        return value == 0 ? "0" : "0x" + Long.toHexString(value);
    }
}
