package org.vhdkit.cli.vm;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Supplier;
import org.vhdkit.cli.conventions.CommandFailure;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.cli.conventions.Json;
import org.vhdkit.cli.conventions.Size;
import org.vhdkit.stack.guest.ide.IdeDriver;
import org.vhdkit.stack.guest.ide.IdeWorkload;
import org.vhdkit.stack.guest.workload.Workload;
import org.vhdkit.stack.partition.GuestProgram;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmConfiguration;
import org.vhdkit.stack.vm.VmConfigurationException;
import org.vhdkit.stack.vm.VmException;
import org.vhdkit.stack.vm.VmState;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine;

/**
 * {@code vhd vm run}: starts a VM with the built-in guest workload on one of its disks, waits until
 * the workload is done and the VM has powered itself off, and prints what the workload measured.
 * A SCSI disk is driven by {@link Workload} through the synthetic path (StorVSC over VMBus); an IDE
 * disk by {@link IdeWorkload} through the guest's ATA driver and the emulated controller, by PIO or
 * DMA ({@code --mode}), one request at a time and pattern and verify only. Both write the same
 * pattern, so one can verify what the other wrote. The report puts the port I/O intercepts per
 * request (what the emulated path costs) beside the VMBus signals per request (what the synthetic
 * path costs). It hosts the VM as {@code vhd vm start} does (other terminals can pause,
 * save or stop it), or runs in the process already hosting the folder.
 *
 * <p>Human output: a heading, one line per phase (requests, and for a phase that moved data bytes,
 * seconds, IOPS and MiB/s; on the synthetic path VMBus signals and interrupts per request; sectors
 * that differ, requests that failed), what the run cost (VMBus signals on the synthetic path, port
 * I/O intercepts on IDE), and the state the VM ended in. With {@code --output json} one object:
 * <pre>
 * name, disk (the slot), path, mode ("synthetic", or the IDE mode: "pio", "pio-multiple", "dma"),
 * blockSize, queueDepth (1 on IDE),
 * phases      [{phase ("write", "verify", "mix", "flush", or "failed: why"), requests, bytes, seconds, iops,
 *              megabytesPerSecond, signalsPerRequest, interruptsPerRequest, mismatches, firstMismatch (LBA or
 *              null), failed}]
 * requests    over every phase
 * intercepts  port I/O intercepts of the whole run, interceptsPerRequest
 * signals     VMBus signals to the parent over every phase, signalsPerRequest
 * state       the VM's state afterwards ("Off"; "Saved" when saved before the workload finished)
 * stopReason  why the VM stopped
 * clean       every phase complete, no sector different, no request failed
 * </pre>
 * Exit code 0 when clean; 1 when the workload found sectors that differ, requests that failed, or
 * could not finish.
 */
@Command(name = "run",
        description = {
            "Runs a VM with the built-in guest workload on one of its disks and reports what it measured. The"
                    + " workload is a guest program that drives a SCSI disk through the guest's synthetic storage"
                    + " driver (StorVSC over VMBus to the parent's StorVSP), and an IDE disk through its ATA driver"
                    + " (port I/O to the emulated controller, by --mode pio, pio-multiple or dma, one request at a"
                    + " time; pattern and verify only):",
            "  pattern  writes a verifiable pattern across the disk (every sector holds its LBA and the seed),"
                    + " sequentially, --block-size per request, --queue-depth in flight;",
            "  verify   reads the disk back the same way and compares every sector with the pattern;",
            "  random   random requests of --block-size, --read-percent of them reads, the rest writes of the"
                    + " pattern, --count of them (or for --duration); reads are checked when verify is asked too.",
            "The phases given (comma-separated) run in that order, then the disk is flushed and the guest powers"
                    + " the VM off. Each phase reports IOPS, throughput, and the VMBus signals and interrupts each"
                    + " request cost; the run reports the port I/O intercepts per request (what the emulated IDE path"
                    + " costs) beside the VMBus signals per request (what the synthetic path costs).",
            "This process hosts the VM while it runs, as 'vhd vm start' does: Ctrl-C turns it off; 'vhd vm save'"
                    + " from another terminal saves it, and the same 'vhd vm run' later carries on from where it"
                    + " was. The pattern and random workloads write to the disk: its data is overwritten.",
            "Exit code 0 when every phase completed with no sector different and no request failed, 1 otherwise."},
        footerHeading = "%nExamples:%n",
        footer = {
            "  vhd vm run web                     # pattern,verify on the first SCSI disk",
            "  vhd vm run web --workload random --block-size 4K --queue-depth 32",
            "  vhd vm run web --workload pattern,verify,random --duration 10s",
            "  vhd vm run web --disk scsi:1:3 --span 256M --output json",
            "  vhd vm run web --disk ide:0:0 --mode pio --span 8M"})
final class VmRunCommand extends OneVmCommand {
    /** The workloads, in the order they run. */
    enum Phase {
        PATTERN, VERIFY, RANDOM
    }

    @Option(names = "--workload", paramLabel = "PHASES", split = ",", converter = PhaseConverter.class,
            description = "pattern, verify, random, or several comma-separated (default: pattern,verify).")
    List<Phase> phases = List.of(Phase.PATTERN, Phase.VERIFY);

    @Option(names = "--disk", paramLabel = "SLOT",
            description = "The disk to drive, as 'vhd vm show' lists it, e.g. scsi:0:1 or ide:0:0 (default: the first"
                    + " SCSI disk, else the first IDE disk).")
    String disk;

    @Option(names = "--block-size", paramLabel = "SIZE", converter = Size.Converter.class,
            description = "Bytes per request: a multiple of 512 up to 256K (default 64K).")
    long blockSize = 64 << 10;

    @Option(names = "--queue-depth", paramLabel = "N", description = "SCSI: requests in flight, 1 to 256 (default 8)."
            + " IDE has no queue: one request at a time.")
    Integer queueDepth;

    @Option(names = "--mode", paramLabel = "MODE", converter = ModeConverter.class,
            description = "IDE: how data moves, pio (one sector per interrupt), pio-multiple (16) or dma (bus-master"
                    + " DMA) (default dma).")
    IdeDriver.Mode mode;

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
    record Report(String name, String disk, String path, String mode, int blockSize, int queueDepth,
                  List<PhaseReport> phases, long requests, long intercepts, double interceptsPerRequest, long signals,
                  double signalsPerRequest, String state, String stopReason, boolean clean) {
    }

    @Override
    public Integer call() throws Exception {
        Set<Phase> chosen = new LinkedHashSet<>(phases);
        boolean random = chosen.contains(Phase.RANDOM);
        if (!random && (count != null || duration != null)) {
            throw new ParameterException(spec.commandLine(), "--count and --duration are for --workload random");
        }
        if (span != null && (span <= 0 || span % 512 != 0)) {
            throw CommandFailure.refused("--span must be a positive multiple of 512 bytes, not " + span);
        }
        long mixCount = !random ? 0 : count != null ? count : duration == null ? 10_000 : 0;
        int depth = queueDepth == null ? 8 : queueDepth;
        Duration mixDuration = random && duration != null ? duration : Duration.ZERO;
        return vm.execute(spec, session -> {
            VirtualMachine machine = session.vm(name);
            VmConfiguration config = machine.configuration();
            String what = "cannot run the workload on '" + machine.name() + "'";
            Attachment target = target(config, what);
            VmCommand.refuseMissingFiles(machine, what);
            boolean ide = target.slot().bus() == Slot.Bus.IDE;
            if (target.readOnly() && (chosen.contains(Phase.PATTERN) || random && readPercent < 100)) {
                throw CommandFailure.refused(what + ": " + target.slot() + " is attached read-only, and the"
                        + " workload would write to it; use --workload verify" + (ide ? "" : ", or --read-percent 100"));
            }
            Run run = ide ? ideRun(config, target, chosen, mixCount, mixDuration, what) : syntheticRun(config, target,
                    chosen, depth, mixCount, mixDuration, what);
            try {
                machine.start(run.program());
            } catch (VmException e) {
                throw VmCommand.failure(e);
            }
            int[] exit = {ExitCodes.OK};
            VmHost.Report report = () -> exit[0] = report(machine, target, run);
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
            Comparator<Attachment> scsiFirst = Comparator.comparing((Attachment a) -> a.slot().bus() != Slot.Bus.SCSI)
                    .thenComparing(Attachment::slot);
            return config.attachments().stream()
                    .filter(a -> a.kind() != Attachment.Kind.DVD)
                    .min(scsiFirst)
                    .orElseThrow(() -> CommandFailure.refused(what + ": it has no disk; attach one with 'vhd vm"
                            + " attach " + config.name() + " --controller scsi:0 --lun 0 DISK.vhd'"));
        }
        Slot slot;
        try {
            slot = VmSlotOptions.parse(disk.strip());
        } catch (VmConfigurationException e) {
            throw CommandFailure.refused("--disk: " + e.problem(), e);
        }
        Attachment a = config.attachment(slot).orElseThrow(() -> CommandFailure.refused(what + ": nothing is attached"
                + " at " + slot));
        if (a.kind() == Attachment.Kind.DVD) {
            throw CommandFailure.refused(what + ": " + slot + " is a DVD drive; the workload drives disks");
        }
        return a;
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

    /**
     * A workload about to run: the guest program, what the report says of it (the data path: "synthetic",
     * or the IDE transfer mode; bytes per request; requests in flight) and its reports so far.
     */
    private record Run(GuestProgram program, String mode, int blockSize, int queueDepth,
                       Supplier<List<Workload.Report>> reports) {
    }

    /** The built-in workload on a SCSI disk, through StorVSC and StorVSP. */
    private Run syntheticRun(VmConfiguration config, Attachment target, Set<Phase> chosen, int depth, long mixCount,
            Duration mixDuration, String what) throws CommandFailure {
        if (mode != null) {
            throw new ParameterException(spec.commandLine(), "--mode is for IDE disks; " + target.slot()
                    + " is on the synthetic SCSI path");
        }
        if (!config.integrationComponents()) {
            throw CommandFailure.refused(what + ": its integration components are off, and the workload drives"
                    + " the synthetic SCSI path, which needs them ('vhd vm set --integration on "
                    + config.name() + "')");
        }
        Workload.Plan plan;
        try {
            plan = new Workload.Plan(guestController(config, target.slot()), target.slot().unit(), 0,
                    span == null ? 0 : span / 512, seed, Math.toIntExact(Math.min(blockSize, Integer.MAX_VALUE)),
                    depth, chosen.contains(Phase.PATTERN), chosen.contains(Phase.VERIFY), readPercent,
                    mixCount, mixDuration, true);
        } catch (IllegalArgumentException e) {
            throw CommandFailure.refused(what + ": " + e.getMessage(), e);
        }
        if (plan.memoryNeeded() > config.memoryBytes()) {
            throw CommandFailure.refused(what + ": the workload needs " + Size.human(plan.memoryNeeded())
                    + " of guest memory for " + depth + " requests of " + Size.human(blockSize) + ", and '"
                    + config.name() + "' has " + Size.human(config.memoryBytes()) + " ('vhd vm set --memory ...')");
        }
        Workload workload = new Workload(plan);
        return new Run(workload, "synthetic", plan.blockSize(), plan.queueDepth(), workload::reports);
    }

    /** The IDE workload on an IDE disk, through the guest's ATA driver and the emulated controller. */
    private Run ideRun(VmConfiguration config, Attachment target, Set<Phase> chosen, long mixCount,
                       Duration mixDuration, String what) throws CommandFailure {
        if (queueDepth != null && queueDepth != 1) {
            throw new ParameterException(spec.commandLine(), "--queue-depth is for SCSI disks; IDE has no queue"
                    + " (one request at a time)");
        }
        IdeDriver.Mode how = mode == null ? IdeDriver.Mode.DMA : mode;
        IdeWorkload.Plan plan;
        try {
            plan = new IdeWorkload.Plan(target.slot().controller(), target.slot().unit(), how, 0,
                    span == null ? 0 : span / 512, Math.toIntExact(Math.min(blockSize, Integer.MAX_VALUE)), seed,
                    chosen.contains(Phase.PATTERN), chosen.contains(Phase.VERIFY), true, mixCount, readPercent,
                    mixDuration);
        } catch (IllegalArgumentException e) {
            throw CommandFailure.refused(what + ": " + e.getMessage(), e);
        }
        long needed = IdeWorkload.BUFFER + plan.blockSize();
        if (needed > config.memoryBytes()) {
            throw CommandFailure.refused(what + ": the workload needs " + Size.human(needed) + " of guest memory"
                    + " for requests of " + Size.human(blockSize) + ", and '" + config.name() + "' has "
                    + Size.human(config.memoryBytes()) + " ('vhd vm set --memory ...')");
        }
        IdeWorkload workload = new IdeWorkload(plan);
        return new Run(workload, ModeConverter.name(how), plan.blockSize(), 1, workload::reports);
    }

    private int report(VirtualMachine machine, Attachment target, Run run) {
        List<Workload.Report> reports = run.reports().get();
        long requests = reports.stream().mapToLong(Workload.Report::requests).sum();
        long intercepts = machine.intercepts();
        double perRequest = requests == 0 ? 0 : (double) intercepts / requests;
        long signals = reports.stream().mapToLong(Workload.Report::signalsToParent).sum();
        double signalsPerRequest = requests == 0 ? 0 : (double) signals / requests;
        String state = machine.state().toString();
        String stopReason = machine.lastStopReason().orElse(null);
        boolean finished = reports.stream().anyMatch(r -> r.phase().equals("flush"));
        boolean clean = finished && reports.stream().allMatch(Workload.Report::clean);
        PrintWriter out = spec.commandLine().getOut();
        if (output.json()) {
            Json.print(out, new Report(machine.name(), target.slot().toString(), target.path().toString(), run.mode(),
                    run.blockSize(), run.queueDepth(), reports.stream().map(PhaseReport::of).toList(), requests,
                    intercepts, perRequest, signals, signalsPerRequest, state, stopReason, clean));
        } else {
            out.println("Workload on " + target.slot() + " of '" + machine.name() + "' (" + target.path() + "): "
                    + Size.human(run.blockSize()) + " requests, " + (run.mode().equals("synthetic")
                    ? run.queueDepth() + " in flight" : "one at a time by " + run.mode().toUpperCase(Locale.ROOT)
                    + " (emulated IDE)"));
            int width = reports.stream().filter(r -> !r.phase().startsWith("failed"))
                    .mapToInt(r -> r.phase().length()).max().orElse(0) + 1;
            boolean synthetic = run.mode().equals("synthetic");
            for (Workload.Report r : reports) {
                out.println("  " + (r.phase().startsWith("failed") ? r.phase()
                        : String.format("%-" + width + "s ", r.phase() + ":") + describe(r, synthetic)));
            }
            // What each path costs: VMBus signals on the synthetic one (it has no intercepts), port I/O
            // intercepts on emulated IDE (it has no VMBus).
            out.println(synthetic
                    ? String.format(Locale.ROOT, "VMBus signals: %d for %d requests (%.3f per request)", signals, requests,
                            signalsPerRequest)
                    : String.format(Locale.ROOT, "Intercepts: %d for %d requests (%.3f per request)", intercepts,
                            requests, perRequest));
            out.println("'" + machine.name() + "' is " + state + (stopReason == null || stopReason.equals("saved")
                    || stopReason.equals("the guest powered off") ? "" : ": " + stopReason)
                    + (state.equals("Saved") ? "; 'vhd vm run' with the same options carries on from where it was" : ""));
        }
        out.flush();
        return clean ? ExitCodes.OK : ExitCodes.DIFFERENT;
    }

    /**
     * One phase: its requests and, when it moved data, bytes, IOPS and MiB/s (binary, as the sizes);
     * on the synthetic path the VMBus signals and interrupts per request, which IDE has not.
     */
    private static String describe(Workload.Report r, boolean synthetic) {
        double seconds = r.nanos() / 1e9;
        StringBuilder s = new StringBuilder(r.requests() + (r.requests() == 1 ? " request" : " requests"));
        if (r.bytes() > 0) {
            s.append(String.format(Locale.ROOT, ", %s in %.3f s: %.0f IOPS, %.1f MiB/s", Size.human(r.bytes()), seconds,
                    r.iops(), seconds == 0 ? 0 : r.bytes() / seconds / (1 << 20)));
        } else {
            s.append(String.format(Locale.ROOT, " in %.3f s", seconds));
        }
        if (synthetic) {
            s.append(String.format(Locale.ROOT, "; %.3f signals, %.3f interrupts per request", r.signalsPerRequest(),
                    r.interruptsPerRequest()));
        }
        if (r.mismatches() > 0) {
            s.append("; ").append(r.mismatches()).append(" sectors differ, the first at LBA ").append(r.firstMismatch());
        }
        if (r.failed() > 0) {
            s.append("; ").append(r.failed()).append(r.failed() == 1 ? " request" : " requests").append(" failed");
        }
        return s.toString();
    }

    /** Reads an IDE transfer mode: pio, pio-multiple or dma, in any case. */
    static final class ModeConverter implements CommandLine.ITypeConverter<IdeDriver.Mode> {
        /** The mode as the command line and the report write it. */
        static String name(IdeDriver.Mode mode) {
            return mode.name().toLowerCase(Locale.ROOT).replace('_', '-');
        }

        @Override
        public IdeDriver.Mode convert(String value) {
            for (IdeDriver.Mode m : IdeDriver.Mode.values()) {
                if (name(m).equalsIgnoreCase(value.strip())) {
                    return m;
                }
            }
            throw new CommandLine.TypeConversionException("'" + value + "' is not an IDE mode; use pio, pio-multiple"
                    + " or dma");
        }
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
