package org.vhdkit.cli.conventions;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.util.List;
import java.util.Locale;
import org.vhdkit.vhd.ParentNotFoundException;
import org.vhdkit.vhd.format.VhdFormatException;
import picocli.CommandLine;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * Turns what went wrong into one line on stderr, prefixed {@code "vhd: "}, and an exit code from
 * {@link ExitCodes}. With {@code --debug} the stack trace comes first.
 *
 * <p>Thread-safety: stateless; {@link #classify} may be called from any thread.
 */
public final class ErrorReporter implements CommandLine.IParameterExceptionHandler, CommandLine.IExecutionExceptionHandler {

    /** What to print and which code to exit with. */
    public record Report(int exitCode, String message) {
    }

    /**
     * A converter's refusal of a value that parses but is out of range: refused (65), not a usage
     * error, as every other value out of range.
     */
    public static final class OutOfRange extends CommandLine.TypeConversionException {
        private static final long serialVersionUID = 1L;

        public OutOfRange(String message) {
            super(message);
        }
    }

    @Override
    public int handleParseException(ParameterException e, String[] args) {
        CommandLine command = e.getCommandLine();
        PrintWriter err = command.getErr();
        if (debugRequested(args)) {
            e.printStackTrace(err);
        }
        err.println("vhd: " + usageMessage(e));
        err.flush();
        return e.getCause() instanceof OutOfRange ? ExitCodes.REFUSED : ExitCodes.USAGE;
    }

    @Override
    public int handleExecutionException(Exception e, CommandLine command, ParseResult parseResult) {
        // A ParameterException thrown by a command (options that do not go together) is a usage error too.
        if (e instanceof ParameterException parameterProblem) {
            return handleParseException(parameterProblem, parseResult.originalArgs().toArray(String[]::new));
        }
        PrintWriter err = command.getErr();
        boolean debug = debugRequested(parseResult);
        if (debug) {
            e.printStackTrace(err);
        }
        Report report = classify(e, debug);
        err.println("vhd: " + report.message());
        err.flush();
        return report.exitCode();
    }

    /** The exit code and message for an exception a command threw. */
    public static Report classify(Throwable e, boolean debug) {
        Throwable problem = e instanceof UncheckedIOException unchecked ? unchecked.getCause() : e;
        return switch (problem) {
            case CommandFailure failure -> new Report(failure.exitCode(), oneLine(failure.getMessage()));
            case VhdFormatException refused -> new Report(ExitCodes.REFUSED, oneLine(refused.getMessage()));
            case ParentNotFoundException missing -> new Report(ExitCodes.REFUSED, oneLine(missing.getMessage()));
            case FileSystemException fs -> new Report(ExitCodes.IO, oneLine(fileSystemMessage(fs)));
            case IOException io -> new Report(ExitCodes.IO, oneLine(io.getMessage() != null ? io.getMessage() : io.toString()));
            default -> new Report(ExitCodes.INTERNAL, "internal error: " + oneLine(problem.toString())
                    + (debug ? "" : " (run with --debug for the stack trace)"));
        };
    }

    /**
     * The message of a file system exception, in the library's form {@code "file: what"}; the JDK's
     * own exceptions often carry only the file name.
     */
    private static String fileSystemMessage(FileSystemException e) {
        if (e.getReason() != null || e.getFile() == null) {
            return e.getMessage();
        }
        String what = switch (e) {
            case NoSuchFileException _ -> "no such file or directory";
            case AccessDeniedException _ -> "permission denied";
            default -> e.getClass().getSimpleName();
        };
        return e.getFile() + (e.getOtherFile() != null ? " -> " + e.getOtherFile() : "") + ": " + what;
    }

    /** picocli's message, lower-cased at the start like ours, with a suggestion and where to get help. */
    private static String usageMessage(ParameterException e) {
        String message = oneLine(e.getMessage());
        if (message.length() > 1 && Character.isUpperCase(message.charAt(0)) && Character.isLowerCase(message.charAt(1))) {
            message = message.substring(0, 1).toLowerCase(Locale.ROOT) + message.substring(1);
        }
        if (e instanceof UnmatchedArgumentException unmatched) {
            List<String> suggestions = unmatched.getSuggestions();
            if (!suggestions.isEmpty()) {
                message += "; did you mean " + String.join(" or ", suggestions) + "?";
            }
        }
        return message + "; try '" + e.getCommandLine().getCommandSpec().qualifiedName() + " --help'";
    }

    private static boolean debugRequested(ParseResult result) {
        for (ParseResult r = result; r != null; r = r.subcommand()) {
            if (r.hasMatchedOption("--debug")) {
                return true;
            }
        }
        return false;
    }

    /** For a command line that did not parse: whether {@code --debug} is among the options. */
    private static boolean debugRequested(String[] args) {
        for (String arg : args) {
            if (arg.equals("--")) {
                return false;
            }
            if (arg.equals("--debug")) {
                return true;
            }
        }
        return false;
    }

    private static String oneLine(String text) {
        return text == null ? "" : text.strip().replaceAll("\\s*\\R\\s*", " ");
    }
}
