package org.vhdkit.cli.disk;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import org.vhdkit.cli.conventions.CommandFailure;
import org.vhdkit.cli.conventions.FileArguments;
import org.vhdkit.stack.snapshot.Snapshot;
import org.vhdkit.stack.snapshot.Snapshots;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.FolderInUseException;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmConfigurationException;
import org.vhdkit.stack.vm.VmException;
import org.vhdkit.stack.vm.VmState;
import org.vhdkit.vhd.DiskImage;
import org.vhdkit.vhd.disk.VirtualDisk;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * Where the disk of {@code vhd serve} and {@code vhd mount} comes from ({@code @Mixin}): a file (a
 * VHD, fixed, dynamic or differencing with its chain, or a raw image), or a VM's disk:
 * {@code --vm NAME [--controller SLOT [--lun L]]}, the disk attached there (read-write unless the
 * command or the attachment says read-only), or {@code --vm NAME --snapshot S [--controller ...]},
 * that disk's layer in the snapshot, always read-only. Slots are written as {@code vhd vm attach}
 * writes them: {@code scsi:N --lun L}, {@code scsi:N:L} or {@code ide:C:D}; without
 * {@code --controller} the VM (or snapshot) must have exactly one disk.
 *
 * <p>The VM folder ({@code --vm-root}, by default that of {@code vhd vm}) is opened only while the
 * disk's file is looked up; the disk itself is then opened as any file, so its lock keeps out a VM
 * that starts later, and a VM that holds the disk (another process) makes the open fail with the
 * holder named. A folder held by a running {@code vhd vm start} is refused: its VMs may be using
 * their disks.
 *
 * <p>Thread-safety: a command object serves one run on one thread.
 */
final class DiskSource {
    @Option(names = "--vm", paramLabel = "NAME",
            description = "Use a VM's disk instead of a DISK file: the one at --controller (and --lun), or the VM's"
                    + " only disk.")
    String vm;

    @Option(names = "--controller", paramLabel = "SLOT",
            description = "With --vm: the disk's slot, as 'vhd vm attach' writes it: scsi:N with --lun L, scsi:N:L,"
                    + " or ide:C:D.")
    String controller;

    @Option(names = "--lun", paramLabel = "L", description = "With --vm --controller scsi:N: the LUN.")
    Integer lun;

    @Option(names = "--snapshot", paramLabel = "S",
            description = "With --vm: the disk as it was in this snapshot (id or name); always read-only.")
    String snapshot;

    @Option(names = "--vm-root", paramLabel = "DIR",
            description = "With --vm: the folder of VMs, as for 'vhd vm' (default $XDG_DATA_HOME/vhdkit/vms).")
    Path vmRoot;

    /**
     * An opened disk.
     *
     * @param name        what to call it (an export name): the VM's name, with {@code @S} for a snapshot
     * @param disk        the disk, the caller's to close
     * @param description what it is, for messages and the NBD description
     */
    record Opened(String name, VirtualDisk disk, String description) {
    }

    /** The disk's name as an export: the VM's, with {@code @S} for a snapshot. */
    String name() {
        return vm + (snapshot != null ? "@" + snapshot : "");
    }

    /** Whether the disk is a VM's ({@code --vm}). */
    boolean isVm() {
        return vm != null;
    }

    /** Refuses the VM options without {@code --vm}. */
    void check(CommandSpec spec) {
        if (vm == null && (controller != null || lun != null || snapshot != null || vmRoot != null)) {
            throw new ParameterException(spec.commandLine(), "--controller, --lun, --snapshot and --vm-root go with"
                    + " --vm NAME");
        }
    }

    /** A VHD or raw image file, opened as {@code serve} and {@code mount} open one. */
    static VirtualDisk openFile(Path path, boolean readOnly) throws IOException {
        FileArguments.checkNotDirectory(path);
        try {
            return DiskImage.open(path, readOnly);
        } catch (IOException e) {
            throw FileArguments.naming(path, e);
        }
    }

    /** The VM's disk the options name, opened; read-only when {@code readOnly}, the attachment or a snapshot says so. */
    Opened openVm(CommandSpec spec, boolean readOnly) throws Exception {
        Path root = (vmRoot != null ? vmRoot : Hypervisor.defaultRoot()).toAbsolutePath().normalize();
        if (!Files.isDirectory(root)) {
            throw CommandFailure.refused("no VM is named '" + vm + "' in " + root + " (no such folder)");
        }
        Slot slot = controller == null ? null : slot(spec);
        Path file;
        boolean ro = readOnly || snapshot != null;
        String what;
        try (Hypervisor hypervisor = Hypervisor.open(root)) {
            VirtualMachine machine = hypervisor.find(vm).orElseThrow(() ->
                    CommandFailure.refused("no VM is named '" + vm + "' in " + root));
            SortedMap<Slot, Path> disks = new TreeMap<>();
            if (snapshot != null) {
                Snapshot s = Snapshots.of(machine).find(snapshot);
                disks.putAll(s.layers());
                what = "snapshot '" + s.name() + "' (" + s.id() + ") of VM '" + vm + "'";
            } else {
                for (Attachment a : machine.configuration().attachments()) {
                    if (a.kind() != Attachment.Kind.DVD) {
                        disks.put(a.slot(), a.path());
                    }
                }
                what = "VM '" + vm + "'";
            }
            slot = choose(slot, disks, what);
            file = disks.get(slot);
            if (snapshot == null) {
                ro |= machine.configuration().attachment(slot).orElseThrow().readOnly();
                if (!ro && machine.state() == VmState.SAVED) {
                    throw CommandFailure.refused("VM '" + vm + "' is Saved: its disk at " + slot + " must not change"
                            + " before it resumes; use --read-only, or start the VM and shut it down first");
                }
            }
        } catch (FolderInUseException e) {
            throw CommandFailure.refused(root + ": the VM folder is held by a running 'vhd vm start' process, whose"
                    + " VMs may be using their disks; stop them first (vhd vm stop NAME)", e);
        } catch (VmException e) {
            throw CommandFailure.refused(e.getMessage(), e);
        }
        String description = "disk at " + slot + " of " + what + ", " + file;
        VirtualDisk disk;
        try {
            disk = openFile(file, ro);
        } catch (IOException e) {
            String message = e.getMessage() == null ? e.toString() : e.getMessage();
            throw new IOException(description + ": " + message + (message.contains("in use by")
                    ? " (a running VM or another vhd process has it open; stop it first"
                            + (snapshot == null ? ", or use --snapshot to read a snapshot of it)" : ")")
                    : ""), e);
        }
        return new Opened(name(), disk, DiskArguments.type(disk) + " " + description);
    }

    /** The slot named, or the only one; refused, listing the slots, otherwise. */
    private Slot choose(Slot wanted, Map<Slot, Path> disks, String what) throws CommandFailure {
        List<String> slots = disks.keySet().stream().map(Slot::toString).toList();
        if (wanted != null) {
            if (!disks.containsKey(wanted)) {
                throw CommandFailure.refused(what + " has no disk at " + wanted
                        + (slots.isEmpty() ? " (it has none)" : "; its disks are at " + String.join(", ", slots)));
            }
            return wanted;
        }
        if (disks.size() != 1) {
            throw CommandFailure.refused(what + (disks.isEmpty() ? " has no disk"
                    : " has " + disks.size() + " disks (at " + String.join(", ", slots) + "); choose one with"
                            + " --controller"));
        }
        return disks.keySet().iterator().next();
    }

    /** {@code --controller} (and {@code --lun}) as a slot. */
    private Slot slot(CommandSpec spec) throws CommandFailure {
        String text = controller.strip().toLowerCase(Locale.ROOT);
        if (lun != null) {
            if (!text.matches("scsi:\\d{1,4}")) {
                throw new ParameterException(spec.commandLine(), "--lun goes with --controller scsi:N; an IDE slot is"
                        + " --controller ide:C:D");
            }
            text += ":" + lun;
        } else if (text.matches("scsi:\\d{1,4}")) {
            throw new ParameterException(spec.commandLine(), "--controller " + controller + " needs --lun L");
        }
        if (!text.matches("(ide|scsi):\\d{1,4}:-?\\d{1,4}")) {
            throw new ParameterException(spec.commandLine(), "'" + controller + "' is not a controller slot; write"
                    + " --controller scsi:N --lun L, scsi:N:L or ide:C:D");
        }
        try {
            return Slot.parse(text);
        } catch (VmConfigurationException e) {
            throw CommandFailure.refused(e.problem(), e);
        }
    }
}
