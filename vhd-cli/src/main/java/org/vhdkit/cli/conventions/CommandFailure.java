package org.vhdkit.cli.conventions;

/**
 * A command gave up, for a reason the user can act on: the message is complete, one line, and is
 * printed after {@code "vhd: "}; the exit code is one of {@link ExitCodes}.
 *
 * <p>Thread-safety: immutable once thrown.
 */
public final class CommandFailure extends Exception {
    private static final long serialVersionUID = 1L;

    private final int exitCode;

    private CommandFailure(int exitCode, String message, Throwable cause) {
        super(message, cause);
        this.exitCode = exitCode;
    }

    /** A value or an image was refused ({@link ExitCodes#REFUSED}). */
    public static CommandFailure refused(String message) {
        return new CommandFailure(ExitCodes.REFUSED, message, null);
    }

    /** A value or an image was refused ({@link ExitCodes#REFUSED}), as {@code cause} says. */
    public static CommandFailure refused(String message, Throwable cause) {
        return new CommandFailure(ExitCodes.REFUSED, message, cause);
    }

    /** A file the command needs is missing, locked or unreadable ({@link ExitCodes#IO}). */
    public static CommandFailure io(String message) {
        return new CommandFailure(ExitCodes.IO, message, null);
    }

    int exitCode() {
        return exitCode;
    }
}
