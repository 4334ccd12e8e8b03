package org.vhdkit.stack.qemu;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.vhdkit.stack.vm.GuestEngine;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VmConfiguration;

/**
 * The command line of one VM's qemu-system-x86_64: machine {@code pc} (i440FX, PIIX3 IDE), no default
 * devices, no user configuration, no display; memory from a shared memfd (vhost-user backends map
 * it); QMP and the serial console on private Unix sockets (the console also logged, appended, into
 * the VM's folder); IDE drives from NBD sockets ({@code ide-hd}/{@code ide-cd} at their bus and
 * unit, the boot order as {@code bootindex}); one {@code vhost-user-scsi-pci} per SCSI controller in
 * use; a direct kernel boot when configured. It names no disk file: qemu opens no VHD itself. The
 * guest starts paused ({@code -S}), or waits for its saved state ({@code -incoming defer}).
 *
 * <p>Immutable; thread-safe.
 */
record QemuCommandLine(Path qemu, VmConfiguration config, boolean kvm, Path runDir, Path consoleLog,
                       List<ServedStorage.IdeDrive> ide, List<ServedStorage.ScsiController> scsi, boolean incoming) {

    QemuCommandLine {
        ide = List.copyOf(ide);
        scsi = List.copyOf(scsi);
    }

    static final String QMP_SOCKET = "qmp.sock";
    static final String CONSOLE_SOCKET = "console.sock";

    /** The words, program first. */
    List<String> words() {
        long mib = config.memoryBytes() >> 20;
        String size = (config.memoryBytes() % (1L << 20) == 0) ? mib + "M" : (config.memoryBytes() >> 10) + "K";
        List<String> w = new ArrayList<>(List.of(qemu.toString(),
                "-name", "vhdkit-" + config.id(),
                "-machine", "pc,memory-backend=ram",
                "-accel", kvm ? "kvm" : "tcg",
                "-nodefaults", "-no-user-config", "-display", "none",
                "-m", size,
                "-smp", Integer.toString(config.processors()),
                "-object", "memory-backend-memfd,id=ram,share=on,size=" + size,
                "-chardev", "socket,id=qmp,path=" + option(runDir.resolve(QMP_SOCKET)) + ",server=on,wait=off",
                "-mon", "chardev=qmp,mode=control",
                "-chardev", "socket,id=console,path=" + option(runDir.resolve(CONSOLE_SOCKET))
                        + ",server=on,wait=off,logfile=" + option(consoleLog) + ",logappend=on",
                "-serial", "chardev:console"));
        GuestEngine engine = config.engine();
        if (engine.kernel() != null) {
            w.addAll(List.of("-kernel", engine.kernel().toString()));
            if (engine.initrd() != null) {
                w.addAll(List.of("-initrd", engine.initrd().toString()));
            }
            if (engine.append() != null) {
                w.addAll(List.of("-append", engine.append()));
            }
        }
        List<Slot> boot = config.bootOrder();
        for (ServedStorage.IdeDrive d : ide) {
            String id = d.id();
            String device = (d.dvd() ? "ide-cd" : "ide-hd") + ",id=" + id + ",bus=ide." + d.slot().controller()
                    + ",unit=" + d.slot().unit();
            if (d.socket().isPresent()) {
                w.addAll(List.of("-blockdev", blockdev(id, d.socket().get(), d.dvd())));
                device += ",drive=" + id;
            }
            int index = boot.indexOf(d.slot());
            if (index >= 0) {
                device += ",bootindex=" + index;
            }
            w.addAll(List.of("-device", device));
        }
        for (ServedStorage.ScsiController c : scsi) {
            w.addAll(List.of("-chardev", "socket,id=vhost-scsi" + c.number() + ",path=" + option(c.socket()),
                    "-device", "vhost-user-scsi-pci,id=scsi" + c.number() + ",chardev=vhost-scsi" + c.number()));
        }
        w.add("-S");
        if (incoming) {
            w.addAll(List.of("-incoming", "defer"));
        }
        return w;
    }

    /** The {@code -blockdev} of an IDE drive's medium: NBD on its socket, read-only for a DVD. */
    static String blockdev(String node, Path socket, boolean readOnly) {
        return "driver=nbd,node-name=" + node + ",server.type=unix,server.path=" + option(socket) + ",export="
                + ServedStorage.EXPORT + (readOnly ? ",read-only=on" : "");
    }

    /** A value inside a qemu option list: commas doubled. */
    static String option(Path p) {
        return p.toString().replace(",", ",,");
    }
}
