package org.vhdkit.cli.conventions;

import java.math.BigDecimal;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;

/**
 * Sizes as users type and read them.
 *
 * <p>Typed: a number of bytes ({@code 1048576}), or a number with a unit K, M, G or T, optionally
 * followed by {@code iB} or {@code B} ({@code 10G}, {@code 512MiB}, {@code 64mb}), case-insensitive.
 * Units are binary whatever the spelling (1K = 1024), as in every disk tool. A fraction is allowed
 * when it comes out as whole bytes ({@code 1.5G}).
 *
 * <p>Read: the largest binary unit the size reaches, with up to two decimals, rounded down so that
 * a size just short of a unit never reads as the unit ({@code 9.99 GiB}, not {@code 10 GiB}).
 *
 * <p>Thread-safety: stateless; every method may be called from any thread.
 */
public final class Size {
    private static final Pattern SYNTAX = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(?:([kmgt])(?:i?b)?|b)?",
            Pattern.CASE_INSENSITIVE);
    private static final String[] UNITS = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};

    private Size() {
    }

    /**
     * The bytes {@code text} stands for.
     *
     * @throws IllegalArgumentException when it is not a size, not whole bytes, or beyond a long; the
     *                                  message is ready for the user
     */
    public static long parse(String text) {
        Matcher m = SYNTAX.matcher(text.strip());
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a size; give bytes, or a number with K, M, G"
                    + " or T (1K = 1024), e.g. 10G, 512MiB or 1.5G");
        }
        int shift = m.group(2) == null ? 0 : 10 * ("kmgt".indexOf(m.group(2).toLowerCase(Locale.ROOT)) + 1);
        String number = m.group(1);
        if (number.indexOf('.') < 0 && number.length() <= 18) { // a whole number below 10^18: in a long
            long whole = Long.parseLong(number);
            if (whole > Long.MAX_VALUE >> shift) {
                throw new IllegalArgumentException("'" + text + "' is too large");
            }
            return whole << shift;
        }
        BigDecimal bytes = new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(2).pow(shift));
        if (bytes.stripTrailingZeros().scale() > 0) {
            throw new IllegalArgumentException("'" + text + "' is " + bytes.stripTrailingZeros().toPlainString()
                    + " bytes, not a whole number of bytes");
        }
        if (bytes.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
            throw new IllegalArgumentException("'" + text + "' is too large");
        }
        return bytes.longValueExact();
    }

    /** {@code bytes} in the largest binary unit it reaches: {@code "10 GiB"}, {@code "1.5 MiB"}, {@code "512 bytes"}. */
    public static String human(long bytes) {
        if (bytes < 1024) {
            return bytes + (bytes == 1 ? " byte" : " bytes");
        }
        int unit = (63 - Long.numberOfLeadingZeros(bytes)) / 10; // 1 for KiB, 2 for MiB, ...
        int shift = 10 * unit;
        long whole = bytes >>> shift;
        long rest = bytes & ((1L << shift) - 1);
        // Hundredths, rounded down: rest * 100 / 2^shift, the product taken in 128 bits. In long
        // arithmetic rather than BigDecimal, whose class initialisation alone was a tenth of the
        // start-up of `vhd info` (BENCHMARKS.md, Start-up).
        long hundredths = Math.multiplyHigh(rest, 100) << (64 - shift) | (rest * 100) >>> shift;
        String fraction = hundredths == 0 ? ""
                : hundredths % 10 == 0 ? "." + hundredths / 10
                : hundredths < 10 ? ".0" + hundredths : "." + hundredths;
        return whole + fraction + " " + UNITS[unit - 1];
    }

    /**
     * {@code bytes} in the largest binary unit that divides it, and in bytes: {@code "3 TiB
     * (3298534883328 bytes)"}; a size no unit divides as {@link #describe} has it.
     */
    public static String exact(long bytes) {
        for (int unit = UNITS.length - 2; unit >= 0; unit--) { // TiB down to KiB
            long size = 1L << (10 * (unit + 1));
            if (bytes >= size && bytes % size == 0) {
                return bytes / size + " " + UNITS[unit] + " (" + bytes + " bytes)";
            }
        }
        return describe(bytes);
    }

    /** {@link #human} with the exact count when that says more: {@code "10 GiB (10737418240 bytes)"}. */
    public static String describe(long bytes) {
        return bytes < 1024 ? human(bytes) : human(bytes) + " (" + bytes + " bytes)";
    }

    /** Reads a size option for picocli; a bad one is a usage error. */
    public static final class Converter implements CommandLine.ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            try {
                return parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }
}
