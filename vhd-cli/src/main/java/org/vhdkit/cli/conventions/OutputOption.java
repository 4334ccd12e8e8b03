package org.vhdkit.cli.conventions;

import java.util.List;
import java.util.Locale;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * The {@code --output human|json} option every reporting command mixes in
 * ({@code @Mixin OutputOption output;}).
 *
 * <p>Thread-safety: set by picocli before the command runs; read on the command's thread.
 */
public final class OutputOption {
    /** How results are written to stdout. */
    enum Format {
        /** Lines for people. */
        HUMAN,
        /** One JSON document, and nothing else on stdout. */
        JSON
    }

    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", converter = FormatConverter.class,
            completionCandidates = FormatNames.class,
            description = "human (the default) or json: one JSON document on stdout, nothing else")
    Format format = Format.HUMAN;

    public boolean json() {
        return format == Format.JSON;
    }

    /**
     * The same option as {@code --output} alone, for a command whose {@code -o} means something
     * else ({@code vhd bench}, where {@code -o} is the offset, as in {@code qemu-img bench}).
     *
     * <p>Thread-safety: as {@link OutputOption}.
     */
    public static final class LongOnly {
        @Option(names = "--output", paramLabel = "FORMAT", converter = FormatConverter.class,
                completionCandidates = FormatNames.class,
                description = "human (the default) or json: one JSON document on stdout, nothing else")
        Format format = Format.HUMAN;

        public boolean json() {
            return format == Format.JSON;
        }
    }

    /** Accepts the format names in any case. */
    static final class FormatConverter implements CommandLine.ITypeConverter<Format> {
        @Override
        public Format convert(String value) {
            for (Format f : Format.values()) {
                if (f.name().equalsIgnoreCase(value)) {
                    return f;
                }
            }
            throw new CommandLine.TypeConversionException("'" + value + "' is not an output format; use human or json");
        }
    }

    /** The names shell completion offers. */
    static final class FormatNames implements Iterable<String> {
        @Override
        public java.util.Iterator<String> iterator() {
            return List.of(Format.values()).stream().map(f -> f.name().toLowerCase(Locale.ROOT)).iterator();
        }
    }
}
