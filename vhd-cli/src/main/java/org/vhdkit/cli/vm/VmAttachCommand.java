package org.vhdkit.cli.vm;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.vhdkit.cli.conventions.CommandFailure;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.cli.conventions.FileArguments;
import org.vhdkit.cli.conventions.Json;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.HyperVLimits;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmConfiguration;
import org.vhdkit.stack.vm.VmException;
import org.vhdkit.stack.vm.VmState;
import org.vhdkit.vhd.VhdDisk;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;

/**
 * {@code vhd vm attach}: puts a VHD, a DVD drive or a pass-through disk at a controller slot. On an
 * Off VM it changes the configuration; on a running one it is a hot add, SCSI only, as Hyper-V
 * ({@link VmHotPlug}). Prints one line, or with {@code --output json} one object:
 * {@code name} (the VM), {@code slot}, {@code kind} ("disk", "dvd", "passthrough"), {@code path}
 * (absolute; null for an empty DVD drive), {@code readOnly}, {@code hot} (whether the VM was running).
 *
 * <p>Refused (65), with the rule: a slot the VM does not have, a taken slot, a fifth IDE device, a
 * DVD drive on SCSI, a file attached to the VM already, a disk that is not a VHD, an IDE change on
 * a running VM, any change to a Saved one. A file that is missing is an I/O error (74).
 */
@Command(name = "attach",
        description = {
            "Attaches a VHD disk, a DVD drive (IDE only; an ISO image or empty) or a pass-through disk (a raw host"
                    + " file or block device, used as the disk itself) at a controller slot of a VM.",
            "A generation-1 VM has 2 IDE controllers with 2 devices each (ide:0:0 to ide:1:1; the only slots it"
                    + " boots from) and up to 4 synthetic SCSI controllers with 64 LUNs each (scsi:0 to scsi:3,"
                    + " --lun 0 to 63; they need integration components in the guest).",
            "On a VM that is Off the configuration changes. On a running or paused VM, a SCSI attach is a hot add"
                    + " (the guest is told); IDE devices are added only while the VM is Off. A Saved VM cannot be"
                    + " changed. A file can be attached to a VM once; a disk must be a VHD that opens."},
        footerHeading = "%nExamples:%n",
        footer = {
            "  vhd vm attach web --controller ide:0:0 /vms/web-boot.vhd",
            "  vhd vm attach web --controller scsi:0 --lun 1 --read-only /vms/shared.vhd",
            "  vhd vm attach web --controller ide:1:0 --dvd /isos/setup.iso",
            "  vhd vm attach web --controller ide:1:1 --dvd        # an empty DVD drive",
            "  vhd vm attach web --controller scsi:1 --lun 0 --passthrough /dev/loop0"})
final class VmAttachCommand extends OneVmCommand {
    @Mixin
    VmSlotOptions where;

    @Option(names = "--read-only", description = "The guest may read the disk but not write it (SCSI: writes"
            + " fail with DATA PROTECT).")
    boolean readOnly;

    @Option(names = "--dvd", description = "A DVD drive (IDE only) holding FILE, an ISO image; empty without FILE.")
    boolean dvd;

    @Option(names = "--passthrough", paramLabel = "DEVICE",
            description = "A raw host file or block device, e.g. /dev/loop0, attached as the disk itself.")
    Path passthrough;

    @Parameters(index = "1", arity = "0..1", paramLabel = "FILE",
            description = "The VHD file (or, with --dvd, the ISO image).")
    Path file;

    /** The JSON document of attach and detach. */
    record Change(String name, String slot, String kind, String path, boolean readOnly, boolean hot) {
        static Change of(String vm, Attachment a, boolean hot) {
            return new Change(vm, a.slot().toString(), a.kind().label(), a.path() == null ? null : a.path().toString(),
                    a.readOnly(), hot);
        }
    }

    @Override
    public Integer call() throws Exception {
        if (passthrough != null && (file != null || dvd)) {
            throw new ParameterException(spec.commandLine(), "--passthrough DEVICE takes the place of FILE and --dvd;"
                    + " give one of them");
        }
        if (passthrough == null && !dvd && file == null) {
            throw new ParameterException(spec.commandLine(), "what to attach? give FILE (a VHD), --dvd [ISO] or"
                    + " --passthrough DEVICE");
        }
        Slot slot = where.slot(spec);
        return vm.execute(spec, session -> {
            VirtualMachine machine = session.vm(name);
            Attachment attachment = attachment(slot);
            String what = "cannot attach " + describe(attachment) + " to '" + machine.name() + "'";
            VmState state = machine.state();
            boolean hot = state == VmState.RUNNING || state == VmState.PAUSED;
            VmConfiguration config = machine.configuration();
            if (slot.bus() == Slot.Bus.IDE && ideSlotsTaken(config)
                    == HyperVLimits.IDE_CONTROLLERS * HyperVLimits.IDE_DEVICES_PER_CONTROLLER) {
                throw CommandFailure.refused(what + ": all 4 IDE slots are taken (a VM has 2 IDE controllers with 2"
                        + " devices each); use SCSI (--controller scsi:N --lun L) or detach one first");
            }
            if (hot) {
                refuseIdeWhileRunning(slot, machine, state, what);
                if (!config.integrationComponents()) {
                    throw CommandFailure.refused(what + ": it is " + state + " with integration components off, so"
                            + " its guest has no synthetic SCSI controller to take a disk while it runs; stop it first");
                }
            } else {
                refuseSaved(machine, state, what);
            }
            try {
                // The rules first (a taken slot, a file attached already): they say more than a disk in use.
                config.withAttachment(attachment).validate();
            } catch (VmException e) {
                throw VmCommand.failure(e, what);
            }
            check(attachment);
            if (attachment.kind() == Attachment.Kind.DISK) {
                DiskChains.refuseShared(config, attachment, what);
            }
            try {
                if (hot) {
                    VmHotPlug.add(machine, attachment);
                } else {
                    machine.reconfigure(config.withAttachment(attachment));
                }
            } catch (VmException e) {
                throw VmCommand.failure(e, what);
            }
            PrintWriter out = spec.commandLine().getOut();
            if (output.json()) {
                Json.print(out, Change.of(machine.name(), attachment, hot));
            } else {
                out.println((hot ? "Hot-added " : "Attached ") + describe(attachment) + " to '" + machine.name()
                        + "' at " + slot + (attachment.readOnly() && !dvd ? ", read-only" : "")
                        + (hot ? "; the guest is told" : ""));
            }
            out.flush();
            return ExitCodes.OK;
        });
    }

    private Attachment attachment(Slot slot) {
        if (passthrough != null) {
            return Attachment.passThrough(slot, absolute(passthrough), readOnly);
        }
        if (dvd) {
            return file == null ? Attachment.emptyDvd(slot) : Attachment.dvd(slot, absolute(file));
        }
        return Attachment.disk(slot, absolute(file), readOnly);
    }

    private static Path absolute(Path p) {
        return p.toAbsolutePath().normalize();
    }

    /** "the disk /vms/a.vhd", "a DVD drive with /isos/x.iso", "an empty DVD drive", "the pass-through disk /dev/loop0". */
    static String describe(Attachment a) {
        return switch (a.kind()) {
            case DISK -> "the disk " + a.path();
            case DVD -> a.path() == null ? "an empty DVD drive" : "a DVD drive with " + a.path();
            case PASS_THROUGH -> "the pass-through disk " + a.path();
        };
    }

    private static long ideSlotsTaken(VmConfiguration config) {
        return config.attachments().stream().filter(a -> a.slot().bus() == Slot.Bus.IDE).count();
    }

    /** IDE devices change only while the VM is Off, as on Hyper-V. */
    static void refuseIdeWhileRunning(Slot slot, VirtualMachine machine, VmState state, String what)
            throws CommandFailure {
        if (slot.bus() == Slot.Bus.IDE) {
            throw CommandFailure.refused(what + ": it is " + state + ", and IDE devices are added and removed only"
                    + " while a VM is Off (hot add and remove are for SCSI); stop it first");
        }
    }

    /** A Saved VM's devices are part of its saved state: they cannot change. */
    static void refuseSaved(VirtualMachine machine, VmState state, String what) throws CommandFailure {
        if (state == VmState.SAVED) {
            throw CommandFailure.refused(what + ": it is Saved, and its devices are part of its saved state; start"
                    + " it, or discard the saved state with 'vhd vm stop --discard-saved-state " + machine.name()
                    + "', first");
        }
    }

    /** The file must be there; a disk must be a VHD that opens (with its parents). */
    private static void check(Attachment a) throws IOException {
        if (a.path() == null) {
            return;
        }
        if (!Files.exists(a.path())) {
            throw new NoSuchFileException(a.path().toString(), null, "no such file or directory");
        }
        FileArguments.checkNotDirectory(a.path());
        if (a.kind() == Attachment.Kind.DISK) {
            try (VhdDisk disk = org.vhdkit.vhd.Vhd.openReadOnly(a.path())) {
                // It opens: a VHD, and its parents are found.
            } catch (IOException e) {
                throw FileArguments.naming(a.path(), e);
            }
        }
    }
}
