package org.vhdkit.cli.vm;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.ZoneId;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.cli.conventions.Json;
import org.vhdkit.cli.conventions.OutputOption;
import org.vhdkit.stack.snapshot.Snapshot;
import org.vhdkit.stack.snapshot.SnapshotTree;
import org.vhdkit.stack.snapshot.Snapshots;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code vhd vm snapshot}: a VM's snapshot tree ({@link Snapshots}), one subcommand per operation.
 * Each runs where {@link VmCommand#execute} says: in the process hosting the folder when one does
 * (so a running VM is saved, snapshotted and resumed there), otherwise here.
 *
 * <p>Every subcommand prints the library's {@link Snapshots.Result#warnings() warnings} on stderr,
 * one {@code vhd: warning: } line each, whatever the output format. Human output is one sentence
 * (the tree for {@code list}); {@code --output json} writes {@link Outcome}: {@code vm},
 * {@code snapshot} ({@code id, name}, or null), {@code warnings}; {@code list} writes the tree
 * ({@link SnapshotListing.Listed}) and {@code export} adds {@code files} by slot.
 *
 * <p>Thread-safety: a command object serves one run on one thread.
 */
@Command(name = "snapshot",
        description = {
            "Takes, lists, applies, reverts to, deletes, renames and exports a VM's snapshots (Hyper-V's checkpoints).",
            "A snapshot freezes each attached VHD as it is and puts a new differencing disk (an .avhd file in the"
                    + " VM's folder) on it; a running VM's snapshot holds its memory and device state too, and the VM"
                    + " goes on after. Pass-through disks are not snapshotted (a warning says so).",
            "Crash-safe: the tree (snapshots.json in the VM's folder) is replaced atomically and every operation"
                    + " recorded before it changes files, so a crash is completed or rolled back when the tree is next"
                    + " opened; 'vhd vm check NAME --repair' removes files a crash left behind."},
        synopsisSubcommandLabel = "COMMAND",
        subcommands = {
            VmSnapshotCommand.Create.class, VmSnapshotCommand.ListTree.class, VmSnapshotCommand.Apply.class,
            VmSnapshotCommand.Revert.class, VmSnapshotCommand.Delete.class, VmSnapshotCommand.Rename.class,
            VmSnapshotCommand.Export.class},
        footerHeading = "%nExamples:%n",
        footer = {
            "  vhd vm snapshot create web before-upgrade",
            "  vhd vm snapshot list web",
            "  vhd vm snapshot apply --snapshot-first web before-upgrade",
            "  vhd vm snapshot delete --delete-subtree web before-upgrade",
            "  vhd vm snapshot export web before-upgrade /backup"})
final class VmSnapshotCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @ParentCommand
    VmCommand vm;

    /** The snapshot in JSON. */
    record SnapshotRef(String id, String name) {
        static SnapshotRef of(Snapshot s) {
            return new SnapshotRef(s.id().toString(), s.name());
        }
    }

    /** The JSON of every subcommand but list and export. */
    record Outcome(String vm, SnapshotRef snapshot, List<String> warnings) {
    }

    /** The JSON of export. */
    record Exported(String vm, SnapshotRef snapshot, Map<String, String> files, List<String> warnings) {
    }

    /** {@code vhd vm snapshot} alone: a usage error. */
    @Override
    public Integer call() {
        throw new ParameterException(spec.commandLine(), "no snapshot command given");
    }

    /** What a subcommand does with the VM's tree. */
    @FunctionalInterface
    private interface TreeAction {
        int run(VirtualMachine machine, Snapshots tree) throws Exception;
    }

    /** Runs {@code action} on the tree of the VM {@code name}, where {@link VmCommand#execute} says. */
    private int onTree(CommandSpec leaf, String name, TreeAction action) throws Exception {
        return vm.execute(leaf, session -> {
            VirtualMachine machine = session.vm(name);
            try {
                return action.run(machine, Snapshots.of(machine));
            } catch (VmException e) {
                throw VmCommand.failure(e);
            }
        });
    }

    /** Prints the warnings on stderr, the sentence or the JSON on stdout; returns 0. */
    private static int report(CommandSpec leaf, OutputOption output, VirtualMachine machine, Snapshots.Result r,
            String sentence) {
        warn(leaf, r.warnings());
        PrintWriter out = leaf.commandLine().getOut();
        if (output.json()) {
            Json.print(out, new Outcome(machine.name(), r.snapshot().map(SnapshotRef::of).orElse(null), r.warnings()));
        } else {
            out.println(sentence);
        }
        out.flush();
        return ExitCodes.OK;
    }

    private static void warn(CommandSpec leaf, List<String> warnings) {
        PrintWriter err = leaf.commandLine().getErr();
        warnings.forEach(w -> err.println("vhd: warning: " + w));
        err.flush();
    }

    private static String named(Snapshot s) {
        return "'" + s.name() + "' (" + s.id() + ")";
    }

    /**
     * What every snapshot subcommand has: its spec, the {@code vm snapshot} command above it (which
     * runs it on the VM's tree, through the host when one runs), {@code --output}, and the VM's name
     * as its first parameter.
     */
    abstract static class OnVm implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @ParentCommand
        VmSnapshotCommand parent;

        @Mixin
        OutputOption output;

        @Parameters(index = "0", paramLabel = "NAME", description = "The VM.")
        String name;
    }

    /** {@code vhd vm snapshot create}. */
    @Command(name = "create",
            description = {
                "Takes a snapshot of a VM in any state: Off or Saved as it is; Running or Paused with its memory and"
                        + " device state. A VM with qemu as its worker ('--engine qemu') is paused for the take and"
                        + " goes on in the same qemu process, its disks switched under it; a VM of the in-JVM engine"
                        + " is saved, snapshotted and started again. Either way it is paused again after if it was.",
                "Without SNAPSHOT the name is 'NAME - (date time)', as Hyper-V names them. At most 50 per VM."},
            footerHeading = "%nExamples:%n",
            footer = {"  vhd vm snapshot create web before-upgrade"})
    static final class Create extends OnVm {

        @Parameters(index = "1", arity = "0..1", paramLabel = "SNAPSHOT", description = "The snapshot's name.")
        String snapshot;

        @Override
        public Integer call() throws Exception {
            return parent.onTree(spec, name, (machine, tree) -> {
                Snapshots.Result r = tree.take(snapshot);
                Snapshot s = r.snapshot().orElseThrow();
                return report(spec, output, machine, r, "Took snapshot " + named(s) + " of '" + machine.name() + "'");
            });
        }
    }

    /** {@code vhd vm snapshot list}. */
    @Command(name = "list",
            description = {
                "Shows a VM's snapshots as a tree, each under the one it was taken from, and where 'Now' (the VM as it"
                        + " is) sits. The JSON has vm, now (the id of the snapshot Now sits on, or null) and snapshots:"
                        + " [{id, name, created, parent, savedState, layers}]."},
            footerHeading = "%nExamples:%n",
            footer = {"  vhd vm snapshot list web", "  vhd vm snapshot list --output json web"})
    static final class ListTree extends OnVm {

        @Override
        public Integer call() throws Exception {
            return parent.onTree(spec, name, (machine, tree) -> {
                PrintWriter out = spec.commandLine().getOut();
                SnapshotTree data = tree.tree();
                if (output.json()) {
                    Json.print(out, SnapshotListing.json(data));
                } else {
                    out.print(SnapshotListing.text(data, ZoneId.systemDefault()));
                }
                out.flush();
                return ExitCodes.OK;
            });
        }
    }

    /** {@code vhd vm snapshot apply}. */
    @Command(name = "apply",
            description = {
                "Makes the VM what it was when SNAPSHOT was taken: its disks become new differencing disks on the"
                        + " snapshot's layers and its configuration the snapshot's; a snapshot of a running VM leaves it"
                        + " Saved (start it to come back as it was), otherwise Off. A Running or Paused VM is turned"
                        + " off first.",
                "What the VM held since is discarded, unless --snapshot-first takes a snapshot of it first."},
            footerHeading = "%nExamples:%n",
            footer = {"  vhd vm snapshot apply web before-upgrade",
                "  vhd vm snapshot apply --snapshot-first web before-upgrade"})
    static final class Apply extends OnVm {
        @Option(names = "--snapshot-first", description = "Take a snapshot of the VM as it is before applying.")
        boolean snapshotFirst;

        @Parameters(index = "1", paramLabel = "SNAPSHOT", description = "The snapshot: its id, or its name.")
        String snapshot;

        @Override
        public Integer call() throws Exception {
            return parent.onTree(spec, name, (machine, tree) -> {
                Snapshots.Result r = tree.apply(snapshot, snapshotFirst);
                String which = r.snapshot().map(VmSnapshotCommand::named).orElse("'" + snapshot + "'");
                return report(spec, output, machine, r, "Applied snapshot " + which + " to '" + machine.name()
                        + "'; it is " + machine.state());
            });
        }
    }

    /** {@code vhd vm snapshot revert}. */
    @Command(name = "revert",
            description = {"Applies the snapshot 'Now' sits on: the VM goes back to it, discarding what it held since."},
            footerHeading = "%nExamples:%n",
            footer = {"  vhd vm snapshot revert web"})
    static final class Revert extends OnVm {

        @Override
        public Integer call() throws Exception {
            return parent.onTree(spec, name, (machine, tree) -> {
                Snapshots.Result r = tree.revert();
                String which = r.snapshot().map(VmSnapshotCommand::named).orElse("its snapshot");
                return report(spec, output, machine, r, "Reverted '" + machine.name() + "' to " + which + "; it is "
                        + machine.state());
            });
        }
    }

    /** {@code vhd vm snapshot delete}. */
    @Command(name = "delete",
            description = {
                "Deletes a snapshot; its children are re-pointed to its parent. What the VM and the other snapshots"
                        + " show never changes: the snapshot's layer is merged into the one layer that depends on it,"
                        + " or deleted when none does. Merges into a disk the running VM holds wait until it is Off or"
                        + " Saved (a warning says so).",
                "Crash-safe: the tree is rewritten atomically first; a merge cut short is restarted when the tree is"
                        + " next opened."},
            footerHeading = "%nExamples:%n",
            footer = {"  vhd vm snapshot delete web before-upgrade",
                "  vhd vm snapshot delete --delete-subtree web before-upgrade"})
    static final class Delete extends OnVm {
        @Option(names = "--delete-subtree", description = "Delete every snapshot under it too.")
        boolean subtree;

        @Parameters(index = "1", paramLabel = "SNAPSHOT", description = "The snapshot: its id, or its name.")
        String snapshot;

        @Override
        public Integer call() throws Exception {
            return parent.onTree(spec, name, (machine, tree) -> {
                Snapshot s = tree.find(snapshot);
                Snapshots.Result r = tree.delete(s.id().toString(), subtree);
                return report(spec, output, machine, new Snapshots.Result(java.util.Optional.of(s), r.warnings()),
                        "Deleted snapshot " + named(s) + (subtree ? " and the snapshots under it" : "") + " of '"
                                + machine.name() + "'");
            });
        }
    }

    /** {@code vhd vm snapshot rename}. */
    @Command(name = "rename",
            description = {"Renames a snapshot. Names need not be unique; a name shared by several is refused where one"
                    + " snapshot is meant, and its id is used instead."},
            footerHeading = "%nExamples:%n",
            footer = {"  vhd vm snapshot rename web 'web - (2026-11-21 12:00:00)' before-upgrade"})
    static final class Rename extends OnVm {

        @Parameters(index = "1", paramLabel = "SNAPSHOT", description = "The snapshot: its id, or its name.")
        String snapshot;

        @Parameters(index = "2", paramLabel = "NEW-NAME", description = "Its new name.")
        String newName;

        @Override
        public Integer call() throws Exception {
            return parent.onTree(spec, name, (machine, tree) -> {
                Snapshots.Result r = tree.rename(snapshot, newName);
                String id = r.snapshot().map(s -> " (" + s.id() + ")").orElse("");
                return report(spec, output, machine, r, "Renamed snapshot '" + snapshot + "'" + id + " of '"
                        + machine.name() + "' to '" + newName + "'");
            });
        }
    }

    /** {@code vhd vm snapshot export}. */
    @Command(name = "export",
            description = {
                "Writes a standalone dynamic VHD per disk of a snapshot into DIR (an existing folder), each holding"
                        + " that disk as it was when the snapshot was taken (its chain flattened), named"
                        + " SNAPSHOT-SLOT.vhd. Refused if one of them exists. The snapshot's files are only read, so"
                        + " this works while the VM runs."},
            footerHeading = "%nExamples:%n",
            footer = {"  vhd vm snapshot export web before-upgrade /backup"})
    static final class Export extends OnVm {

        @Parameters(index = "1", paramLabel = "SNAPSHOT", description = "The snapshot: its id, or its name.")
        String snapshot;

        @Parameters(index = "2", paramLabel = "DIR", description = "The folder to write the VHDs into.")
        Path target;

        @Override
        public Integer call() throws Exception {
            Path dir = target.toAbsolutePath().normalize();
            return parent.onTree(spec, name, (machine, tree) -> {
                Snapshot s = tree.find(snapshot);
                Map<Slot, Path> files = tree.export(s.id().toString(), dir);
                PrintWriter out = spec.commandLine().getOut();
                if (output.json()) {
                    Map<String, String> bySlot = new LinkedHashMap<>();
                    files.forEach((slot, path) -> bySlot.put(slot.toString(), path.toString()));
                    Json.print(out, new Exported(machine.name(), SnapshotRef.of(s), bySlot, List.of()));
                } else {
                    out.println("Exported snapshot " + named(s) + " of '" + machine.name() + "': " + files.size()
                            + (files.size() == 1 ? " disk" : " disks"));
                    files.forEach((slot, path) -> out.println("  " + slot + "  " + path));
                }
                out.flush();
                return ExitCodes.OK;
            });
        }
    }
}
