package org.vhdkit.cli.vm;

import org.vhdkit.stack.qemu.QemuEngine;
import org.vhdkit.stack.storage.SyntheticStorage;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmException;

/**
 * Hot add and remove of SCSI disks on a running or paused VM, for {@code vhd vm attach} and
 * {@code detach}, through the synthetic storage ({@link SyntheticStorage}): the disk is opened or
 * closed, the guest is told, and the VM's configuration records the change; for a real guest
 * through its qemu worker's vhost-user-scsi backend ({@link QemuEngine}). The callers have
 * refused IDE slots already.
 */
final class VmHotPlug {
    private VmHotPlug() {
    }

    /** Adds {@code attachment} (a SCSI slot) to the running {@code vm}; the guest is told. */
    static void add(VirtualMachine vm, Attachment attachment) throws VmException {
        if (vm.process().isPresent()) {
            QemuEngine.hotAdd(vm, attachment);
        } else {
            SyntheticStorage.hotAdd(vm, attachment);
        }
    }

    /** Removes what is at {@code slot} (a SCSI slot) from the running {@code vm}; the guest is told. */
    static void remove(VirtualMachine vm, Slot slot) throws VmException {
        if (vm.process().isPresent()) {
            QemuEngine.hotRemove(vm, slot);
        } else {
            SyntheticStorage.hotRemove(vm, slot);
        }
    }
}
