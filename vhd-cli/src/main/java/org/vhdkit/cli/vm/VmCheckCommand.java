package org.vhdkit.cli.vm;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.vhdkit.cli.conventions.CommandFailure;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.cli.conventions.Json;
import org.vhdkit.cli.disk.CheckCommand;
import org.vhdkit.stack.snapshot.Snapshot;
import org.vhdkit.stack.snapshot.Snapshots;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmConfiguration;
import org.vhdkit.stack.vm.VmException;
import org.vhdkit.stack.vm.VmState;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.check.CheckReport;
import org.vhdkit.vhd.check.Finding;
import org.vhdkit.vhd.check.ImageCheck;
import org.vhdkit.vhd.format.VhdFormatException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code vhd vm check}: whether a VM's snapshot tree and its files agree ({@link Snapshots#check},
 * with {@code --repair} {@link Snapshots#repair}), and {@link ImageCheck} of every VHD and AVHD the
 * VM uses: the disks its configuration attaches, each snapshot's layers, and every file under them
 * down their parent chains. Exit code 0 when everything is consistent (warnings allowed), 2 when a
 * tree problem or a corrupt image remains, 3 when only leaked space does, as {@code vhd check}.
 *
 * <p>JSON: {@code vm}, {@code tree} ({@code problems}, {@code repairs}), {@code files}: [{@code file,
 * status, findings: [{severity, code, message, offset, repaired}]}], {@code missing}: [{@code slot, path}]
 * (attached files that are not there), {@code shared}: [{@code file, slots}] (a file in several disks'
 * chains), {@code unreadable} (files whose
 * chain could not be followed, one line each), {@code exitCode}.
 *
 * <p>Thread-safety: a command object serves one run on one thread.
 */
@Command(name = "check",
        description = {
            "Checks a VM's snapshot tree against the files in its folder (orphan .avhd files and saved states, missing"
                    + " layers, an operation a crash cut short, merges still waiting) and runs 'vhd check' on every"
                    + " VHD and AVHD file the VM's configuration and snapshots use, down their parent chains.",
            "--repair makes the tree and the files agree (completes or rolls back an interrupted operation, does the"
                    + " merges that waited, deletes files the tree does not name, drops snapshots whose layers are"
                    + " gone) and then repairs each image as 'vhd check --repair' does; the VM must be Off or Saved.",
            "Crash-safe: the tree is replaced atomically and each image repaired one valid step at a time.",
            "Exit code 0: consistent (warnings allowed); 2: a tree problem or a corrupt image remains; 3: leaked"
                    + " space only."},
        footerHeading = "%nExamples:%n",
        footer = {
            "  vhd vm check web",
            "  vhd vm check --repair web",
            "  vhd vm check --output json web"})
final class VmCheckCommand extends OneVmCommand {
    @Option(names = "--repair", description = "Repair the tree and the images, in place. The VM must be Off or Saved.")
    boolean repair;

    record Item(String severity, String code, String message, Long offset, boolean repaired) {
        static Item of(Finding f) {
            return new Item(f.severity().name().toLowerCase(Locale.ROOT), f.code(), f.message(),
                    f.offset() >= 0 ? f.offset() : null, f.repaired());
        }
    }

    record FileReport(String file, String status, List<Item> findings) {
    }

    record Tree(List<String> problems, List<String> repairs) {
    }

    /** An attachment whose file is not there. */
    record Missing(String slot, String path) {
    }

    /** A file in the chains of several disks (slots): the VM cannot start. */
    record Shared(String file, List<String> slots) {
    }

    record Report(String vm, Tree tree, List<FileReport> files, List<Missing> missing, List<Shared> shared,
                  List<String> unreadable, int exitCode) {
    }

    @Override
    public Integer call() throws Exception {
        return vm.execute(spec, session -> {
            VirtualMachine machine = session.vm(name);
            if (repair && machine.state() != VmState.OFF && machine.state() != VmState.SAVED) {
                throw CommandFailure.refused("cannot repair '" + machine.name() + "': it is " + machine.state()
                        + "; turn it off or save it first");
            }
            Snapshots tree;
            List<String> repairs = List.of();
            List<String> problems;
            try {
                tree = Snapshots.of(machine);
                if (repair) {
                    repairs = tree.repair().repairs();
                }
                problems = tree.check().problems();
            } catch (VmException e) {
                throw VmCommand.failure(e);
            }
            List<String> unreadable = new ArrayList<>();
            List<Missing> missing = VmCommand.missingFiles(machine.configuration()).stream()
                    .map(a -> new Missing(a.slot().toString(), a.path().toString())).toList();
            List<Shared> shared = DiskChains.shared(machine.configuration()).entrySet().stream()
                    .map(e -> new Shared(e.getKey().toString(), e.getValue().stream().map(Object::toString).toList()))
                    .toList();
            List<CheckReport> reports = new ArrayList<>();
            for (Path file : files(machine.configuration(), tree.list(), unreadable)) {
                reports.add(repair ? ImageCheck.repair(file, ProgressListener.NONE)
                        : ImageCheck.check(file, ProgressListener.NONE));
            }
            int exit = problems.isEmpty() && unreadable.isEmpty() && missing.isEmpty() && shared.isEmpty() ? ExitCodes.OK
                    : ExitCodes.CORRUPT;
            for (CheckReport r : reports) {
                int code = CheckCommand.exitCode(r.status());
                if (code == ExitCodes.CORRUPT || code == ExitCodes.LEAKS && exit == ExitCodes.OK) {
                    exit = code;
                }
            }
            print(machine, problems, repairs, reports, missing, shared, unreadable, exit);
            return exit;
        });
    }

    /**
     * The VHD files of {@code config}'s disks and of {@code snapshots}' layers and every file under
     * them, each once, in that order; a chain that cannot be followed is said in {@code unreadable}.
     */
    private static Set<Path> files(VmConfiguration config, List<Snapshot> snapshots, List<String> unreadable) {
        Set<Path> tops = new LinkedHashSet<>();
        config.attachments().stream().filter(a -> a.kind() == Attachment.Kind.DISK).forEach(a -> tops.add(a.path()));
        for (Snapshot s : snapshots) {
            tops.addAll(s.layers().values());
        }
        Set<Path> all = new LinkedHashSet<>();
        for (Path top : tops) {
            if (!Files.exists(top)) {
                continue; // a missing attachment, or a missing layer the tree check names
            }
            all.add(top);
            try (VhdDisk disk = Vhd.openReadOnly(top)) {
                for (VhdDisk layer : disk.chain()) {
                    all.add(layer.path());
                }
            } catch (VhdFormatException e) {
                // ImageCheck of the file itself says what is wrong with it
            } catch (IOException e) {
                unreadable.add(top + ": " + e.getMessage());
            }
        }
        return all;
    }

    private void print(VirtualMachine machine, List<String> problems, List<String> repairs, List<CheckReport> reports,
            List<Missing> missing, List<Shared> shared, List<String> unreadable, int exit) {
        PrintWriter out = spec.commandLine().getOut();
        if (output.json()) {
            List<FileReport> files = reports.stream().map(r -> new FileReport(r.path().toString(),
                    r.status().name().toLowerCase(Locale.ROOT), r.findings().stream().map(Item::of).toList())).toList();
            Json.print(out, new Report(machine.name(), new Tree(problems, repairs), files, missing, shared,
                    unreadable, exit));
        } else {
            out.println("Snapshot tree of '" + machine.name() + "': " + (problems.isEmpty() ? "consistent"
                    : problems.size() + (problems.size() == 1 ? " problem" : " problems")));
            problems.forEach(p -> out.println("  " + p));
            repairs.forEach(r -> out.println("  repaired: " + r));
            out.println("Checked " + reports.size() + (reports.size() == 1 ? " file" : " files"));
            for (CheckReport r : reports) {
                out.println("  " + r.status().name().toLowerCase(Locale.ROOT) + "  " + r.path());
                for (Finding f : r.findings()) {
                    out.println("      " + f.severity().name().toLowerCase(Locale.ROOT) + " " + f.code() + ": "
                            + f.message() + (f.repaired() ? " (repaired)" : ""));
                }
            }
            missing.forEach(m -> out.println("  missing  " + m.slot() + "  " + m.path() + ": no such file; put it back,"
                    + " or detach it with 'vhd vm detach " + machine.name() + " --controller " + m.slot() + "'"));
            shared.forEach(s -> out.println("  shared  " + s.file() + ": in the chains of " + String.join(" and ",
                    s.slots()) + "; a file can be in a VM's disks once, so it cannot start: detach all but one"));
            unreadable.forEach(u -> out.println("  unreadable  " + u));
        }
        out.flush();
    }
}
