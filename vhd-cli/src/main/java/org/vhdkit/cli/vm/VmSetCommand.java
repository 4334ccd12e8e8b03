package org.vhdkit.cli.vm;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.vhdkit.cli.conventions.CommandFailure;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.cli.conventions.Json;
import org.vhdkit.cli.conventions.Size;
import org.vhdkit.stack.vm.GuestEngine;
import org.vhdkit.stack.vm.HyperVLimits;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmConfiguration;
import org.vhdkit.stack.vm.VmConfigurationException;
import org.vhdkit.stack.vm.VmException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * {@code vhd vm set}: changes a VM's settings (Set-VM): memory, processors, integration components,
 * boot order, name. Refused unless the VM is Off. Prints what changed, or with {@code --output json}
 * one object: {@code name}, {@code changed} (the settings that changed, by their JSON names),
 * {@code before} and {@code after} ({@link VmDescription}).
 */
@Command(name = "set",
        description = {
            "Changes a VM's settings: memory, processors, integration components, boot order, name. Only while"
                    + " it is Off (Hyper-V allows no change to these while a VM runs, is paused or saved).",
            "Limits as for 'vhd vm create'. The boot order lists IDE slots only: the BIOS of a generation-1 VM"
                    + " cannot boot from SCSI.",
            "The configuration is replaced atomically (a new file renamed over the old)."},
        footerHeading = "%nExamples:%n",
        footer = {
            "  vhd vm set --memory 2G --processors 2 web",
            "  vhd vm set --integration off legacy",
            "  vhd vm set --boot ide:1:0,ide:0:0 web   # DVD first, then the disk",
            "  vhd vm set --boot none web",
            "  vhd vm set --rename web2 web",
            "  vhd vm set --engine qemu --accel tcg web",
            "  vhd vm set --kernel none web            # boot through the BIOS again"})
final class VmSetCommand extends OneVmCommand {
    @Option(names = "--memory", paramLabel = "SIZE", converter = Size.Converter.class,
            description = "Guest memory, e.g. 1G.")
    Long memory;

    @Option(names = "--processors", paramLabel = "N", description = "Virtual processors, 1 to "
            + HyperVLimits.MAX_VIRTUAL_PROCESSORS + ".")
    Integer processors;

    @Option(names = "--integration", paramLabel = "on|off", arity = "1", converter = OnOff.class,
            completionCandidates = OnOff.Names.class,
            description = "Integration components on or off.")
    Boolean integration;

    @Option(names = "--boot", paramLabel = "SLOTS",
            description = "The boot order: IDE slots separated by commas, e.g. ide:0:0,ide:1:0; or none.")
    String boot;

    @Option(names = "--rename", paramLabel = "NEW-NAME", description = "A new name, unique in the folder.")
    String rename;

    @Mixin
    VmEngineOptions engine = new VmEngineOptions();

    /** The JSON document. */
    record Changes(String name, List<String> changed, VmDescription before, VmDescription after) {
    }

    @Override
    public Integer call() throws Exception {
        if (memory == null && processors == null && integration == null && boot == null && rename == null
                && !engine.given()) {
            throw new ParameterException(spec.commandLine(), "nothing to set; give --memory, --processors,"
                    + " --integration, --boot, --rename, --engine, --kernel, --initrd, --append or --accel");
        }
        return vm.execute(spec, session -> {
            VirtualMachine machine = session.vm(name);
            boolean hosted = session.host().isPresent();
            VmDescription before = VmDescription.of(machine, hosted);
            VmConfiguration old = machine.configuration();
            VmConfiguration next = old;
            List<String> changed = new ArrayList<>();
            List<String> words = new ArrayList<>();
            if (rename != null && !rename.equals(old.name())) {
                next = next.withName(rename);
                changed.add("name");
                words.add("name '" + old.name() + "' -> '" + rename + "'");
            }
            if (memory != null && memory != old.memoryBytes()) {
                next = next.withMemoryBytes(memory);
                changed.add("memory");
                words.add("memory " + Size.human(old.memoryBytes()) + " -> " + Size.human(memory));
            }
            if (processors != null && processors != old.processors()) {
                next = next.withProcessors(processors);
                changed.add("processors");
                words.add("processors " + old.processors() + " -> " + processors);
            }
            if (integration != null && integration != old.integrationComponents()) {
                next = next.withIntegrationComponents(integration);
                changed.add("integrationComponents");
                words.add("integration components " + (integration ? "on" : "off"));
            }
            if (boot != null) {
                List<Slot> order = bootOrder(boot);
                if (!order.equals(old.bootOrder())) {
                    next = next.withBootOrder(order);
                    changed.add("bootOrder");
                    words.add("boot order " + (order.isEmpty() ? "none"
                            : String.join(", ", order.stream().map(Slot::toString).toList())));
                }
            }
            if (engine.given()) {
                List<String> engineChanges = new ArrayList<>();
                GuestEngine e = engine.apply(old.engine(), engineChanges);
                engine.check(spec, e);
                if (!engineChanges.isEmpty()) {
                    next = next.withEngine(e);
                    changed.addAll(engineChanges);
                    words.add("engine " + VmEngineOptions.describe(e));
                }
            }
            if (!changed.isEmpty()) {
                try {
                    machine.reconfigure(next);
                } catch (VmException e) {
                    throw VmCommand.failure(e, "cannot set " + String.join(", ", changed) + " of '" + old.name() + "'");
                }
            }
            PrintWriter out = spec.commandLine().getOut();
            if (output.json()) {
                Json.print(out, new Changes(machine.name(), changed, before, VmDescription.of(machine, hosted)));
            } else if (changed.isEmpty()) {
                out.println("'" + old.name() + "' already has these settings; nothing changed");
            } else {
                out.println("Set " + String.join(", ", words) + " of '" + machine.name() + "'");
            }
            out.flush();
            return ExitCodes.OK;
        });
    }

    /** The slots of {@code --boot}: comma-separated, or {@code none}. */
    private List<Slot> bootOrder(String text) throws CommandFailure {
        if (text.strip().equalsIgnoreCase("none")) {
            return List.of();
        }
        List<Slot> order = new ArrayList<>();
        for (String part : text.split(",", -1)) {
            try {
                order.add(VmSlotOptions.parse(part.strip()));
            } catch (VmConfigurationException e) {
                throw CommandFailure.refused("--boot: " + e.problem(), e);
            }
        }
        return order;
    }

    /** Reads {@code on} or {@code off} (also true/false, yes/no), in any case. */
    static final class OnOff implements CommandLine.ITypeConverter<Boolean> {
        @Override
        public Boolean convert(String value) {
            return switch (value.toLowerCase(Locale.ROOT)) {
                case "on", "true", "yes" -> true;
                case "off", "false", "no" -> false;
                default -> throw new CommandLine.TypeConversionException("'" + value + "' is neither on nor off");
            };
        }

        /** The names shell completion offers. */
        static final class Names implements Iterable<String> {
            @Override
            public java.util.Iterator<String> iterator() {
                return List.of("on", "off").iterator();
            }
        }
    }
}
