package org.vhdkit.cli.vm;

import java.io.PrintWriter;
import java.util.List;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.cli.conventions.Json;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmException;
import org.vhdkit.stack.vm.VmState;
import picocli.CommandLine.Command;

/**
 * {@code vhd vm delete}: removes a VM's folder (its configuration and any saved state), never its
 * disks. Refused unless the VM is Off or Saved. Prints what was removed and which files were kept;
 * with {@code --output json} one object: {@code name}, {@code id}, {@code folder} (removed),
 * {@code savedStateDiscarded} (boolean), {@code kept} (the attached files, untouched).
 */
@Command(name = "delete",
        description = {
            "Deletes a VM: its folder with its configuration and, if it is Saved, its saved state. The disks, ISO"
                    + " images and devices it had attached are kept as they are; the command lists them.",
            "Refused while the VM runs or is paused: stop it first. Crash-safe: the configuration is removed"
                    + " first, so an interrupted delete never leaves half a VM listed."},
        footerHeading = "%nExamples:%n",
        footer = {
            "  vhd vm delete web",
            "  vhd vm delete --output json web | jq -r '.kept[]'"})
final class VmDeleteCommand extends OneVmCommand {
    /** The JSON document. */
    record Deleted(String name, String id, String folder, boolean savedStateDiscarded, List<String> kept) {
    }

    @Override
    public Integer call() throws Exception {
        return vm.execute(spec, session -> {
            VirtualMachine machine = session.vm(name);
            boolean saved = machine.state() == VmState.SAVED;
            List<String> kept = machine.configuration().attachments().stream()
                    .map(Attachment::path).filter(p -> p != null).map(Object::toString).toList();
            try {
                session.hypervisor().delete(machine.name());
            } catch (VmException e) {
                throw VmCommand.failure(e);
            }
            Deleted d = new Deleted(machine.name(), machine.id().toString(), machine.folder().toString(), saved, kept);
            PrintWriter out = spec.commandLine().getOut();
            if (output.json()) {
                Json.print(out, d);
            } else {
                out.println("Deleted VM '" + d.name() + "' (" + d.folder() + ")" + (saved ? " and its saved state" : "")
                        + (kept.isEmpty() ? "" : "; its files are kept: " + String.join(", ", kept)));
            }
            out.flush();
            return ExitCodes.OK;
        });
    }
}
