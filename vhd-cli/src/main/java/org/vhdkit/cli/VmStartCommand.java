package org.vhdkit.cli;

import java.io.PrintWriter;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.vhdkit.stack.partition.GuestProgram;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.GuestShutdown;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmException;
import org.vhdkit.stack.vm.VmState;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code vhd vm start}: starts a VM (from Saved: resumes it) and hosts it in this process until it
 * is Off or Saved; or, when a process already hosts the folder, starts it there and returns (see
 * {@link VmCommand} for the process model).
 *
 * <p>The guest is {@link #idleGuest()}: this toolkit runs Java guest programs, not operating
 * systems, and without a workload there is nothing for it to do but answer a shutdown request.
 *
 * <p>Hosting here, it prints a line when the VM runs, and when the host ends one line per VM it
 * ran with the state it ended in and why. With {@code --output json}, only at the end, one object:
 * {@code hostPid} (this process) and {@code vms}: [{@code name, state, stopReason}] ("Off",
 * "turned off"; "Saved", "saved"; ...). Started in another host: the same object at once, the VM
 * Running and {@code hostPid} that host's. Exit code 0 once the VMs have stopped, whatever stopped
 * them (the reason says); Ctrl-C turns them off and the process exits 130.
 */
@Command(name = "start",
        description = {
            "Starts a VM, or resumes a Saved one from its saved state, and hosts it in this process: the command"
                    + " stays in the foreground until the VM is Off or Saved (turned off, shut down or saved from"
                    + " another terminal with 'vhd vm stop|shutdown|save NAME', or powered off by its guest).",
            "Ctrl-C turns every VM this process hosts off (disks flushed and closed) and exits 130.",
            "If another 'vhd vm start' already hosts the folder, the VM is started in that process instead and"
                    + " this command returns at once.",
            "The guest is an idle program: it answers shutdown requests when integration components are on,"
                    + " and otherwise does nothing."},
        footerHeading = "%nExamples:%n",
        footer = {
            "  vhd vm start web                  # until it stops; Ctrl-C turns it off",
            "  vhd vm start web &                # then, e.g., 'vhd vm shutdown web'",
            "  vhd vm start --output json web    # one JSON report when it has stopped"})
final class VmStartCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @ParentCommand
    VmCommand vm;

    @Mixin
    OutputOption output;

    @Parameters(paramLabel = "NAME", description = "The VM.")
    String name;

    /** One VM in the report: how it ended, or Running when started in another host. */
    record Outcome(String name, String state, String stopReason) {
        static Outcome of(VirtualMachine vm) {
            return new Outcome(vm.name(), vm.state().toString(), vm.lastStopReason().orElse(null));
        }
    }

    /** The JSON document. */
    record Report(long hostPid, List<Outcome> vms) {
    }

    @Override
    public Integer call() throws Exception {
        return vm.execute(spec, this::start);
    }

    private int start(VmCommand.Session session) throws Exception {
        VirtualMachine machine = session.vm(name);
        boolean resuming = machine.state() == VmState.SAVED;
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try {
            machine.start(idleGuest());
        } catch (VmException e) {
            throw VmCommand.failure(e);
        }
        warnUnemulated(machine, err);
        String started = (resuming ? "Resumed '" + machine.name() + "' from its saved state" : "Started '"
                + machine.name() + "'");
        long pid = ProcessHandle.current().pid();
        if (session.host().isPresent()) {
            session.host().get().ran(machine);
            if (output.json()) {
                Json.print(out, new Report(pid, List.of(Outcome.of(machine))));
            } else {
                out.println(started + " in process " + pid + ", which hosts the VMs of " + session.hypervisor().root());
            }
            out.flush();
            return ExitCodes.OK;
        }
        try (VmHost host = VmHost.open(session.hypervisor(), err)) {
            host.ran(machine);
            if (!output.json()) {
                out.println(started + "; this process (" + pid + ") hosts it until it stops. Ctrl-C turns it off.");
                out.flush();
            }
            host.serveUntilIdle(err, () -> {
                List<Outcome> outcomes = host.ran().stream().map(Outcome::of).toList();
                if (output.json()) {
                    Json.print(out, new Report(pid, outcomes));
                } else {
                    for (Outcome o : outcomes) {
                        out.println("'" + o.name() + "' is " + o.state() + (o.stopReason() == null
                                || o.stopReason().equals("saved") ? "" : ": " + o.stopReason()));
                    }
                }
                out.flush();
            });
            return ExitCodes.OK;
        }
    }

    /**
     * Says on {@code err} which attachments of the started {@code vm} its guest cannot see: IDE
     * devices, until the emulated IDE controller is among the device providers.
     */
    static void warnUnemulated(VirtualMachine vm, PrintWriter err) {
        for (Attachment a : vm.configuration().attachments()) {
            if (a.slot().bus() == Slot.Bus.IDE) {
                err.println("vhd: warning: '" + vm.name() + "': " + a.slot() + " (" + VmAttachCommand.describe(a)
                        + ") is not opened: this build does not emulate IDE yet, so the guest cannot see it");
            }
        }
        err.flush();
    }

    /**
     * The guest of a VM started without a workload. On processor 0 with integration components on,
     * it listens for a shutdown request and powers off when one comes; otherwise it halts at once
     * (the VM runs on with halted processors). Restartable: a resumed run starts listening again.
     */
    static GuestProgram idleGuest() {
        return guest -> {
            Optional<GuestShutdown> shutdown = guest.service(GuestShutdown.class);
            if (guest.processor() != 0 || shutdown.isEmpty()) {
                return;
            }
            shutdown.get().listen();
            guest.await(shutdown.get().requests());
            guest.powerOff();
        };
    }
}
