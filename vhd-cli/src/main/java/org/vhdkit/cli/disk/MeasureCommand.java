package org.vhdkit.cli.disk;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.cli.conventions.AlignedLines;
import org.vhdkit.cli.conventions.CommandFailure;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.cli.conventions.FileArguments;
import org.vhdkit.cli.conventions.Json;
import org.vhdkit.cli.conventions.OutputOption;
import org.vhdkit.cli.conventions.ProgressBar;
import org.vhdkit.cli.conventions.Size;
import org.vhdkit.vhd.transform.Conversion;
import org.vhdkit.vhd.transform.ImageType;
import org.vhdkit.vhd.transform.Measurement;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code vhd measure}: the size of the file a new image, or a conversion, will make.
 *
 * <p>The JSON document ({@code --output json}) is an object: {@code source} (as named; null for a
 * new image), {@code type} ("fixed", "dynamic" or "raw"), {@code size} (virtual, bytes),
 * {@code blockSize} (bytes; null unless dynamic), {@code blocks} (the blocks the file holds: 0 for a
 * new image, those with data for a conversion; null unless dynamic), {@code totalBlocks} (null unless
 * dynamic), {@code requiredSize} (bytes: the file as created or converted), {@code fullyAllocatedSize}
 * (bytes: the file once every byte of the disk is written), {@code warnings} (array of strings).
 */
@Command(name = "measure",
        description = {
            "Prints the size of the file a new image of a given type and size will need, or that converting"
                    + " SOURCE to that type will make.",
            "Exact to the byte for files vhdkit writes: 'vhd create' and 'vhd convert' make files of the"
                    + " required size, and a dynamic disk grows to the fully allocated size when every block is"
                    + " written. Measuring a conversion to dynamic reads SOURCE to count the blocks that hold"
                    + " data (ranges no layer holds are not read).",
            "Fixed and raw images are sparse files: they may take less space on the host than their size."},
        footerHeading = "%nExamples:%n",
        footer = {
            "  vhd measure --type dynamic --size 10G",
            "  vhd measure --type fixed --size 512M",
            "  vhd measure --type dynamic disk.img        # the size 'vhd convert disk.img disk.vhd' makes",
            "  vhd measure --type dynamic --block-size 512K --output json child.vhd"})
public final class MeasureCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    OutputOption output;

    @Option(names = "--type", required = true, paramLabel = "TYPE", converter = ConvertCommand.TypeConverter.class,
            completionCandidates = ConvertCommand.TypeNames.class, description = "fixed, dynamic or raw")
    ImageType type;

    @Option(names = "--size", paramLabel = "SIZE", converter = Size.Converter.class,
            description = "A new image's virtual size, e.g. 10G (instead of SOURCE).")
    Long size;

    @Option(names = "--block-size", paramLabel = "SIZE", converter = Size.Converter.class,
            description = "Dynamic: the block size, a power of two from 512 to 256M (default 2M).")
    Long blockSize;

    @Option(names = {"-q", "--quiet"}, description = "Show no progress bar.")
    boolean quiet;

    @Parameters(paramLabel = "SOURCE", arity = "0..1",
            description = "A disk to measure the conversion of: a VHD or a raw image (instead of --size).")
    Path source;

    /** The JSON of a measurement. */
    record Measured(String source, String type, long size, Integer blockSize, Long blocks, Long totalBlocks,
                    long requiredSize, long fullyAllocatedSize, List<String> warnings) {
    }

    @Override
    public Integer call() throws Exception {
        if ((size == null) == (source == null)) {
            throw new ParameterException(spec.commandLine(), size == null
                    ? "give --size SIZE for a new image, or a SOURCE disk to measure its conversion"
                    : "give either --size or a SOURCE disk, not both");
        }
        if (blockSize != null && type != ImageType.DYNAMIC) {
            throw new ParameterException(spec.commandLine(),
                    "--block-size applies to a dynamic image only, not to a " + ConvertCommand.name(type) + " one");
        }
        int block = blockSize == null ? 0 : ConvertCommand.blockSizeInt(blockSize);
        Measurement measurement;
        List<String> warnings = new ArrayList<>();
        try {
            if (source == null) {
                measurement = Measurement.ofNew(type, type == ImageType.RAW ? CreateCommand.sectorMultiple(size)
                        : CreateCommand.vhdSize(size), block);
            } else {
                measurement = measureConversion(block, warnings);
            }
        } catch (IllegalArgumentException e) {
            throw CommandFailure.refused(e.getMessage(), e); // the library's words for a size or block size out of range
        }
        print(measurement, warnings);
        return ExitCodes.OK;
    }

    private Measurement measureConversion(int block, List<String> warnings) throws IOException {
        FileArguments.checkNotDirectory(source);
        try (VirtualDisk disk = Conversion.openSource(source);
             ProgressBar bar = ProgressBar.start("Measuring", quiet || type != ImageType.DYNAMIC)) {
            warnings.addAll(DiskArguments.warnings(disk));
            return Measurement.ofConversion(disk, type, block, bar);
        } catch (IOException e) {
            throw FileArguments.naming(source, e);
        }
    }

    private void print(Measurement m, List<String> warnings) {
        boolean dynamic = m.type() == ImageType.DYNAMIC;
        Long totalBlocks = dynamic ? (m.size() + m.blockSize() - 1) / m.blockSize() : null;
        Measured measured = new Measured(source == null ? null : source.toString(), ConvertCommand.name(m.type()),
                m.size(), dynamic ? m.blockSize() : null, dynamic ? m.blocks() : null, totalBlocks,
                m.requiredBytes(), m.fullyAllocatedBytes(), warnings);
        PrintWriter out = spec.commandLine().getOut();
        if (output.json()) {
            Json.print(out, measured);
        } else {
            AlignedLines lines = new AlignedLines();
            if (source != null) {
                lines.add("Source", source);
            }
            lines.add("Type", measured.type() + (dynamic ? ", " + Size.human(m.blockSize()) + " blocks" : ""));
            lines.add("Virtual size", Size.describe(m.size()));
            if (dynamic) {
                lines.add("Blocks", m.blocks() + " of " + totalBlocks + (source == null ? " (new)" : " hold data"));
            }
            lines.add("Required size", Size.describe(m.requiredBytes()));
            lines.add("Fully allocated size", Size.describe(m.fullyAllocatedBytes()));
            lines.print(out);
            PrintWriter err = spec.commandLine().getErr();
            warnings.forEach(w -> err.println("vhd: warning: " + w));
            err.flush();
        }
        out.flush();
    }

}
