package org.vhdkit.cli;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Callable;
import org.vhdkit.cli.conventions.ErrorReporter;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.cli.disk.BenchCommand;
import org.vhdkit.cli.disk.CheckCommand;
import org.vhdkit.cli.disk.CompactCommand;
import org.vhdkit.cli.disk.CompareCommand;
import org.vhdkit.cli.disk.ConvertCommand;
import org.vhdkit.cli.disk.CreateCommand;
import org.vhdkit.cli.disk.DigestCommand;
import org.vhdkit.cli.disk.InfoCommand;
import org.vhdkit.cli.disk.MapCommand;
import org.vhdkit.cli.disk.MeasureCommand;
import org.vhdkit.cli.disk.MergeCommand;
import org.vhdkit.cli.disk.MountCommand;
import org.vhdkit.cli.disk.RebaseCommand;
import org.vhdkit.cli.disk.ResizeCommand;
import org.vhdkit.cli.disk.ServeCommand;
import org.vhdkit.cli.disk.SetCommand;
import org.vhdkit.cli.disk.UnmountCommand;
import org.vhdkit.cli.vm.VmCommand;
import org.vhdkit.vhd.io.ByteStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

/**
 * The {@code vhd} command: one subcommand per operation on VHD files ({@code create}, {@code info},
 * ...), each a class of a family package ({@code disk}, {@code vm}) listed in {@code subcommands} below.
 *
 * <p>Results go to stdout (with {@code --output json}, one JSON document and nothing else); errors
 * go to stderr as one line starting {@code "vhd: "}, with the exit codes of {@link ExitCodes}.
 *
 * <p>Thread-safety: {@link #run} may be called from several threads at once, each call with its own
 * command objects.
 */
@Command(name = "vhd",
        // No @Command methods here: not looking for them saves every command 10-15 ms (BENCHMARKS.md, Start-up).
        addMethodSubcommands = false,
        versionProvider = VersionProvider.class,
        description = "Creates, inspects, checks, converts and reshapes VHD virtual disk files: fixed, dynamic and differencing.",
        synopsisSubcommandLabel = "COMMAND",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            " 0:success",
            " 1:compare: the disks differ",
            " 2:check: the image is corrupt",
            " 3:check: leaked space only",
            "64:usage error: an unknown option, a missing or unparsable argument, options that do not go"
                    + " together",
            "65:input refused: a damaged or foreign image (the message names file, field and offset), a missing"
                    + " parent, a value that parses but is out of range (a size, a block size, a count)",
            "70:internal error: a bug; run with --debug for the stack trace",
            "74:I/O error: a file missing, already there (create), locked or unreadable"},
        footerHeading = "%nExamples:%n",
        footer = {
            "  vhd create --size 10G disk.vhd",
            "  vhd info disk.vhd",
            "  vhd info --output json disk.vhd",
            "  vhd COMMAND --help                 # each command's options and examples",
            "  source <(vhd completion)           # TAB completion in bash or zsh"})
public final class VhdCommand implements Callable<Integer> {
    /**
     * The subcommands, in the order the help lists them. Added by {@link #run} rather than named in
     * the annotation: picocli builds a command's model by reflection when it is added, so a run that
     * names one command (other than {@code completion}, which describes them all) adds only that
     * one, and starts faster (BENCHMARKS.md).
     */
    static final List<Class<?>> SUBCOMMANDS = List.of(
            CreateCommand.class, InfoCommand.class, CheckCommand.class, MapCommand.class, CompareCommand.class,
            DigestCommand.class, ConvertCommand.class, CompactCommand.class, MeasureCommand.class,
            ResizeCommand.class, MergeCommand.class, RebaseCommand.class, SetCommand.class, ServeCommand.class,
            BenchCommand.class, MountCommand.class, UnmountCommand.class,
            VmCommand.class, CompletionCommand.class);

    @Spec
    CommandSpec spec;

    // Inherited: --help and --debug work after any subcommand too.
    @Option(names = {"-h", "--help"}, usageHelp = true, scope = ScopeType.INHERIT, description = "Show this help and exit.")
    boolean help;

    @Option(names = "--debug", scope = ScopeType.INHERIT, description = "On an error, print the stack trace as well.")
    boolean debug;

    @Option(names = {"-V", "--version"}, versionHelp = true, description = "Print the version and exit.")
    boolean version;

    private VhdCommand() {
    }

    /** Runs the command and exits with its exit code. */
    public static void main(String[] args) {
        startProcess(commandWord(args) != null);
        System.exit(runOn(System.out, System.err, args));
    }

    /**
     * What the process does before the command (BENCHMARKS.md, Start-up): turns off picocli's search
     * for Groovy (absent: a look through the whole jar, 15 ms, at the first command) and starts a
     * thread that does, while the main thread parses the arguments, what the command would otherwise
     * wait for on its way: it looks up the logger {@link System#exit} asks for, whose search for a
     * logging service reads the jar's index, and, when a command (most of which open an image) is
     * named, links the image lock's calls into the C library ({@link ByteStore#prepareFirstOpen}).
     *
     * @return the thread, which nothing needs to wait for (the start-up cache's training does, so
     *     that what it loads is in the cache)
     */
    static Thread startProcess(boolean commandNamed) {
        System.setProperty("picocli.disable.closures", "true");
        return Thread.ofPlatform().daemon().name("vhd-start").start(() -> {
            System.getLogger("java.lang.Runtime"); // first: it is quicker, and the open comes later than the exit
            if (commandNamed) {
                ByteStore.prepareFirstOpen();
            }
        });
    }

    /**
     * What {@link #main} does short of exiting: runs {@code vhd args} on the default file system with
     * results to {@code stdout} and messages to {@code stderr}, each in its stream's charset, both
     * flushed before it returns.
     *
     * @return the exit code
     */
    static int runOn(PrintStream stdout, PrintStream stderr, String... args) {
        PrintWriter out = new PrintWriter(stdout, false, stdout.charset());
        PrintWriter err = new PrintWriter(stderr, true, stderr.charset());
        int code = run(FileSystems.getDefault(), out, err, args);
        out.flush();
        err.flush();
        return code;
    }

    /**
     * Runs {@code vhd args} in this process: results to {@code out}, messages to {@code err}, file
     * arguments resolved in {@code fileSystem}.
     *
     * @return the exit code
     */
    public static int run(FileSystem fileSystem, PrintWriter out, PrintWriter err, String... args) {
        Objects.requireNonNull(fileSystem, "fileSystem");
        int code;
        try {
            ErrorReporter errors = new ErrorReporter();
            CommandLine vhd = new CommandLine(new VhdCommand());
            String word = commandWord(args);
            Class<?> named = word == null ? null : subcommandNamed(word);
            for (Class<?> subcommand : SUBCOMMANDS) {
                if (word == null) {
                    vhd.addSubcommand(summary(subcommand));
                } else if (named == null || subcommand == named) {
                    vhd.addSubcommand(subcommand);
                }
            }
            code = vhd
                    .setOut(out)
                    .setErr(err)
                    .setParameterExceptionHandler(errors)
                    .setExecutionExceptionHandler(errors)
                    .registerConverter(Path.class, text -> path(fileSystem, text))
                    .execute(args);
        } catch (RuntimeException | Error e) {
            // Outside any command: the command tree itself is broken.
            if (Arrays.asList(args).contains("--debug")) {
                e.printStackTrace(err);
            }
            err.println("vhd: " + ErrorReporter.classify(e, true).message());
            code = ExitCodes.INTERNAL;
        }
        out.flush();
        err.flush();
        return code;
    }

    /**
     * The first argument that is not an option: the command's name. Null when there is none ({@code
     * vhd --help}, {@code vhd --version}, {@code vhd}): none of {@code vhd}'s own options takes a value.
     */
    private static String commandWord(String... args) {
        for (String arg : args) {
            if (!arg.startsWith("-")) {
                return arg;
            }
        }
        return null;
    }

    /**
     * A stand-in for {@code subcommand} that has only what {@code vhd --help} lists of it (name,
     * aliases, description), made from its {@code @Command} annotation alone: picocli does not
     * reflect over the command's fields for it, which is most of what {@code vhd --help} and
     * {@code vhd --version} cost when every command is added in full (BENCHMARKS.md, Start-up).
     * Used only when no command is named, so none of these runs.
     */
    private static CommandSpec summary(Class<?> subcommand) {
        Command command = subcommand.getAnnotation(Command.class);
        CommandSpec spec = CommandSpec.create().name(command.name()).aliases(command.aliases());
        spec.usageMessage().description(command.description()).header(command.header()).hidden(command.hidden());
        return spec;
    }

    /** The subcommand called {@code name} (or by that alias), unless it is {@code completion}; else null. */
    private static Class<?> subcommandNamed(String name) {
        for (Class<?> subcommand : SUBCOMMANDS) {
            Command command = subcommand.getAnnotation(Command.class);
            if (subcommand != CompletionCommand.class
                    && (command.name().equals(name) || Arrays.asList(command.aliases()).contains(name))) {
                return subcommand;
            }
        }
        return null;
    }

    /** {@code vhd} on the default file system. */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        return run(FileSystems.getDefault(), out, err, args);
    }

    private static Path path(FileSystem fileSystem, String text) {
        try {
            return fileSystem.getPath(text);
        } catch (InvalidPathException e) {
            throw new CommandLine.TypeConversionException("'" + text + "' is not a path: " + e.getReason());
        }
    }

    /** {@code vhd} alone: a usage error that points at the help. */
    @Override
    public Integer call() {
        throw new ParameterException(spec.commandLine(), "no command given");
    }
}
