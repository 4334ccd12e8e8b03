package org.vhdkit.cli.vm;

import java.io.PrintWriter;
import java.util.ArrayList;
import org.vhdkit.stack.vm.GuestEngine;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.cli.conventions.Json;
import org.vhdkit.cli.conventions.Size;
import org.vhdkit.stack.vm.HyperVLimits;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmConfiguration;
import org.vhdkit.stack.vm.VmException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code vhd vm create}: a new VM, Off, with nothing attached. Prints one line, or with
 * {@code --output json} the VM as {@code vhd vm show} gives it ({@link VmDescription}).
 */
@Command(name = "create",
        description = {
            "Creates a VM: a folder under --vm-root holding its configuration. It is Off and has nothing attached;"
                    + " 'vhd vm attach' adds disks.",
            "Limits (Hyper-V, Server 2008 R2): memory 8 MiB to 64 GiB in whole 4 KiB pages; 1 to "
                    + HyperVLimits.MAX_VIRTUAL_PROCESSORS + " processors; a name of up to "
                    + HyperVLimits.MAX_NAME_LENGTH + " characters, unique in the folder (case aside)."},
        footerHeading = "%nExamples:%n",
        footer = {
            "  vhd vm create web",
            "  vhd vm create --memory 2G --processors 2 db",
            "  vhd vm create --no-integration --memory 64M legacy   # emulated devices only",
            "  vhd vm create --engine qemu --memory 1G debian         # a real guest, booting from IDE",
            "  vhd vm create --engine qemu --kernel vmlinuz --initrd initrd.img --append console=ttyS0 tiny"})
final class VmCreateCommand extends VmSubcommand {
    /** Hyper-V's default for a new VM. */
    static final long DEFAULT_MEMORY = 512L << 20;

    @Option(names = "--memory", paramLabel = "SIZE", converter = Size.Converter.class,
            description = "Guest memory, e.g. 512M (the default) or 2G.")
    long memory = DEFAULT_MEMORY;

    @Option(names = "--processors", paramLabel = "N", description = "Virtual processors, 1 (the default) to "
            + HyperVLimits.MAX_VIRTUAL_PROCESSORS + ".")
    int processors = 1;

    @Option(names = "--no-integration", description = "Without integration components: no shutdown service and no"
            + " synthetic devices for the guest (a legacy guest uses emulated IDE only).")
    boolean noIntegration;

    @Mixin
    VmEngineOptions engine = new VmEngineOptions();

    @Parameters(paramLabel = "NAME", description = "The new VM's name.")
    String name;

    @Override
    public Integer call() throws Exception {
        GuestEngine chosen = engine.apply(GuestEngine.PROGRAMS, new ArrayList<>());
        engine.check(spec, chosen);
        VmConfiguration config = VmConfiguration.create(name, memory, processors)
                .withIntegrationComponents(!noIntegration).withEngine(chosen);
        return vm.execute(spec, session -> {
            VirtualMachine created;
            try {
                created = session.hypervisor().create(config);
            } catch (VmException e) {
                throw VmCommand.failure(e, "cannot create '" + name + "'");
            }
            PrintWriter out = spec.commandLine().getOut();
            VmDescription d = VmDescription.of(created, session.host().isPresent());
            if (output.json()) {
                Json.print(out, d);
            } else {
                out.println("Created VM '" + d.name() + "': " + Size.human(d.memory()) + ", " + d.processors()
                        + (d.processors() == 1 ? " processor" : " processors") + ", integration components "
                        + (d.integrationComponents() ? "on" : "off") + (d.engine().kind().equals("programs") ? ""
                        : ", engine " + d.engine().kind()) + "; folder " + d.folder());
            }
            out.flush();
            return ExitCodes.OK;
        });
    }
}
