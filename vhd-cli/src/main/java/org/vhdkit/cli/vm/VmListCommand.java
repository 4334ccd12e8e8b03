package org.vhdkit.cli.vm;

import java.io.PrintWriter;
import java.util.List;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.cli.conventions.Json;
import picocli.CommandLine.Command;

/**
 * {@code vhd vm list}: the VMs of the folder, by name. With {@code --output json} one object:
 * {@code root} (the folder), {@code vms} (each as {@link VmDescription}), {@code problems} (VM
 * folders that could not be read, one line each; those VMs are left alone and not listed).
 */
@Command(name = "list",
        description = {
            "Lists the VMs of the folder with their state, memory, processors and how many drives are attached.",
            "A VM folder that cannot be read (a damaged configuration) is reported as a warning and left alone."},
        footerHeading = "%nExamples:%n",
        footer = {
            "  vhd vm list",
            "  vhd vm list -o json | jq -r '.vms[] | select(.state == \"Running\").name'"})
final class VmListCommand extends VmSubcommand {
    /** The JSON document. */
    record Listing(String root, List<VmDescription> vms, List<String> problems) {
    }

    @Override
    public Integer call() throws Exception {
        return vm.execute(spec, session -> {
            boolean hosted = session.host().isPresent();
            List<VmDescription> vms = session.hypervisor().virtualMachines().stream()
                    .map(m -> VmDescription.of(m, hosted)).toList();
            List<String> problems = session.hypervisor().problems();
            PrintWriter out = spec.commandLine().getOut();
            if (output.json()) {
                Json.print(out, new Listing(session.hypervisor().root().toString(), vms, problems));
            } else {
                if (vms.isEmpty()) {
                    out.println("No VMs in " + session.hypervisor().root());
                } else {
                    VmDescription.printTable(out, vms);
                }
                PrintWriter err = spec.commandLine().getErr();
                problems.forEach(p -> err.println("vhd: warning: " + p));
                err.flush();
            }
            out.flush();
            return ExitCodes.OK;
        });
    }
}
