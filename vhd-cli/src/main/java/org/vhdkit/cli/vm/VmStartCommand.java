package org.vhdkit.cli.vm;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.cli.conventions.Json;
import org.vhdkit.stack.guest.GuestPages;
import org.vhdkit.stack.guest.ic.IcException;
import org.vhdkit.stack.guest.ic.ShutdownGuest;
import org.vhdkit.stack.memory.GuestMemory;
import org.vhdkit.stack.partition.GuestProgram;
import org.vhdkit.stack.vm.GuestShutdown;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmException;
import org.vhdkit.stack.vm.VmState;
import picocli.CommandLine.Command;

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
            "The guest is an idle program: it answers shutdown requests over VMBus (the shutdown integration service)"
                    + " when integration components are on, and otherwise does nothing. IDE disks and DVD drives are"
                    + " emulated; SCSI disks go through the synthetic storage path.",
            "A VM with engine qemu ('vhd vm set --engine qemu') runs a real guest in a qemu-system-x86_64 of its own"
                    + " (Debian package qemu-system-x86), its disks served by this process; 'vhd vm console NAME'"
                    + " reaches its serial console."},
        footerHeading = "%nExamples:%n",
        footer = {
            "  vhd vm start web                  # until it stops; Ctrl-C turns it off",
            "  vhd vm start web &                # then, e.g., 'vhd vm shutdown web'",
            "  vhd vm start --output json web    # one JSON report when it has stopped"})
final class VmStartCommand extends OneVmCommand {
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
        VmCommand.refuseMissingFiles(machine, "cannot start '" + machine.name() + "'");
        try {
            machine.start(idleGuest());
        } catch (VmException e) {
            throw VmCommand.failure(e);
        }
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

    /** Where the idle guest puts the shutdown channel's rings: {@link ShutdownGuest#RING_PAGES} pages from 64 KiB. */
    static final long IC_PAGES = 0x1_0000;

    /** How often the idle guest, serving the VMBus channel, looks at the default shutdown service too. */
    private static final Duration FALLBACK_POLL = Duration.ofMillis(100);

    /**
     * The guest of a VM started without a workload. On processor 0 with integration components on,
     * it answers shutdown requests and powers off when one comes: over VMBus through the shutdown
     * integration service ({@link ShutdownGuest}) once it has opened the channel, and through the
     * VM's default shutdown service ({@link GuestShutdown}) before that, when the parent offers no
     * channel, or after the channel closed. Otherwise it halts at once (the VM runs on with halted
     * processors). Restartable: a resumed run opens the channel again (the parent keeps none through
     * a save).
     */
    static GuestProgram idleGuest() {
        return guest -> {
            Optional<GuestShutdown> fallback = guest.service(GuestShutdown.class);
            if (guest.processor() != 0 || fallback.isEmpty()) {
                return;
            }
            GuestShutdown local = fallback.get();
            local.listen(); // answers while the channel is not open yet
            try {
                // Not closed: the channel lives until the VM stops (the parent keeps none through a
                // stop or a save), and a stopping processor must not talk to the bus on its way out.
                ShutdownGuest ic = ShutdownGuest.open(guest, new GuestPages(guest.memory(), IC_PAGES,
                        (long) ShutdownGuest.RING_PAGES * GuestMemory.PAGE_SIZE));
                // An accepted request powers the VM off inside serve; a request that came to the
                // default service before the channel opened is seen between two serves.
                while (!guest.poll(local.requests())) {
                    ic.serve(ShutdownGuest.Handler.POWER_OFF, FALLBACK_POLL);
                }
            } catch (IcException e) {
                // No channel offered, or it closed: the default service is the one left.
                guest.await(local.requests());
            }
            guest.powerOff();
        };
    }
}
