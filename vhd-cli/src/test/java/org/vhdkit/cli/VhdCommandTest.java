package org.vhdkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.cli.CliRun.vhd;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.vhdkit.cli.conventions.CommandFailure;
import org.vhdkit.cli.conventions.ErrorReporter;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.vhd.format.VhdFormatException;

/** The top-level command: help, version, errors and their exit codes. */
class VhdCommandTest extends OnJimfs {

    @Test
    void help() {
        String out = vhd(fs, "--help").assertSuccess().out();
        assertTrue(out.startsWith("Usage: vhd "), out);
        for (String expected : new String[] {"create", "info", "completion", "--debug", "Exit codes:",
                "64   usage error", "65   input refused", "70   internal error", "74   I/O error", "Examples:"}) {
            assertTrue(out.contains(expected), () -> "no '" + expected + "' in\n" + out);
        }
    }

    /**
     * {@code vhd --help} lists the commands from stand-ins made of their annotations alone (so that
     * it starts fast): the text must be the one the commands' full models give.
     */
    @Test
    void helpListsTheCommandsAsTheirFullModelsWould() {
        picocli.CommandLine full = new picocli.CommandLine(VhdCommand.class);
        VhdCommand.SUBCOMMANDS.forEach(full::addSubcommand);
        String expected = full.getUsageMessage(picocli.CommandLine.Help.Ansi.OFF);
        assertEquals(expected, vhd(fs, "--help").assertSuccess().out());
        assertEquals(expected, vhd(fs, "--debug", "--help").assertSuccess().out());
    }

    @ParameterizedTest
    @ValueSource(strings = {"create", "info", "completion"})
    void everyCommandHasHelpWithExamples(String command) {
        String out = vhd(fs, command, "--help").assertSuccess().out();
        assertTrue(out.startsWith("Usage: vhd " + command), out);
        assertTrue(out.contains("\nExamples:\n  "), out);
        assertEquals(out, vhd(fs, command, "-h").assertSuccess().out());
    }

    /** picocli breaks lines after a full stop: a path like "~/.local" must not be cut there. */
    @Test
    void noHelpBreaksAPathAtItsDot() {
        List<List<String>> commands = new ArrayList<>();
        picocli.CommandLine root = new picocli.CommandLine(VhdCommand.class);
        VhdCommand.SUBCOMMANDS.forEach(root::addSubcommand);
        collect(root, new ArrayList<>(), commands);
        assertTrue(commands.size() > 30, commands::toString);
        for (List<String> command : commands) {
            List<String> args = new ArrayList<>(command);
            args.add("--help");
            String out = vhd(fs, args.toArray(String[]::new)).assertSuccess().out();
            assertFalse(out.matches("(?s).*/\\.\\s.*"), () -> String.join(" ", command) + " --help:\n" + out);
        }
    }

    private static void collect(picocli.CommandLine command, List<String> path, List<List<String>> into) {
        into.add(List.copyOf(path));
        command.getSubcommands().forEach((name, sub) -> {
            if (sub.getCommandName().equals(name)) {
                path.add(name);
                collect(sub, path, into);
                path.removeLast();
            }
        });
    }

    @Test
    void version() {
        String out = vhd(fs, "--version").assertSuccess().out();
        assertTrue(out.matches("vhd \\d+\\.\\d+\\.\\d+\\S*\n"), out);
    }

    @Test
    void noCommand() {
        assertEquals("vhd: no command given; try 'vhd --help'", vhd(fs).assertFailure(ExitCodes.USAGE));
    }

    @Test
    void unknownCommand() {
        assertEquals("vhd: unmatched argument at index 0: 'infoo'; did you mean info?; try 'vhd --help'",
                vhd(fs, "infoo").assertFailure(ExitCodes.USAGE));
        assertEquals("vhd: unmatched argument at index 0: 'xyzzy'; try 'vhd --help'",
                vhd(fs, "xyzzy").assertFailure(ExitCodes.USAGE));
    }

    @Test
    void debugPrintsTheStackTraceFirst() {
        CliRun run = vhd(fs, "info", "--debug", "nope.vhd");
        assertEquals(ExitCodes.IO, run.exitCode());
        String[] lines = run.err().split("\n");
        assertTrue(lines[0].startsWith("java.nio.file.NoSuchFileException: nope.vhd"), run.err());
        assertTrue(lines[1].startsWith("\tat "), run.err());
        assertEquals("vhd: nope.vhd: no such file", lines[lines.length - 1]);
        // Before the subcommand as well.
        assertTrue(vhd(fs, "--debug", "info", "nope.vhd").err().startsWith("java.nio.file.NoSuchFileException"));
    }

    @Test
    void completionScript() {
        String out = vhd(fs, "completion").assertSuccess().out();
        assertTrue(out.startsWith("#!/usr/bin/env bash"), out);
        assertTrue(out.contains("complete -F _complete_vhd"), out);
        assertTrue(out.contains("(\"fixed\" \"dynamic\" \"differencing\")"), out);
        assertTrue(out.contains("(\"human\" \"json\")"), out);
    }

    @Test
    void classification() {
        assertEquals(new ErrorReporter.Report(ExitCodes.REFUSED, "d.vhd: footer Cookie at offset 0 (0x0): bad"),
                ErrorReporter.classify(new VhdFormatException("d.vhd", "footer Cookie", 0, "bad"), false));
        assertEquals(new ErrorReporter.Report(ExitCodes.IO, "d.vhd: no such file or directory"),
                ErrorReporter.classify(new NoSuchFileException("d.vhd"), false));
        assertEquals(new ErrorReporter.Report(ExitCodes.IO, "d.vhd: permission denied"),
                ErrorReporter.classify(new UncheckedIOException(new AccessDeniedException("d.vhd")), false));
        assertEquals(new ErrorReporter.Report(ExitCodes.IO, "d.vhd: in use by process 7 (it holds a lock on the file)"),
                ErrorReporter.classify(new IOException("d.vhd: in use by process 7\n(it holds a lock on the file)"), false));
        assertEquals(new ErrorReporter.Report(ExitCodes.INTERNAL,
                        "internal error: java.lang.IllegalStateException: oops (run with --debug for the stack trace)"),
                ErrorReporter.classify(new IllegalStateException("oops"), false));
        assertEquals(new ErrorReporter.Report(ExitCodes.INTERNAL, "internal error: java.lang.NullPointerException"),
                ErrorReporter.classify(new NullPointerException(), true));
        assertEquals(new ErrorReporter.Report(ExitCodes.REFUSED, "too big"),
                ErrorReporter.classify(CommandFailure.refused("too big"), false));
    }
}
