package org.vhdkit.cli.vm;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.vhdkit.cli.conventions.CommandFailure;
import org.vhdkit.stack.ic.IntegrationServices;
import org.vhdkit.stack.ide.EmulatedIde;
import org.vhdkit.stack.qemu.QemuEngine;
import org.vhdkit.stack.storage.SyntheticStorage;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.FolderInUseException;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.HypervisorOptions;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmConfiguration;
import org.vhdkit.stack.vm.VmConfigurationException;
import org.vhdkit.stack.vm.VmException;
import org.vhdkit.stack.vm.VmStateException;
import org.vhdkit.vhd.ParentNotFoundException;
import org.vhdkit.vhd.format.VhdFormatException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code vhd vm}: the VMs of a folder ({@code --vm-root}, by default
 * {@link Hypervisor#defaultRoot()}), one subcommand per operation, each a {@code Vm*Command} class
 * of this package.
 *
 * <h2>Which process runs a VM</h2>
 * A VM runs only while a process hosts it: {@code vhd vm start} opens the folder, starts the VM and
 * stays in the foreground until every VM it hosts has stopped (Off or Saved); Ctrl-C there turns
 * them off. While it runs it holds the folder (a {@link Hypervisor} locks its folder) and listens
 * on a Unix domain socket in it ({@link VmHost#SOCKET}); every other {@code vhd vm} command on the
 * same folder, from any terminal of the same user, is sent there and carried out by the host
 * ({@link VmHost}), so that {@code pause}, {@code save}, {@code attach} (hot add), {@code list} and
 * the rest see the running VMs. Without a host the command opens the folder itself, and the VMs
 * are Off or Saved.
 *
 * <p>Each subcommand hands its work to {@link #execute}, which decides where it runs.
 *
 * <p>Thread-safety: a command object serves one run on one thread; see {@link org.vhdkit.cli.VhdCommand#run}.
 */
@Command(name = "vm",
        description = {
            "Creates, configures and runs virtual machines: generation-1 VMs as Hyper-V (Server 2008 R2) has them,"
                    + " with IDE and synthetic SCSI controllers, VHD disks, DVD drives and pass-through disks.",
            "Each VM is a folder under --vm-root, which holds its configuration and, when Saved, its saved state;"
                    + " its disks stay where they are. The default --vm-root is $XDG_DATA_HOME/vhdkit/vms, or"
                    + " ~/.local/share/vhdkit/vms without XDG_DATA_HOME.",
            "",
            "A VM runs only while a vhd process hosts it. 'vhd vm start NAME' starts it and stays in the foreground"
                    + " until it is Off or Saved; Ctrl-C there turns it off (disks flushed and closed, exit 130)."
                    + " While it runs, every other 'vhd vm' command on the same --vm-root, from any terminal of the"
                    + " same user, is carried out by that process through the socket ROOT/" + VmHost.SOCKET + ":"
                    + " stop, shutdown, pause, resume, save, attach and detach (hot add and remove, SCSI only), list"
                    + " and show act on the running VMs, and 'vhd vm start OTHER' starts another VM in that process."
                    + " When no process hosts the folder, the command opens it itself and every VM is Off or Saved;"
                    + " state changes that need a running VM are refused with its state."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            " 0:success",
            "64:usage error: the command line is not understood",
            "65:refused: an unknown VM, a broken rule or limit (the message names it), an operation the VM's state"
                    + " does not allow, a disk that is not a VHD, a guest that did not shut down in time",
            "70:internal error: a bug; run with --debug for the stack trace",
            "74:I/O error: a disk or folder missing, unreadable or unwritable, or held by a process that does not"
                    + " answer"},
        synopsisSubcommandLabel = "COMMAND",
        subcommands = {
            VmCreateCommand.class, VmListCommand.class, VmShowCommand.class, VmSetCommand.class,
            VmDeleteCommand.class, VmAttachCommand.class, VmDetachCommand.class, VmStartCommand.class, VmRunCommand.class,
            VmStateCommands.Stop.class, VmStateCommands.Shutdown.class, VmStateCommands.Pause.class,
            VmStateCommands.Resume.class, VmStateCommands.Save.class, VmSnapshotCommand.class, VmCheckCommand.class, VmDvdCommand.class,
            VmConsoleCommand.class},
        footerHeading = "%nExamples:%n",
        footer = {
            "  vhd vm create --memory 1G web",
            "  vhd vm attach web --controller scsi:0 --lun 0 /vms/web-data.vhd",
            "  vhd vm start web          # in the foreground; Ctrl-C turns it off",
            "  vhd vm save web           # in another terminal: saved; 'start' ends",
            "  vhd vm list --output json",
            "  vhd vm --vm-root /srv/vms list"})
public final class VmCommand implements Callable<Integer> {
    /**
     * How VMs run: their SCSI disks through the synthetic storage path (StorVSP on VMBus), the
     * shutdown integration service on the same VMBus, and the emulated IDE controller with the
     * {@code ide:C:D} disks and DVD drives; a VM with a real guest (engine qemu) in a qemu process of
     * its own, its storage served by this process ({@link QemuEngine}).
     */
    static final HypervisorOptions OPTIONS = HypervisorOptions.defaults()
            .withDeviceProvider(SyntheticStorage.create())
            .withDeviceProvider(IntegrationServices.create())
            .withDeviceProvider(EmulatedIde.create())
            .withWorkerLauncher(QemuEngine.create());

    /** How long a command waits for a folder another short-lived vhd process holds. */
    static final Duration FOLDER_WAIT = Duration.ofSeconds(5);

    @Spec
    CommandSpec spec;

    @Option(names = "--vm-root", paramLabel = "DIR", scope = ScopeType.INHERIT,
            description = "The folder of VMs. Default:%n$XDG_DATA_HOME/vhdkit/vms, or without%nXDG_DATA_HOME"
                    + " ~/.local/share/vhdkit/vms.")
    Path root;

    /** The host process this command runs inside (a command sent by another process), or null. */
    private final VmHost host;

    /** For picocli: a command run from the command line. */
    VmCommand() {
        this(null);
    }

    /** A command run inside {@code host}, for another process. */
    VmCommand(VmHost host) {
        this.host = host;
    }

    /** What a subcommand does once it has a folder of VMs open. */
    @FunctionalInterface
    interface Action {
        /** Does the work and returns the exit code. */
        int run(Session session) throws Exception;
    }

    /**
     * The folder of VMs a subcommand works on: a hypervisor, and the host process it runs in when it
     * was sent to one (empty when this process opened the folder itself).
     */
    record Session(Hypervisor hypervisor, Optional<VmHost> host) {
        /** The VM named {@code name}; refused (65), naming the folder, when there is none. */
        VirtualMachine vm(String name) throws CommandFailure {
            return hypervisor.find(name).orElseThrow(() ->
                    CommandFailure.refused("no VM is named '" + name + "' in " + hypervisor.root()));
        }
    }

    /** {@code vhd vm} alone: a usage error that points at the help. */
    @Override
    public Integer call() {
        throw new ParameterException(spec.commandLine(), "no command given");
    }

    /** Whether this command runs inside the host process, for another process. */
    boolean insideHost() {
        return host != null;
    }

    /** The folder of VMs, absolute. */
    Path root() {
        Path dir = root != null ? root : host != null ? host.hypervisor().root() : Hypervisor.defaultRoot();
        return dir.toAbsolutePath().normalize();
    }

    /**
     * Runs {@code action} for the subcommand {@code leaf} where it must run: in this process when it
     * is itself the host (a command sent by another process), in the process hosting the folder
     * when there is one (the command line is sent there and its output and exit code come back), or
     * else in this process over the folder it opens for the time of the command.
     */
    int execute(CommandSpec leaf, Action action) throws Exception {
        if (host != null) {
            return action.run(new Session(host.hypervisor(), Optional.of(host)));
        }
        VmLog.install(debugRequested(leaf));
        Path dir = root();
        VmHost.Request request = new VmHost.Request(forwardedArgs(leaf), Path.of("").toAbsolutePath().toString());
        long deadline = System.nanoTime() + FOLDER_WAIT.toNanos();
        while (true) {
            Optional<VmHost.Outcome> sent = VmHost.send(dir, request);
            if (sent.isPresent() && sent.get() instanceof VmHost.Outcome.Done done) {
                return print(leaf, done.reply());
            }
            if (sent.isEmpty()) {
                Hypervisor hypervisor = openUnlessHeld(dir, System.nanoTime() >= deadline);
                if (hypervisor != null) {
                    try (hypervisor) {
                        reportProblems(leaf, hypervisor);
                        return action.run(new Session(hypervisor, Optional.empty()));
                    }
                }
            }
            // A host closing down, or another vhd process holding the folder for a moment.
            if (System.nanoTime() >= deadline) {
                throw new IOException(dir + ": the VM folder is held by a vhd process that does not answer on "
                        + dir.resolve(VmHost.SOCKET));
            }
            Thread.sleep(50);
        }
    }

    private static boolean debugRequested(CommandSpec leaf) {
        for (ParseResult r = leaf.root().commandLine().getParseResult(); r != null; r = r.subcommand()) {
            if (r.hasMatchedOption("--debug")) {
                return true;
            }
        }
        return false;
    }

    /** The folder opened, or null when another process holds it and {@code last} is false. */
    private static Hypervisor openUnlessHeld(Path dir, boolean last) throws VmException {
        try {
            return Hypervisor.open(dir, OPTIONS);
        } catch (FolderInUseException e) {
            if (!last) {
                return null;
            }
            throw e;
        }
    }

    /** VM folders the hypervisor could not read, as warnings; the other VMs are usable. */
    private static void reportProblems(CommandSpec leaf, Hypervisor hypervisor) {
        if (hypervisor.problems().isEmpty() || leaf.name().equals("list")) {
            return; // list shows them itself
        }
        PrintWriter err = leaf.commandLine().getErr();
        hypervisor.problems().forEach(p -> err.println("vhd: warning: " + p));
        err.flush();
    }

    /** Writes what the host said and returns its exit code. */
    private static int print(CommandSpec leaf, VmHost.Reply reply) {
        PrintWriter out = leaf.commandLine().getOut();
        PrintWriter err = leaf.commandLine().getErr();
        out.print(reply.out());
        out.flush();
        err.print(reply.err());
        err.flush();
        return reply.exitCode();
    }

    /**
     * The command line to send to a host: {@code vm} and what follows it, after any {@code @file}
     * expansion, with {@code --debug} first when it was given before {@code vm}.
     */
    private static List<String> forwardedArgs(CommandSpec leaf) {
        ParseResult top = leaf.root().commandLine().getParseResult();
        List<String> all = top.expandedArgs();
        List<String> args = new ArrayList<>();
        if (top.hasMatchedOption("--debug")) {
            args.add("--debug");
        }
        // vhd's own options take no values, so the first "vm" is the subcommand.
        args.addAll(all.subList(all.indexOf("vm"), all.size()));
        return args;
    }

    /**
     * How the CLI reports a refused VM operation: a broken rule, a state that does not allow it, a
     * damaged or missing disk, a guest that did not answer is refused (65); the file system saying no
     * (a folder or disk that cannot be read or written) is an I/O error (74). A configuration rule
     * broken by the command's own change is said as {@code what + ": " + the rule} ("cannot attach
     * ... to 'vm1': ..."), without the library's field name.
     */
    static Exception failure(VmException e, String what) {
        if (e instanceof VmConfigurationException c && c.file().isEmpty()) {
            return CommandFailure.refused(what + ": " + c.problem(), e);
        }
        return failure(e);
    }

    /** The attachments of {@code config} whose file (a VHD, an ISO image, a pass-through device) is not there. */
    static List<Attachment> missingFiles(VmConfiguration config) {
        return config.attachments().stream().filter(a -> a.path() != null && !Files.exists(a.path())).toList();
    }

    /**
     * Refuses to start {@code machine} when a file it has attached is missing (a disk merged or
     * deleted under it), naming the slot and the path and how to fix it: an I/O error, as a missing
     * file is everywhere.
     */
    static void refuseMissingFiles(VirtualMachine machine, String what) throws CommandFailure {
        List<Attachment> missing = missingFiles(machine.configuration());
        if (!missing.isEmpty()) {
            Attachment a = missing.getFirst();
            boolean dvd = a.kind() == Attachment.Kind.DVD;
            throw CommandFailure.io(what + ": its " + (dvd ? "DVD image" : a.kind() == Attachment.Kind.DISK ? "disk"
                    : "pass-through disk") + " at " + a.slot() + ", " + a.path() + ", is missing (no such file);"
                    + " put the file back, or " + (dvd ? "eject it with 'vhd vm dvd eject " : "detach it with 'vhd vm"
                    + " detach ") + machine.name() + " --controller " + a.slot() + "'");
        }
    }

    /** {@link #failure(VmException, String)} for an operation whose refusals carry their own words. */
    static Exception failure(VmException e) {
        if (e instanceof VmStateException || e instanceof VmConfigurationException) {
            return CommandFailure.refused(e.getMessage(), e);
        }
        for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
            if (t instanceof VhdFormatException || t instanceof ParentNotFoundException) {
                return CommandFailure.refused(e.getMessage(), e);
            }
            if (t instanceof IOException && !(t instanceof VmException)) {
                return e;
            }
        }
        return CommandFailure.refused(e.getMessage(), e);
    }
}
