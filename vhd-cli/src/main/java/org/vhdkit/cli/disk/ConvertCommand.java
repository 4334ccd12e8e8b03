package org.vhdkit.cli.disk;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.cli.conventions.CommandFailure;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.cli.conventions.FileArguments;
import org.vhdkit.cli.conventions.Json;
import org.vhdkit.cli.conventions.OutputOption;
import org.vhdkit.cli.conventions.ProgressBar;
import org.vhdkit.cli.conventions.Size;
import org.vhdkit.vhd.transform.Conversion;
import org.vhdkit.vhd.transform.ConvertOptions;
import org.vhdkit.vhd.transform.ImageType;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code vhd convert}: writes a disk's contents into a new fixed VHD, dynamic VHD or raw image.
 *
 * <p>Prints one line, or with {@code --output json} one object: {@code source}, {@code sourceType}
 * ("raw", "fixed", "dynamic" or "differencing"), {@code target}, {@code type} ("fixed", "dynamic" or
 * "raw"), {@code size} (virtual, bytes), {@code blockSize} (bytes; null unless dynamic),
 * {@code fileSize} (bytes), {@code dataBytes} (the bytes written: the disk less what reads as zero),
 * {@code warnings} (array of strings from the source and its parents).
 *
 * <p>The target's type is {@code --type}, or else follows its name: {@code .vhd} is dynamic,
 * {@code .img} and {@code .raw} are raw. A target that exists is refused (exit 74) unless
 * {@code --force}; it is then replaced only once the conversion has succeeded.
 */
@Command(name = "convert",
        description = {
            "Copies a disk's contents into a new fixed VHD, dynamic VHD or raw image (Convert-VHD).",
            "SOURCE is a VHD of any type (a differencing disk is read through its parents and becomes one"
                    + " standalone disk) or a raw image. The virtual size never changes. Ranges that read as"
                    + " zero are skipped: a dynamic target allocates only the blocks that hold data, and a fixed"
                    + " or raw target is a sparse file.",
            "The type is --type, or else TARGET's extension: .vhd makes a dynamic VHD, .img or .raw a raw image.",
            "Crash-safe: the result is written to a hidden file beside TARGET and renamed over it only once"
                    + " complete and flushed, so TARGET is never left half written. An existing TARGET is"
                    + " replaced only with --force. The new VHD gets a new UUID."},
        footerHeading = "%nExamples:%n",
        footer = {
            "  vhd convert disk.vhd disk.img                   # a raw image",
            "  vhd convert --type fixed disk.vhd fixed.vhd",
            "  vhd convert child.vhd standalone.vhd            # flatten a differencing chain",
            "  vhd convert --block-size 512K disk.raw disk.vhd",
            "  vhd convert --force -q --output json disk.vhd disk.img"})
public final class ConvertCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    OutputOption output;

    @Option(names = "--type", paramLabel = "TYPE", converter = TypeConverter.class, completionCandidates = TypeNames.class,
            description = "fixed, dynamic or raw (default: from TARGET's extension: .vhd dynamic, .img or .raw raw)")
    ImageType type;

    @Option(names = "--block-size", paramLabel = "SIZE", converter = Size.Converter.class,
            description = "Dynamic: the block size, a power of two from 512 to 256M (default 2M).")
    Long blockSize;

    @Option(names = {"-f", "--force"}, description = "Replace TARGET if it exists (once the conversion has succeeded).")
    boolean force;

    @Option(names = {"-q", "--quiet"}, description = "Show no progress bar.")
    boolean quiet;

    @Parameters(index = "0", paramLabel = "SOURCE", description = "The disk to copy: a VHD or a raw image.")
    Path source;

    @Parameters(index = "1", paramLabel = "TARGET", description = "The file to write.")
    Path target;

    /** The JSON of a conversion. */
    record Converted(String source, String sourceType, String target, String type, long size, Integer blockSize,
                     long fileSize, long dataBytes, List<String> warnings) {
    }

    @Override
    public Integer call() throws Exception {
        ImageType chosen = type != null ? type : typeFromName(target);
        if (chosen == ImageType.RAW && hasVhdExtension(target)) {
            throw new ParameterException(spec.commandLine(), "a raw image named '" + target.getFileName()
                    + "' would be taken for a VHD; give it another extension, e.g. .img");
        }
        ConvertOptions options = ConvertOptions.to(chosen).withOverwrite(force);
        if (blockSize != null) {
            if (chosen != ImageType.DYNAMIC) {
                throw new ParameterException(spec.commandLine(),
                        "--block-size applies to a dynamic target only, not to a " + name(chosen) + " one");
            }
            try {
                options = options.withBlockSize(blockSizeInt(blockSize));
            } catch (IllegalArgumentException e) {
                throw CommandFailure.refused(e.getMessage(), e);
            }
        }
        FileArguments.checkNotDirectory(source);
        FileArguments.checkNotDirectory(target);
        PrintWriter err = spec.commandLine().getErr();
        VirtualDisk disk;
        try {
            disk = Conversion.openSource(source);
        } catch (IOException e) {
            throw FileArguments.naming(source, e);
        }
        Conversion.Result result;
        String sourceType;
        List<String> warnings;
        try (disk) {
            sourceType = DiskArguments.type(disk);
            warnings = new ArrayList<>(DiskArguments.warnings(disk));
            if (!output.json()) {
                warnings.forEach(w -> err.println("vhd: warning: " + w));
                err.flush();
            }
            try (ProgressBar bar = ProgressBar.start("Converting", quiet)) {
                result = Conversion.convert(disk, target, options, bar);
            }
        } catch (FileAlreadyExistsException e) {
            if (target.toString().equals(e.getFile())) {
                throw new FileAlreadyExistsException(target.toString(), null,
                        "the file exists already; give --force to replace it");
            }
            throw e;
        } catch (IOException e) {
            throw naming(e);
        }
        PrintWriter out = spec.commandLine().getOut();
        Converted converted = new Converted(source.toString(), sourceType, target.toString(), name(chosen),
                result.size(), chosen == ImageType.DYNAMIC ? result.blockSize() : null, result.fileSize(),
                result.dataBytes(), warnings);
        if (output.json()) {
            Json.print(out, converted);
        } else {
            out.println("Converted " + converted.source() + " (" + sourceType + ") to " + converted.type() + " "
                    + converted.target() + ": " + Size.describe(converted.size())
                    + (converted.blockSize() != null ? ", " + Size.human(converted.blockSize()) + " blocks" : "")
                    + "; file " + Size.describe(converted.fileSize()));
        }
        out.flush();
        return ExitCodes.OK;
    }

    /**
     * {@code e}, or when its message names neither file (the system's bare "Input/output error"),
     * an exception whose message says it happened converting SOURCE to TARGET.
     */
    private IOException naming(IOException e) {
        String message = e.getMessage();
        if (e instanceof java.nio.file.FileSystemException || e instanceof org.vhdkit.vhd.format.VhdFormatException
                || message != null && (message.contains(source.toString()) || message.contains(target.toString()))) {
            return e;
        }
        return new IOException(source + " -> " + target + ": " + (message != null ? message
                : e.getClass().getSimpleName()), e);
    }

    /** The type a target's name implies: .vhd dynamic, .img or .raw raw. */
    private ImageType typeFromName(Path file) {
        String name = file.getFileName() == null ? "" : file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".vhd")) {
            return ImageType.DYNAMIC;
        }
        if (name.endsWith(".img") || name.endsWith(".raw")) {
            return ImageType.RAW;
        }
        throw new ParameterException(spec.commandLine(), "cannot tell the target's type from its name '" + file
                + "'; give --type fixed, dynamic or raw");
    }

    private static boolean hasVhdExtension(Path file) {
        return file.getFileName() != null && file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".vhd");
    }

    static String name(ImageType type) {
        return type.name().toLowerCase(Locale.ROOT);
    }

    static int blockSizeInt(long bytes) throws CommandFailure {
        if (bytes > Integer.MAX_VALUE) {
            throw CommandFailure.refused("the block size must be a power of two from 512 bytes to 256 MiB; "
                    + bytes + " is not");
        }
        return (int) bytes;
    }

    /** Reads --type in any case. */
    static final class TypeConverter implements CommandLine.ITypeConverter<ImageType> {
        @Override
        public ImageType convert(String value) {
            for (ImageType t : ImageType.values()) {
                if (t.name().equalsIgnoreCase(value)) {
                    return t;
                }
            }
            throw new CommandLine.TypeConversionException("'" + value + "' is not an image type; use fixed, dynamic"
                    + " or raw");
        }
    }

    /** The names shell completion offers for --type. */
    static final class TypeNames implements Iterable<String> {
        @Override
        public java.util.Iterator<String> iterator() {
            return List.of("fixed", "dynamic", "raw").iterator();
        }
    }
}
