package org.vhdkit.cli.vm;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.vhdkit.cli.conventions.CommandFailure;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.cli.conventions.FileArguments;
import org.vhdkit.cli.conventions.Json;
import org.vhdkit.cli.conventions.OutputOption;
import org.vhdkit.stack.ide.EmulatedIde;
import org.vhdkit.stack.qemu.QemuEngine;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmConfiguration;
import org.vhdkit.stack.vm.VmException;
import org.vhdkit.stack.vm.VmState;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code vhd vm dvd insert|eject}: changes the medium of a VM's DVD drive (an {@code ide:C:D}
 * attachment of kind DVD). On a Running or Paused VM, in the process hosting it, the running drive
 * changes ({@link EmulatedIde#insert}, {@link EmulatedIde#eject}) and the guest sees a medium change
 * as from a real drive; the configuration records the new medium too, so a restart finds it. On an
 * Off VM only the configuration changes. A Saved VM's devices are part of its saved state: refused.
 *
 * <p>JSON: {@code vm, slot, media} (the image now in the drive, or null), {@code previous} (what it
 * held, or null), {@code running} (whether a running drive changed as well as the configuration).
 *
 * <p>Thread-safety: a command object serves one run on one thread.
 */
@Command(name = "dvd",
        description = {
            "Inserts an ISO image into a VM's DVD drive, or ejects it, and records it in the VM's configuration. On"
                    + " a running VM the drive changes at once and the guest sees the medium change; on a VM that is"
                    + " Off the next start finds the new medium."},
        synopsisSubcommandLabel = "COMMAND",
        subcommands = {VmDvdCommand.Insert.class, VmDvdCommand.Eject.class},
        footerHeading = "%nExamples:%n",
        footer = {
            "  vhd vm dvd insert web --controller ide:1:0 /isos/tools.iso",
            "  vhd vm dvd eject web --controller ide:1:0"})
final class VmDvdCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @ParentCommand
    VmCommand vm;

    /** The JSON document. */
    record Change(String vm, String slot, String media, String previous, boolean running) {
    }

    @Override
    public Integer call() {
        throw new ParameterException(spec.commandLine(), "no dvd command given; use insert or eject");
    }

    /**
     * Puts {@code iso} (null: nothing) into the drive at {@code slot} of the VM {@code name} and
     * reports it.
     */
    private int change(CommandSpec leaf, OutputOption output, String name, Slot slot, Path iso) throws Exception {
        if (slot.bus() != Slot.Bus.IDE) {
            throw CommandFailure.refused(slot + " is a SCSI slot; DVD drives are on IDE (--controller ide:C:D)");
        }
        if (iso != null) {
            if (!Files.exists(iso)) {
                throw new NoSuchFileException(iso.toString(), null, "no such file or directory");
            }
            FileArguments.checkNotDirectory(iso);
        }
        return vm.execute(leaf, session -> {
            VirtualMachine machine = session.vm(name);
            String what = iso != null ? "cannot insert " + iso + " into " + slot + " of '" + machine.name() + "'"
                    : "cannot eject " + slot + " of '" + machine.name() + "'";
            VmConfiguration config = machine.configuration();
            Attachment drive = config.attachment(slot).filter(a -> a.kind() == Attachment.Kind.DVD)
                    .orElseThrow(() -> CommandFailure.refused(what + ": it has no DVD drive there; add one with"
                            + " 'vhd vm attach " + machine.name() + " --controller " + slot + " --dvd'"));
            VmState state = machine.state();
            boolean running = state == VmState.RUNNING || state == VmState.PAUSED;
            Optional<Path> previous;
            try {
                if (running && machine.process().isPresent()) { // a real guest: its qemu worker changes it
                    previous = drive.media();
                    QemuEngine.changeMedium(machine, slot, iso);
                } else if (running) {
                    previous = iso != null ? EmulatedIde.media(machine, slot) : EmulatedIde.eject(machine, slot);
                    if (iso != null) {
                        EmulatedIde.insert(machine, slot, iso);
                    }
                } else {
                    VmAttachCommand.refuseSaved(machine, state, what);
                    previous = drive.media();
                    machine.reconfigure(config.withMedia(slot, iso)); // the drive keeps its place in the boot order
                }
            } catch (VmException e) {
                throw VmCommand.failure(e, what);
            }
            PrintWriter out = leaf.commandLine().getOut();
            if (output.json()) {
                Json.print(out, new Change(machine.name(), slot.toString(), iso == null ? null : iso.toString(),
                        previous.map(Path::toString).orElse(null), running));
            } else if (iso != null) {
                out.println("Inserted " + iso + " into " + slot + " of '" + machine.name() + "'"
                        + previous.map(p -> ", ejecting " + p).orElse("")
                        + (running ? "; the guest sees the medium change" : ""));
            } else {
                out.println(previous.map(p -> "Ejected " + p + " from ").orElse("Nothing to eject from ") + slot
                        + " of '" + machine.name() + "'");
            }
            out.flush();
            return ExitCodes.OK;
        });
    }

    /** What insert and eject share: the spec, the {@code dvd} command above, --output, the slot, the VM's name. */
    abstract static class OnDrive implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @ParentCommand
        VmDvdCommand parent;

        @Mixin
        OutputOption output;

        @Mixin
        VmSlotOptions where;

        @Parameters(index = "0", paramLabel = "NAME", description = "The VM.")
        String name;
    }

    /** {@code vhd vm dvd insert}. */
    @Command(name = "insert",
            description = {"Puts ISO into the DVD drive at --controller ide:C:D, ejecting what it held."},
            footerHeading = "%nExamples:%n",
            footer = {"  vhd vm dvd insert web --controller ide:1:0 /isos/tools.iso"})
    static final class Insert extends OnDrive {
        @Parameters(index = "1", paramLabel = "ISO", description = "The ISO image (read only).")
        Path iso;

        @Override
        public Integer call() throws Exception {
            return parent.change(spec, output, name, where.slot(spec), iso.toAbsolutePath().normalize());
        }
    }

    /** {@code vhd vm dvd eject}. */
    @Command(name = "eject",
            description = {"Takes the medium out of the DVD drive at --controller ide:C:D, leaving it empty."},
            footerHeading = "%nExamples:%n",
            footer = {"  vhd vm dvd eject web --controller ide:1:0"})
    static final class Eject extends OnDrive {
        @Override
        public Integer call() throws Exception {
            return parent.change(spec, output, name, where.slot(spec), null);
        }
    }
}
