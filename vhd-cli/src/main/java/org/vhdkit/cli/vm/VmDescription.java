package org.vhdkit.cli.vm;

import java.io.PrintWriter;
import java.util.List;
import org.vhdkit.cli.conventions.AlignedLines;
import org.vhdkit.cli.conventions.Size;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.GuestEngine;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmConfiguration;

/**
 * A VM as {@code vhd vm show} and {@code vhd vm list} give it, and its JSON:
 * <pre>
 * name                   the VM's name
 * id                     its UUID, also the name of its folder
 * state                  "Off", "Running", "Paused", "Saved" (or, for a moment, "Starting", "Saving", "Stopping")
 * memory                 guest memory in bytes
 * processors             virtual processors
 * integrationComponents  boolean
 * attachments            [{slot ("ide:C:D" or "scsi:N:L"), kind ("disk", "dvd", "passthrough"),
 *                          path (null for an empty DVD drive), readOnly}], in slot order
 * bootOrder              [slot]: the IDE slots the BIOS tries, in order
 * folder                 the VM's folder
 * lastStopReason         why it last stopped, when it ran in the hosting process; otherwise null
 * hostPid                the process hosting the folder, when there is one; otherwise null
 * engine                 {kind ("programs" or "qemu"), accel ("auto", "kvm", "tcg"), kernel, initrd, append
 *                          (null when not set)}
 * </pre>
 */
record VmDescription(String name, String id, String state, long memory, int processors,
                     boolean integrationComponents, List<Item> attachments, List<String> bootOrder, String folder,
                     String lastStopReason, Long hostPid, Engine engine) {

    /** The engine in the JSON. */
    record Engine(String kind, String accel, String kernel, String initrd, String append) {
        static Engine of(GuestEngine e) {
            return new Engine(e.kind().label(), e.accel().label(), e.kernel() == null ? null : e.kernel().toString(),
                    e.initrd() == null ? null : e.initrd().toString(), e.append());
        }
    }

    /** One attachment in the JSON. */
    record Item(String slot, String kind, String path, boolean readOnly) {
        static Item of(Attachment a) {
            return new Item(a.slot().toString(), a.kind().label(), a.path() == null ? null : a.path().toString(),
                    a.readOnly());
        }
    }

    /** {@code vm} as it is now; {@code hosted} when this process hosts the folder. */
    static VmDescription of(VirtualMachine vm, boolean hosted) {
        VmConfiguration c = vm.configuration();
        return new VmDescription(c.name(), c.id().toString(), vm.state().toString(), c.memoryBytes(), c.processors(),
                c.integrationComponents(),
                c.attachments().stream().sorted((a, b) -> a.slot().compareTo(b.slot())).map(Item::of).toList(),
                c.bootOrder().stream().map(Slot::toString).toList(), vm.folder().toString(),
                vm.lastStopReason().orElse(null), hosted ? ProcessHandle.current().pid() : null,
                Engine.of(c.engine()));
    }

    private String engineLine() {
        if (engine.kind().equals("programs")) {
            return "programs";
        }
        return "qemu, accel " + engine.accel() + (engine.kernel() == null ? ", BIOS boot" : ", kernel " + engine.kernel()
                + (engine.initrd() == null ? "" : ", initrd " + engine.initrd())
                + (engine.append() == null ? "" : ", append '" + engine.append() + "'"));
    }

    /** The lines of {@code vhd vm show}. */
    void print(PrintWriter out) {
        AlignedLines lines = new AlignedLines()
                .add("Name", name)
                .add("Id", id)
                .add("State", state + (lastStopReason != null && state.equals("Off") ? " (" + lastStopReason + ")" : ""))
                .add("Memory", Size.describe(memory))
                .add("Processors", processors)
                .add("Integration", integrationComponents ? "on" : "off")
                .add("Engine", engineLine())
                .add("Boot order", bootOrder.isEmpty() ? "(none)" : String.join(", ", bootOrder))
                .add("Folder", folder);
        if (hostPid != null) {
            lines.add("Hosted by", "process " + hostPid);
        }
        lines.add("Attachments", attachments.isEmpty() ? "none" : attachments.size());
        lines.print(out);
        int slotWidth = attachments.stream().mapToInt(a -> a.slot().length()).max().orElse(0);
        for (Item a : attachments) {
            out.println(String.format("  %-" + slotWidth + "s  %-11s  %s%s", a.slot(), a.kind(),
                    a.path() == null ? "(empty)" : a.path(), a.readOnly() && !a.kind().equals("dvd") ? "  read-only" : ""));
        }
    }

    /** The table of {@code vhd vm list}: a heading, then name, state, memory, processors and attachments per VM. */
    static void printTable(PrintWriter out, List<VmDescription> vms) {
        int nameWidth = Math.max(4, vms.stream().mapToInt(v -> v.name().length()).max().orElse(0));
        String format = "%-" + nameWidth + "s  %-8s  %10s  %4s  %8s%n";
        out.printf(format, "NAME", "STATE", "MEMORY", "CPUS", "ATTACHED");
        for (VmDescription v : vms) {
            out.printf(format, v.name(), v.state(), Size.human(v.memory()), v.processors(), v.attachments().size());
        }
    }
}
