package org.vhdkit.cli.disk;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import org.vhdkit.cli.conventions.CommandFailure;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.cli.conventions.FileArguments;
import org.vhdkit.cli.conventions.Json;
import org.vhdkit.cli.conventions.OutputOption;
import org.vhdkit.cli.conventions.Size;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.format.DiskType;
import org.vhdkit.vhd.format.DynamicHeader;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code vhd create}: makes a new fixed, dynamic or differencing VHD file.
 *
 * <p>Prints one line, or with {@code --output json} one object: {@code file}, {@code type},
 * {@code size} and {@code blockSize} (bytes; blockSize null for fixed), {@code parent} (as given;
 * null unless differencing), {@code uuid}, {@code zeroFill}.
 *
 * <p>A size that is not a whole number of 512-byte sectors is refused (exit 65) with the nearest
 * size that is; a target file that exists already is refused by the file system (exit 74), never
 * overwritten.
 */
@Command(name = "create",
        description = {
            "Creates a new VHD file (never overwriting one).",
            "dynamic (the default) grows as data is written; fixed takes its whole size up front (sparse"
                    + " unless --zero-fill); differencing records only changes over its --parent, which it"
                    + " links to by relative and absolute path.",
            "Sizes are bytes, or a number with K, M, G or T (binary: 1K = 1024; KiB, KB, k also accepted),"
                    + " e.g. 10G, 512MiB, 1.5G; a disk size must be a multiple of 512 bytes, at most 2040 GiB."},
        footerHeading = "%nExamples:%n",
        footer = {
            "  vhd create --size 10G disk.vhd             # dynamic, 2 MiB blocks",
            "  vhd create --type fixed --size 512M --zero-fill fixed.vhd",
            "  vhd create --parent base.vhd child.vhd     # differencing",
            "  vhd create --size 1.5T --block-size 512K disk.vhd",
            "  vhd create --size 64M --uuid 3f2504e0-4f89-11d3-9a0c-0305e82c3301 d.vhd",
            "  vhd create --output json --size 10G disk.vhd"})
public final class CreateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    OutputOption output;

    @Option(names = "--type", paramLabel = "TYPE", converter = TypeConverter.class,
            completionCandidates = TypeNames.class,
            description = "fixed, dynamic or differencing (default: dynamic, or differencing with --parent)")
    DiskType type;

    @Option(names = "--size", paramLabel = "SIZE", converter = Size.Converter.class,
            description = "The virtual size, e.g. 10G. Required unless differencing, where it defaults to the"
                    + " parent's size and may only be larger.")
    Long size;

    @Option(names = "--block-size", paramLabel = "SIZE", converter = Size.Converter.class,
            description = "Dynamic and differencing: the block size, a power of two from 512 to 256M"
                    + " (default 2M, or the parent's).")
    Long blockSize;

    @Option(names = "--parent", paramLabel = "PATH", description = "Differencing: the parent VHD.")
    Path parent;

    @Option(names = "--zero-fill", description = "Fixed: write every byte now rather than leave a sparse file.")
    boolean zeroFill;

    @Option(names = "--uuid", paramLabel = "UUID", converter = UuidConverter.class,
            description = "The disk's unique id (default: a random one).")
    UUID uuid;

    @Parameters(paramLabel = "FILE", description = "The new VHD file; it must not exist.")
    Path file;

    /** The JSON of a created disk. */
    record Created(String file, String type, long size, Integer blockSize, String parent, String uuid,
                   boolean zeroFill) {
    }

    @Override
    public Integer call() throws Exception {
        checkFileName();
        DiskType chosen = type != null ? type : parent != null ? DiskType.DIFFERENCING : DiskType.DYNAMIC;
        CreateOptions options = switch (chosen) {
            case FIXED -> {
                refuseFor(chosen, "--parent", parent != null);
                refuseFor(chosen, "--block-size", blockSize != null);
                yield CreateOptions.fixed(vhdSize(requiredSize(chosen))).withZeroFill(zeroFill);
            }
            case DYNAMIC -> {
                refuseFor(chosen, "--parent", parent != null);
                refuseFor(chosen, "--zero-fill", zeroFill);
                yield CreateOptions.dynamic(vhdSize(requiredSize(chosen)));
            }
            case DIFFERENCING -> {
                if (parent == null) {
                    throw new ParameterException(spec.commandLine(), "a differencing disk needs --parent PATH");
                }
                refuseFor(chosen, "--zero-fill", zeroFill);
                CreateOptions d = CreateOptions.differencing(parent);
                yield size == null ? d : new CreateOptions(d.type(), vhdSize(size), d.blockSize(), d.parent(),
                        d.zeroFill(), d.creator(), d.uniqueId(), d.timestamp());
            }
        };
        if (blockSize != null) {
            options = options.withBlockSize(blockSizeInt(blockSize));
        }
        if (uuid != null) {
            options = options.withUniqueId(uuid);
        }
        if (parent != null) {
            FileArguments.checkNotDirectory(parent);
        }
        Created created;
        try (VhdDisk disk = org.vhdkit.vhd.Vhd.create(file, options)) {
            created = new Created(disk.path().toString(), chosen.name().toLowerCase(Locale.ROOT), disk.size(),
                    disk.dynamicHeader().map(DynamicHeader::blockSize).orElse(null),
                    parent != null ? parent.toString() : null, disk.footer().uniqueId().toString(), zeroFill);
        } catch (IllegalArgumentException e) {
            // The library's words for a size or block size out of range.
            throw CommandFailure.refused(e.getMessage(), e);
        } catch (IOException e) {
            throw FileArguments.naming(file, e);
        }
        PrintWriter out = spec.commandLine().getOut();
        if (output.json()) {
            Json.print(out, created);
        } else {
            out.println("Created " + created.type() + " " + created.file() + ": " + Size.describe(created.size())
                    + (created.blockSize() != null ? ", " + Size.human(created.blockSize()) + " blocks" : "")
                    + (created.parent() != null ? ", parent " + created.parent() : "")
                    + (zeroFill ? ", zero-filled" : ""));
        }
        out.flush();
        return ExitCodes.OK;
    }

    /**
     * Refuses a FILE that names a folder: typed with a trailing '/' (a usage error; the path itself has
     * lost the '/'), or an existing directory.
     */
    private void checkFileName() throws FileSystemException {
        String typed = spec.positionalParameters().getFirst().originalStringValues().getFirst();
        if (typed.endsWith("/")) {
            throw new ParameterException(spec.commandLine(), "'" + typed + "' ends in '/', so it names a folder, not"
                    + " the new VHD file; give the file's name, e.g. " + typed + "disk.vhd");
        }
        if (Files.isDirectory(file)) {
            throw new FileSystemException(file.toString(), null, "is a directory, not a VHD file; give the new"
                    + " file's name, e.g. " + file.resolve("disk.vhd"));
        }
    }

    private long requiredSize(DiskType chosen) {
        if (size == null) {
            throw new ParameterException(spec.commandLine(),
                    "a " + chosen.name().toLowerCase(Locale.ROOT) + " disk needs --size SIZE, e.g. --size 10G");
        }
        return size;
    }

    private void refuseFor(DiskType chosen, String option, boolean given) {
        if (given) {
            throw new ParameterException(spec.commandLine(),
                    option + " does not apply to a " + chosen.name().toLowerCase(Locale.ROOT) + " disk");
        }
    }

    /**
     * The size if a VHD can have it: at most {@link org.vhdkit.vhd.Vhd#MAX_SIZE} (refused, in units) and a
     * whole number of sectors ({@link #sectorMultiple}).
     */
    static long vhdSize(long bytes) throws CommandFailure {
        if (bytes > org.vhdkit.vhd.Vhd.MAX_SIZE) {
            throw CommandFailure.refused("the size " + Size.exact(bytes) + " is larger than a VHD can be (at most"
                    + " 2040 GiB)");
        }
        return sectorMultiple(bytes);
    }

    /** The size if it is a whole number of sectors; otherwise refused, naming the nearest size that is. */
    static long sectorMultiple(long bytes) throws CommandFailure {
        if (bytes % 512 == 0) {
            return bytes;
        }
        long down = bytes / 512 * 512;
        long up = down + 512;
        long nearest = down == 0 || (bytes - down >= 256 && up <= org.vhdkit.vhd.Vhd.MAX_SIZE) ? up : down;
        throw CommandFailure.refused("the size " + bytes + (bytes == 1 ? " byte" : " bytes")
                + " is not a multiple of 512; the nearest valid size is " + nearest + " bytes (--size "
                + sizeArgument(nearest) + ")");
    }

    /** {@code bytes} as a --size argument: in the largest unit that divides it. */
    private static String sizeArgument(long bytes) {
        String[] units = {"T", "G", "M", "K"};
        for (int i = 0; i < units.length; i++) {
            long unit = 1L << (10 * (units.length - i));
            if (bytes % unit == 0) {
                return bytes / unit + units[i];
            }
        }
        return Long.toString(bytes);
    }

    private static int blockSizeInt(long bytes) throws CommandFailure {
        if (bytes > Integer.MAX_VALUE) {
            throw CommandFailure.refused("the block size must be a power of two from 512 bytes to 256 MiB; "
                    + bytes + " is not");
        }
        return (int) bytes;
    }

    /** Reads --type in any case. */
    static final class TypeConverter implements CommandLine.ITypeConverter<DiskType> {
        @Override
        public DiskType convert(String value) {
            for (DiskType t : DiskType.values()) {
                if (t.name().equalsIgnoreCase(value)) {
                    return t;
                }
            }
            throw new CommandLine.TypeConversionException("'" + value + "' is not a disk type; use fixed, dynamic"
                    + " or differencing");
        }
    }

    /** Reads --uuid: the 8-4-4-4-12 hex form only (UUID.fromString also takes "1-2-3-4-5"). */
    static final class UuidConverter implements CommandLine.ITypeConverter<UUID> {
        private static final Pattern FORM = Pattern.compile("\\p{XDigit}{8}(-\\p{XDigit}{4}){3}-\\p{XDigit}{12}");

        @Override
        public UUID convert(String value) {
            if (!FORM.matcher(value).matches()) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not a UUID; give 32 hex digits as"
                        + " 8-4-4-4-12, e.g. 3f2504e0-4f89-11d3-9a0c-0305e82c3301");
            }
            return UUID.fromString(value);
        }
    }

    /** The names shell completion offers for --type. */
    static final class TypeNames implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return List.of("fixed", "dynamic", "differencing").iterator();
        }
    }
}
