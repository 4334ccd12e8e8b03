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
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.edit.ImageEdits;
import org.vhdkit.vhd.edit.ResizeResult;
import org.vhdkit.vhd.format.VhdFormatException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code vhd resize}: grows or shrinks a fixed, dynamic or differencing VHD in place.
 *
 * <p>Prints one line, or with {@code --output json} one object: {@code file}, {@code type},
 * {@code oldSize} and {@code newSize} (bytes), {@code changed}, {@code tableMoved} (the block
 * allocation table had to move to the end of the file), {@code warnings} (array of strings).
 *
 * <p>A shrink whose cut-off range holds data is refused (exit 65) unless {@code --allow-shrink};
 * so is a differencing disk smaller than its parent, always.
 */
@Command(name = "resize",
        description = {
            "Grows or shrinks a VHD in place (Resize-VHD): fixed, dynamic or differencing.",
            "SIZE is the new size (e.g. 20G), or +SIZE to grow by that much; it must be a multiple of 512 bytes,"
                    + " at most 2040 GiB. A grown disk reads as zeros beyond its old end; the partitions and file"
                    + " systems in it are not touched (grow them in the guest).",
            "Shrinking is refused when the range cut off holds data (anything but zeros), unless --allow-shrink"
                    + " is given: then that data is lost. A differencing disk never becomes smaller than its"
                    + " parent. Blocks left beyond the new end stay in the file until 'vhd compact'.",
            "The footer's Current Size and CHS geometry change; its Original Size stays the size at creation."
                    + " Differencing disks made on FILE keep working (they read only what they read before).",
            "Crash-safe by ordering: new structures are written where nothing refers to them yet, the footer at"
                    + " a new end before the old one is dropped, headers a sector at a time, each step flushed."
                    + " A resize interrupted by a crash is completed by running it again."},
        footerHeading = "%nExamples:%n",
        footer = {
            "  vhd resize --size 20G disk.vhd",
            "  vhd resize --size +10G disk.vhd          # grow by 10 GiB",
            "  vhd resize --size 8G disk.vhd            # shrink, if the last part holds nothing",
            "  vhd resize --size 8G --allow-shrink disk.vhd",
            "  vhd resize --output json --size 20G disk.vhd"})
public final class ResizeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    OutputOption output;

    @Option(names = "--size", required = true, paramLabel = "SIZE", converter = SizeChange.Converter.class,
            description = "The new size, e.g. 20G; or +SIZE to grow by that much.")
    SizeChange size;

    @Option(names = "--allow-shrink",
            description = "Shrink even when the range cut off holds data; that data is lost.")
    boolean allowShrink;

    @Option(names = {"-q", "--quiet"}, description = "Show no progress bar (shown while a shrink checks the range cut off).")
    boolean quiet;

    @Parameters(paramLabel = "FILE", description = "The VHD to resize.")
    Path file;

    /** --size: an absolute size, or one relative to the current size. */
    record SizeChange(boolean relative, long bytes) {
        static final class Converter implements CommandLine.ITypeConverter<SizeChange> {
            @Override
            public SizeChange convert(String value) {
                if (value.startsWith("-")) {
                    throw new CommandLine.TypeConversionException("'" + value + "': shrinking by an amount is not"
                            + " supported; give the new size itself, e.g. --size 8G ('vhd info FILE' shows the"
                            + " current size)");
                }
                boolean relative = value.startsWith("+");
                try {
                    return new SizeChange(relative, Size.parse(relative ? value.substring(1) : value));
                } catch (IllegalArgumentException e) {
                    throw new CommandLine.TypeConversionException(e.getMessage());
                }
            }
        }
    }

    /** The JSON of a resize. */
    record Resized(String file, String type, long oldSize, long newSize, boolean changed, boolean tableMoved,
                   List<String> warnings) {
    }

    @Override
    public Integer call() throws Exception {
        FileArguments.checkNotDirectory(file);
        long newSize = size.bytes();
        if (size.relative()) {
            newSize = Math.addExact(currentSize(), size.bytes());
        }
        newSize = CreateCommand.vhdSize(newSize);
        ResizeResult result;
        try (ProgressBar bar = ProgressBar.start("Checking", quiet)) {
            result = ImageEdits.resize(file, newSize, allowShrink, bar);
        } catch (IllegalArgumentException e) {
            throw CommandFailure.refused(e.getMessage(), e);
        } catch (VhdFormatException e) {
            if (e.field().equals(ImageEdits.DATA_BEYOND_NEW_SIZE)) {
                throw CommandFailure.refused(e.getMessage() + "; --allow-shrink discards it", e);
            }
            throw e;
        } catch (IOException e) {
            throw FileArguments.naming(file, e);
        }
        Resized resized = new Resized(file.toString(), result.type().name().toLowerCase(Locale.ROOT),
                result.oldSize(), result.newSize(), result.changed(), result.tableMoved(), result.warnings());
        PrintWriter out = spec.commandLine().getOut();
        if (output.json()) {
            Json.print(out, resized);
        } else {
            PrintWriter err = spec.commandLine().getErr();
            resized.warnings().forEach(w -> err.println("vhd: warning: " + w));
            err.flush();
            if (resized.changed()) {
                out.println("Resized " + resized.type() + " " + resized.file() + ": " + Size.describe(resized.oldSize())
                        + " -> " + Size.describe(resized.newSize())
                        + (resized.tableMoved() ? "; its block allocation table moved to the end of the file" : ""));
            } else {
                out.println(resized.file() + " is already " + Size.describe(resized.newSize()) + "; nothing to do");
            }
        }
        out.flush();
        return ExitCodes.OK;
    }

    /** The disk's size now, for a relative --size. */
    private long currentSize() throws IOException {
        try (VhdDisk disk = org.vhdkit.vhd.Vhd.open(file, OpenOptions.READ_ONLY.withoutParent())) {
            return disk.size();
        } catch (IOException e) {
            throw FileArguments.naming(file, e);
        }
    }
}
