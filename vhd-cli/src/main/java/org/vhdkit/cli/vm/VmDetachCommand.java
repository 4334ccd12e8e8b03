package org.vhdkit.cli.vm;

import java.io.PrintWriter;
import org.vhdkit.cli.conventions.CommandFailure;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.cli.conventions.Json;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmConfiguration;
import org.vhdkit.stack.vm.VmException;
import org.vhdkit.stack.vm.VmState;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code vhd vm detach}: empties a controller slot; the file stays as it is. On a running VM it is a
 * hot remove, SCSI only ({@link VmHotPlug}). Output as {@code vhd vm attach}'s, for what was
 * detached.
 */
@Command(name = "detach",
        description = {
            "Detaches whatever is at a controller slot of a VM (and takes the slot out of the boot order). The"
                    + " file or device itself is kept.",
            "On a VM that is Off the configuration changes; on a running or paused VM a SCSI detach is a hot"
                    + " remove (the guest is told); IDE devices are removed only while the VM is Off. A Saved VM"
                    + " cannot be changed."},
        footerHeading = "%nExamples:%n",
        footer = {
            "  vhd vm detach web --controller scsi:0 --lun 1",
            "  vhd vm detach web --controller ide:1:0"})
final class VmDetachCommand extends OneVmCommand {
    @Mixin
    VmSlotOptions where;

    @Override
    public Integer call() throws Exception {
        Slot slot = where.slot(spec);
        return vm.execute(spec, session -> {
            VirtualMachine machine = session.vm(name);
            VmConfiguration config = machine.configuration();
            String what = "cannot detach " + slot + " of '" + machine.name() + "'";
            Attachment attached = config.attachment(slot).orElseThrow(() ->
                    CommandFailure.refused(what + ": nothing is attached there"));
            VmState state = machine.state();
            boolean hot = state == VmState.RUNNING || state == VmState.PAUSED;
            try {
                if (hot) {
                    VmAttachCommand.refuseIdeWhileRunning(slot, machine, state, what);
                    VmHotPlug.remove(machine, slot);
                } else {
                    VmAttachCommand.refuseSaved(machine, state, what);
                    machine.reconfigure(config.withoutAttachment(slot));
                }
            } catch (VmException e) {
                throw VmCommand.failure(e, what);
            }
            PrintWriter out = spec.commandLine().getOut();
            if (output.json()) {
                Json.print(out, VmAttachCommand.Change.of(machine.name(), attached, hot));
            } else {
                out.println((hot ? "Hot-removed " : "Detached ") + VmAttachCommand.describe(attached) + " from '"
                        + machine.name() + "' at " + slot + (attached.path() == null ? "" : "; the file is kept")
                        + (config.bootOrder().contains(slot) ? "; it is no longer in the boot order" : "")
                        + (hot ? "; the guest is told" : ""));
            }
            out.flush();
            return ExitCodes.OK;
        });
    }
}
