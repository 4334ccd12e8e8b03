package org.vhdkit.cli.vm;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.vhdkit.cli.conventions.ErrorReporter;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.cli.conventions.Json;
import org.vhdkit.cli.conventions.OutputOption;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine;

/**
 * The state changes of a running VM: {@code vhd vm stop}, {@code shutdown}, {@code pause},
 * {@code resume} and {@code save}, as Hyper-V's manager offers them. They act on a VM hosted by a
 * {@code vhd vm start} (their command line goes to that process, see {@link VmCommand}); without
 * one every VM is Off or Saved, and they are refused with its state, as any change the state does
 * not allow ("cannot pause 'web': it is Off", exit 65).
 *
 * <p>Each prints one line, or with {@code --output json} one object: {@code name}, {@code state}
 * (the state it is in afterwards: "Off", "Paused", "Running", "Saved").
 */
final class VmStateCommands {
    private VmStateCommands() {
    }

    /** The JSON document. */
    record Changed(String name, String state) {
    }

    /** What a command does to the VM. */
    @FunctionalInterface
    private interface Change {
        /** Changes {@code vm}'s state and returns the line to print. */
        String apply(VirtualMachine vm) throws VmException;
    }

    private static int change(CommandSpec spec, VmCommand parent, OutputOption output, String name, Change change)
            throws Exception {
        return parent.execute(spec, session -> {
            VirtualMachine vm = session.vm(name);
            String line;
            try {
                line = change.apply(vm);
            } catch (VmException e) {
                throw VmCommand.failure(e);
            }
            PrintWriter out = spec.commandLine().getOut();
            if (output.json()) {
                Json.print(out, new Changed(vm.name(), vm.state().toString()));
            } else {
                out.println(line);
            }
            out.flush();
            return ExitCodes.OK;
        });
    }

    @Command(name = "stop",
            description = {
                "Turns a running or paused VM off at once, as pulling the plug: its processors stop where they are,"
                        + " its disks are flushed and closed, its memory is freed. Writes the guest had not flushed"
                        + " may be lost, as on real hardware; 'vhd vm shutdown' asks the guest first.",
                "With --discard-saved-state, for a Saved VM instead: deletes its saved state (Hyper-V's Delete Saved"
                        + " State); it is then Off and starts afresh."},
            footerHeading = "%nExamples:%n",
            footer = {
                "  vhd vm stop web",
                "  vhd vm stop --discard-saved-state web"})
    static final class Stop extends OneVmCommand {
        @Option(names = "--discard-saved-state", description = "For a Saved VM: delete its saved state; it is then Off.")
        boolean discard;

        @Override
        public Integer call() throws Exception {
            return change(spec, vm, output, name, machine -> {
                if (discard) {
                    machine.deleteSavedState();
                    return "Discarded the saved state of '" + machine.name() + "'; it is Off";
                }
                machine.turnOff();
                return "Turned off '" + machine.name() + "'";
            });
        }
    }

    @Command(name = "shutdown",
            description = {
                "Asks a running VM's guest to shut down, through its shutdown integration service, and waits for it"
                        + " to power off. Refused when integration components are off or the guest does not run the"
                        + " service, and, with the VM still running, when it has not powered off within --timeout"
                        + " (then 'vhd vm stop' turns it off)."},
            footerHeading = "%nExamples:%n",
            footer = {
                "  vhd vm shutdown web",
                "  vhd vm shutdown --timeout 2m web"})
    static final class Shutdown extends OneVmCommand {
        @Option(names = "--timeout", paramLabel = "DURATION", converter = DurationConverter.class,
                description = "How long to wait for the guest to power off: e.g. 30s (the default), 2m, 500ms;"
                        + " a bare number is seconds.")
        Duration timeout = Duration.ofSeconds(30);

        @Override
        public Integer call() throws Exception {
            return change(spec, vm, output, name, machine -> {
                machine.shutDown(timeout);
                return "Shut down '" + machine.name() + "': its guest powered off";
            });
        }
    }

    @Command(name = "pause",
            description = "Pauses a running VM: its processors stop at their next safe point and its memory is kept;"
                    + " 'vhd vm resume' lets them run on.",
            footerHeading = "%nExamples:%n",
            footer = "  vhd vm pause web")
    static final class Pause extends OneVmCommand {

        @Override
        public Integer call() throws Exception {
            return change(spec, vm, output, name, machine -> {
                machine.pause();
                return "Paused '" + machine.name() + "'";
            });
        }
    }

    @Command(name = "resume",
            description = "Lets a paused VM run on from where it was paused. (A Saved VM is resumed by 'vhd vm start'.)",
            footerHeading = "%nExamples:%n",
            footer = "  vhd vm resume web")
    static final class Resume extends OneVmCommand {

        @Override
        public Integer call() throws Exception {
            return change(spec, vm, output, name, machine -> {
                machine.resume();
                return "Resumed '" + machine.name() + "'";
            });
        }
    }

    @Command(name = "save",
            description = {
                "Saves a running or paused VM: pauses it, writes its memory and device state into its folder and"
                        + " stops it; it is then Saved, and 'vhd vm start' resumes it, in this or a later process."
                        + " The process hosting it ends when it hosts no running VM."},
            footerHeading = "%nExamples:%n",
            footer = {
                "  vhd vm save web",
                "  vhd vm start web                  # resumes from the saved state"})
    static final class Save extends OneVmCommand {

        @Override
        public Integer call() throws Exception {
            return change(spec, vm, output, name, machine -> {
                machine.save();
                return "Saved '" + machine.name() + "' to " + machine.folder();
            });
        }
    }

    /** Reads a duration: {@code 30s}, {@code 2m}, {@code 500ms}, {@code 1h}, or a bare number of seconds. */
    static final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
        private static final Pattern SYNTAX = Pattern.compile("(\\d{1,9})\\s*(ms|s|m|h)?");

        @Override
        public Duration convert(String value) {
            Matcher m = SYNTAX.matcher(value.strip().toLowerCase(Locale.ROOT));
            if (!m.matches()) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not a duration; give e.g. 30s, 2m,"
                        + " 500ms or a number of seconds");
            }
            long n = Long.parseLong(m.group(1));
            String unit = m.group(2) == null ? "s" : m.group(2);
            Duration d = switch (unit) {
                case "ms" -> Duration.ofMillis(n);
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                default -> Duration.ofSeconds(n);
            };
            if (d.isZero()) {
                throw new ErrorReporter.OutOfRange("'" + value + "': a duration must be longer than 0");
            }
            return d;
        }
    }
}
