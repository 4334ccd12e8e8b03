package org.vhdkit.cli;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmConfiguration;
import org.vhdkit.stack.vm.VmConfigurationException;
import org.vhdkit.stack.vm.VmException;
import org.vhdkit.stack.vm.VmState;
import org.vhdkit.stack.workload.Workload;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code vhd vm run}: starts a VM with the built-in guest workload ({@link Workload}) on one of its
 * SCSI disks, waits until the workload is done and the VM has powered itself off, and prints what
 * the workload measured. It hosts the VM as {@code vhd vm start} does (other terminals can pause,
 * save or stop it), or runs in the process already hosting the folder.
 *
 * <p>Human output: a heading, one line per phase (requests, bytes, seconds, IOPS, MB/s, VMBus
 * signals and interrupts per request, sectors that differ, requests that failed), the port I/O
 * intercepts the run cost, and the state the VM ended in. With {@code --output json} one object:
 * <pre>
 * name, disk (the slot), path, blockSize, queueDepth,
 * phases      [{phase ("write", "verify", "mix", "flush", or "failed: why"), requests, bytes, seconds, iops,
 *              megabytesPerSecond, signalsPerRequest, interruptsPerRequest, mismatches, firstMismatch (LBA or
 *              null), failed}]
 * requests    over every phase
 * intercepts  port I/O intercepts of the whole run, interceptsPerRequest
 * state       the VM's state afterwards ("Off"; "Saved" when saved before the workload finished)
 * stopReason  why the VM stopped
 * clean       every phase complete, no sector different, no request failed
 * </pre>
 * Exit code 0 when clean; 1 when the workload found sectors that differ, requests that failed, or
 * could not finish.
 */
@Command(name = "run",
        description = {
            "Runs a VM with the built-in guest workload on one of its SCSI disks and reports what it measured. The"
                    + " workload is a guest program that drives the disk through the guest's synthetic storage"
                    + " driver (StorVSC over VMBus to the parent's StorVSP):",
            "  pattern  writes a verifiable pattern across the disk (every sector holds its LBA and the seed),"
                    + " sequentially, --block-size per request, --queue-depth in flight;",
            "  verify   reads the disk back the same way and compares every sector with the pattern;",
            "  random   random requests of --block-size, --read-percent of them reads, the rest writes of the"
                    + " pattern, --count of them (or for --duration); reads are checked when verify is asked too.",
            "The phases given (comma-separated) run in that order, then the disk is flushed and the guest powers"
                    + " the VM off. Each phase reports IOPS, throughput, and the VMBus signals and interrupts each"
                    + " request cost; the run reports the port I/O intercepts (the synthetic path makes none).",
            "This process hosts the VM while it runs, as 'vhd vm start' does: Ctrl-C turns it off; 'vhd vm save'"
                    + " from another terminal saves it, and the same 'vhd vm run' later carries on from where it"
                    + " was. The pattern and random workloads write to the disk: its data is overwritten.",
            "Exit code 0 when every phase completed with no sector different and no request failed, 1 otherwise."},
        footerHeading = "%nExamples:%n",
        footer = {
            "  vhd vm run web                     # pattern,verify on the first SCSI disk",
            "  vhd vm run web --workload random --block-size 4K --queue-depth 32",
            "  vhd vm run web --workload pattern,verify,random --duration 10s",
            "  vhd vm run web --disk scsi:1:3 --span 256M --output json"})
final class VmRunCommand implements Callable<Integer> {
    /** The workloads, in the order they run. */
    enum Phase {
        PATTERN, VERIFY, RANDOM
    }

    @Spec
    CommandSpec spec;

    @ParentCommand
    VmCommand vm;

    @Mixin
    OutputOption output;

    @Option(names = "--workload", paramLabel = "PHASES", split = ",", converter = PhaseConverter.class,
            description = "pattern, verify, random, or several comma-separated (default: pattern,verify).")
    List<Phase> phases = List.of(Phase.PATTERN, Phase.VERIFY);

    @Option(names = "--disk", paramLabel = "SLOT",
            description = "The SCSI disk to drive, as 'vhd vm show' lists it, e.g. scsi:0:1 (default: the first).")
    String disk;

    @Option(names = "--block-size", paramLabel = "SIZE", converter = Size.Converter.class,
            description = "Bytes per request: a multiple of 512 up to 256K (default 64K).")
    long blockSize = 64 << 10;

    @Option(names = "--queue-depth", paramLabel = "N", description = "Requests in flight, 1 to 256 (default 8).")
    int queueDepth = 8;

    @Option(names = "--count", paramLabel = "N", description = "random: how many requests (default 10000, or"
            + " as many as --duration allows).")
    Long count;

    @Option(names = "--duration", paramLabel = "DURATION", converter = VmStateCommands.DurationConverter.class,
            description = "random: run for at most this long, e.g. 10s.")
    Duration duration;

    @Option(names = "--read-percent", paramLabel = "P", description = "random: the share of reads, 0 to 100"
            + " (default 70).")
    int readPercent = 70;

    @Option(names = "--span", paramLabel = "SIZE", converter = Size.Converter.class,
            description = "Work on the first SIZE bytes of the disk only (default: all of it).")
    Long span;

    @Option(names = "--seed", paramLabel = "N", description = "The pattern's seed, and the random mix's"
            + " (default 1). verify expects the seed the pattern was written with.")
    long seed = 1;

    @Parameters(paramLabel = "NAME", description = "The VM.")
    String name;

    /** One phase in the JSON. */
    record PhaseReport(String phase, long requests, long bytes, double seconds, double iops, double megabytesPerSecond,
                       double signalsPerRequest, double interruptsPerRequest, long mismatches, Long firstMismatch,
                       long failed) {
        static PhaseReport of(Workload.Report r) {
            return new PhaseReport(r.phase(), r.requests(), r.bytes(), r.nanos() / 1e9, r.iops(),
                    r.megabytesPerSecond(), r.signalsPerRequest(), r.interruptsPerRequest(), r.mismatches(),
                    r.firstMismatch() < 0 ? null : r.firstMismatch(), r.failed());
        }
    }

    /** The JSON document. */
    record Report(String name, String disk, String path, int blockSize, int queueDepth, List<PhaseReport> phases,
                  long requests, long intercepts, double interceptsPerRequest, String state, String stopReason,
                  boolean clean) {
    }

    @Override
    public Integer call() throws Exception {
        Set<Phase> chosen = new LinkedHashSet<>(phases);
        boolean random = chosen.contains(Phase.RANDOM);
        if (!random && (count != null || duration != null)) {
            throw new ParameterException(spec.commandLine(), "--count and --duration are for --workload random");
        }
        if (span != null && (span <= 0 || span % 512 != 0)) {
            throw new ParameterException(spec.commandLine(), "--span must be a positive multiple of 512 bytes, not "
                    + span);
        }
        long mixCount = !random ? 0 : count != null ? count : duration == null ? 10_000 : 0;
        Duration mixDuration = random && duration != null ? duration : Duration.ZERO;
        return vm.execute(spec, session -> {
            VirtualMachine machine = session.vm(name);
            VmConfiguration config = machine.configuration();
            String what = "cannot run the workload on '" + machine.name() + "'";
            Attachment target = target(config, what);
            if (!config.integrationComponents()) {
                throw CommandFailure.refused(what + ": its integration components are off, and the workload drives"
                        + " the synthetic SCSI path, which needs them ('vhd vm set --integration on "
                        + machine.name() + "')");
            }
            if (target.readOnly() && (chosen.contains(Phase.PATTERN) || random && readPercent < 100)) {
                throw CommandFailure.refused(what + ": " + target.slot() + " is attached read-only, and the"
                        + " workload would write to it; use --workload verify, or --read-percent 100");
            }
            Workload.Plan plan;
            try {
                plan = new Workload.Plan(guestController(config, target.slot()), target.slot().unit(), 0,
                        span == null ? 0 : span / 512, seed, Math.toIntExact(Math.min(blockSize, Integer.MAX_VALUE)),
                        queueDepth, chosen.contains(Phase.PATTERN), chosen.contains(Phase.VERIFY), readPercent,
                        mixCount, mixDuration, true);
            } catch (IllegalArgumentException e) {
                throw CommandFailure.refused(what + ": " + e.getMessage(), e);
            }
            if (plan.memoryNeeded() > config.memoryBytes()) {
                throw CommandFailure.refused(what + ": the workload needs " + Size.human(plan.memoryNeeded())
                        + " of guest memory for " + queueDepth + " requests of " + Size.human(blockSize) + ", and '"
                        + machine.name() + "' has " + Size.human(config.memoryBytes()) + " ('vhd vm set --memory ...')");
            }
            Workload workload = new Workload(plan);
            try {
                machine.start(workload);
            } catch (VmException e) {
                throw VmCommand.failure(e);
            }
            VmStartCommand.warnUnemulated(machine, spec.commandLine().getErr());
            int[] exit = {ExitCodes.OK};
            VmHost.Report report = () -> exit[0] = report(machine, target, plan, workload);
            if (session.host().isPresent()) {
                session.host().get().ran(machine);
                awaitStopped(machine);
                report.print();
            } else {
                try (VmHost host = VmHost.open(session.hypervisor(), spec.commandLine().getErr())) {
                    host.ran(machine);
                    host.serveUntilIdle(spec.commandLine().getErr(), report);
                }
            }
            return exit[0];
        });
    }

    /** The attachment to drive: --disk, or the first SCSI disk. */
    private Attachment target(VmConfiguration config, String what) throws CommandFailure {
        if (disk == null) {
            return config.attachments().stream()
                    .filter(a -> a.slot().bus() == Slot.Bus.SCSI)
                    .min(Comparator.comparing(Attachment::slot))
                    .orElseThrow(() -> CommandFailure.refused(what + ": it has no SCSI disk; attach one with 'vhd vm"
                            + " attach " + config.name() + " --controller scsi:0 --lun 0 DISK.vhd'"));
        }
        Slot slot;
        try {
            slot = VmSlotOptions.parse(disk.strip());
        } catch (VmConfigurationException e) {
            throw CommandFailure.refused("--disk: " + e.problem(), e);
        }
        if (slot.bus() != Slot.Bus.SCSI) {
            throw CommandFailure.refused(what + ": " + slot + " is on IDE; the workload drives SCSI disks");
        }
        return config.attachment(slot).orElseThrow(() -> CommandFailure.refused(what + ": nothing is attached at "
                + slot));
    }

    /**
     * The controller's number as the guest's driver counts them: it finds the controllers the VM
     * offers, those with a disk, in ascending order.
     */
    private static int guestController(VmConfiguration config, Slot slot) {
        return (int) config.attachments().stream()
                .filter(a -> a.slot().bus() == Slot.Bus.SCSI && a.slot().controller() < slot.controller())
                .map(a -> a.slot().controller()).distinct().count();
    }

    /** Waits until the VM rests Off or Saved (the workload powers it off when done). */
    private static void awaitStopped(VirtualMachine machine) throws InterruptedException {
        while (!machine.awaitState(VmState.OFF, Duration.ofMillis(100)) && machine.state() != VmState.SAVED) {
            // until the guest powers off, or someone turns the VM off or saves it
        }
    }

    private int report(VirtualMachine machine, Attachment target, Workload.Plan plan, Workload workload) {
        List<Workload.Report> reports = workload.reports();
        long requests = reports.stream().mapToLong(Workload.Report::requests).sum();
        long intercepts = machine.intercepts();
        double perRequest = requests == 0 ? 0 : (double) intercepts / requests;
        String state = machine.state().toString();
        String stopReason = machine.lastStopReason().orElse(null);
        boolean finished = reports.stream().anyMatch(r -> r.phase().equals("flush"));
        boolean clean = finished && reports.stream().allMatch(Workload.Report::clean);
        PrintWriter out = spec.commandLine().getOut();
        if (output.json()) {
            Json.print(out, new Report(machine.name(), target.slot().toString(), target.path().toString(),
                    plan.blockSize(), plan.queueDepth(), reports.stream().map(PhaseReport::of).toList(), requests,
                    intercepts, perRequest, state, stopReason, clean));
        } else {
            out.println("Workload on " + target.slot() + " of '" + machine.name() + "' (" + target.path() + "): "
                    + Size.human(plan.blockSize()) + " requests, " + plan.queueDepth() + " in flight");
            int width = reports.stream().filter(r -> !r.phase().startsWith("failed"))
                    .mapToInt(r -> r.phase().length()).max().orElse(0) + 1;
            for (Workload.Report r : reports) {
                out.println("  " + (r.phase().startsWith("failed") ? r.phase()
                        : String.format("%-" + width + "s ", r.phase() + ":") + describe(r)));
            }
            out.println(String.format(Locale.ROOT, "Intercepts: %d for %d requests (%.3f per request)", intercepts,
                    requests, perRequest));
            out.println("'" + machine.name() + "' is " + state + (stopReason == null || stopReason.equals("saved")
                    || stopReason.equals("the guest powered off") ? "" : ": " + stopReason)
                    + (state.equals("Saved") ? "; 'vhd vm run' with the same options carries on from where it was" : ""));
        }
        out.flush();
        return clean ? ExitCodes.OK : ExitCodes.DIFFERENT;
    }

    private static String describe(Workload.Report r) {
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT,
                "%d %s, %s in %.3f s: %.0f IOPS, %.1f MB/s; %.3f signals, %.3f interrupts per request",
                r.requests(), r.requests() == 1 ? "request" : "requests", Size.human(r.bytes()), r.nanos() / 1e9, r.iops(), r.megabytesPerSecond(),
                r.signalsPerRequest(), r.interruptsPerRequest()));
        if (r.mismatches() > 0) {
            s.append("; ").append(r.mismatches()).append(" sectors differ, the first at LBA ").append(r.firstMismatch());
        }
        if (r.failed() > 0) {
            s.append("; ").append(r.failed()).append(r.failed() == 1 ? " request" : " requests").append(" failed");
        }
        return s.toString();
    }

    /** Reads a workload name in any case. */
    static final class PhaseConverter implements CommandLine.ITypeConverter<Phase> {
        @Override
        public Phase convert(String value) {
            for (Phase p : Phase.values()) {
                if (p.name().equalsIgnoreCase(value.strip())) {
                    return p;
                }
            }
            throw new CommandLine.TypeConversionException("'" + value + "' is not a workload; use pattern, verify or"
                    + " random");
        }
    }
}
