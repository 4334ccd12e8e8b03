package org.vhdkit.cli.vm;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.vhdkit.cli.conventions.CommandFailure;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VmConfiguration;
import org.vhdkit.vhd.VhdDisk;

/**
 * The files of a VM's disk chains: each disk and its parents. A file may be in a VM's chains once,
 * as a disk or as a parent: a VM opens each chain for itself, and a file opened twice in one process
 * is refused ("in use by this process"), so a VM that has one twice can never start.
 *
 * <p>Thread-safety: stateless.
 */
final class DiskChains {
    private DiskChains() {
    }

    /**
     * The files of the chain from {@code top} down, each as its real path; empty when the chain
     * cannot be followed (a missing or locked file: other checks say so).
     */
    static List<Path> of(Path top) {
        List<Path> files = new ArrayList<>();
        try (VhdDisk disk = org.vhdkit.vhd.Vhd.openReadOnly(top)) {
            for (Optional<VhdDisk> layer = Optional.of(disk); layer.isPresent(); layer = layer.get().parent()) {
                files.add(layer.get().path().toRealPath());
            }
        } catch (IOException e) {
            return List.of();
        }
        return files;
    }

    /** For each file in more than one of {@code config}'s disk chains, the slots of those disks, in order. */
    static Map<Path, List<Slot>> shared(VmConfiguration config) {
        Map<Path, List<Slot>> slots = new LinkedHashMap<>();
        for (Attachment a : config.attachments()) {
            if (a.kind() == Attachment.Kind.DISK) {
                of(a.path()).forEach(f -> slots.computeIfAbsent(f, k -> new ArrayList<>()).add(a.slot()));
            }
        }
        slots.values().removeIf(s -> s.size() < 2);
        return slots;
    }

    /**
     * Refuses the disk {@code added} when a file of its chain is in the chain of a disk {@code config}
     * has attached already.
     */
    static void refuseShared(VmConfiguration config, Attachment added, String what) throws CommandFailure {
        List<Path> chain = of(added.path());
        for (Attachment a : config.attachments()) {
            if (a.kind() != Attachment.Kind.DISK) {
                continue;
            }
            List<Path> other = of(a.path());
            for (Path file : chain) {
                if (other.contains(file)) {
                    throw CommandFailure.refused(what + ": " + file + " is already in the chain of the disk at "
                            + a.slot() + " (" + a.path() + "); a file can be in a VM's disks once, as a disk or as"
                            + " a parent");
                }
            }
        }
    }
}
