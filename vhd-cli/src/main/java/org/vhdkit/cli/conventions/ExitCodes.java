package org.vhdkit.cli.conventions;

/**
 * The exit codes of {@code vhd}, in the spirit of BSD's sysexits.h. Codes 1, 2 and 3 are results,
 * not errors: {@code compare} (the disks differ) and {@code check} (corrupt, or leaked space only).
 *
 * <p>The list in {@code vhd --help} ({@link org.vhdkit.cli.VhdCommand}'s {@code exitCodeList}) must match these.
 *
 * <p>Which code an error gets follows one rule: 64 when the command line could not be understood;
 * 65 when it was understood but a value in it, or an image it names, is refused; 74 when the file
 * system said no (a file missing, already there, locked or unreadable).
 *
 * <p>Thread-safety: constants only.
 */
public final class ExitCodes {
    /** Success. */
    public static final int OK = 0;
    /** {@code compare}: the disks differ. */
    public static final int DIFFERENT = 1;
    /** {@code check}: the image is corrupt (what remains after a repair). */
    public static final int CORRUPT = 2;
    /** {@code check}: leaked space, and nothing worse. */
    public static final int LEAKS = 3;
    /** Usage error: an unknown option, a missing or unparsable argument, options that do not go together. */
    public static final int USAGE = 64;
    /** Input refused: a damaged or foreign image, a parent that cannot be found, a size or block size out of range. */
    public static final int REFUSED = 65;
    /** Internal error: a bug. */
    public static final int INTERNAL = 70;
    /** I/O error: a file missing, already there, locked, or unreadable. */
    public static final int IO = 74;

    private ExitCodes() {
    }
}
