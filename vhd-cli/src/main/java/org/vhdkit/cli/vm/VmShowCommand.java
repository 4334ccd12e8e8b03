package org.vhdkit.cli.vm;

import java.io.PrintWriter;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.cli.conventions.Json;
import picocli.CommandLine.Command;

/**
 * {@code vhd vm show}: one VM's configuration, state and attachments; with {@code --output json}
 * one object as {@link VmDescription} describes.
 */
@Command(name = "show",
        description = "Shows a VM: its id, state, memory, processors, integration components, boot order, folder"
                + " and what is attached at each controller slot.",
        footerHeading = "%nExamples:%n",
        footer = {
            "  vhd vm show web",
            "  vhd vm show --output json web | jq -r '.attachments[].path'"})
final class VmShowCommand extends OneVmCommand {
    @Override
    public Integer call() throws Exception {
        return vm.execute(spec, session -> {
            VmDescription d = VmDescription.of(session.vm(name), session.host().isPresent());
            PrintWriter out = spec.commandLine().getOut();
            if (output.json()) {
                Json.print(out, d);
            } else {
                d.print(out);
            }
            out.flush();
            return ExitCodes.OK;
        });
    }
}
