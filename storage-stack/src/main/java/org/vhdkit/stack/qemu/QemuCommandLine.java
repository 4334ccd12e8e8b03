package org.vhdkit.stack.qemu;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.vhdkit.stack.protocol.qmp.QmpMessage;
import org.vhdkit.stack.vm.GuestEngine;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VmConfiguration;

/**
 * The command line of one VM's qemu-system-x86_64: machine {@code pc} (i440FX, PIIX3 IDE), no default
 * devices, no user configuration, no display; memory from a shared memfd (vhost-user backends map
 * it); QMP and the serial console on private Unix sockets (the console also logged, appended, into
 * the VM's folder); IDE drives from NBD sockets ({@code ide-hd}/{@code ide-cd} at their bus and
 * unit, the boot order as {@code bootindex}); one {@code vhost-user-scsi-pci} per SCSI controller in
 * use, at a PCI slot fixed by its number ({@link #scsiDevice}); a direct kernel boot when configured. It names no disk file: qemu opens no VHD itself. The
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
            StringBuilder device = new StringBuilder();
            scsiDevice(c.number()).forEach((k, v) -> device.append(k.equals("driver") ? v : "," + k + "=" + v));
            w.addAll(List.of("-chardev", "socket,id=" + scsiChardev(c.number()) + ",path=" + option(c.socket()),
                    "-device", device.toString()));
        }
        w.add("-S");
        if (incoming) {
            w.addAll(List.of("-incoming", "defer"));
        }
        return w;
    }

    /** The first PCI slot of the SCSI controllers: controller n sits at slot {@code 0x10 + n}. */
    static final int SCSI_FIRST_SLOT = 0x10;

    /**
     * The device of SCSI controller {@code n}, property by property ({@code driver} first): the same
     * on the command line and in a hot add's {@code device_add}, at a PCI address fixed by the
     * controller's number, since a saved state loads only into a qemu whose devices sit where they
     * sat when it was saved, whether the controller was there at the start or hot added.
     */
    static Map<String, String> scsiDevice(int n) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("driver", "vhost-user-scsi-pci");
        p.put("id", scsiId(n));
        p.put("chardev", scsiChardev(n));
        p.put("addr", "0x" + Integer.toHexString(SCSI_FIRST_SLOT + n));
        return p;
    }

    /** qemu's device id of SCSI controller {@code n}. */
    static String scsiId(int n) {
        return "scsi" + n;
    }

    /** qemu's id of the socket to the vhost-user backend of SCSI controller {@code n}. */
    static String scsiChardev(int n) {
        return "vhost-scsi" + n;
    }

    /** The arguments of the {@code device_add} that hot adds SCSI controller {@code n}: {@link #scsiDevice}. */
    static ObjectNode scsiDeviceAdd(int n) {
        ObjectNode args = QmpMessage.arguments();
        scsiDevice(n).forEach(args::put);
        return args;
    }

    /**
     * The arguments of the {@code chardev-add} before it: a client socket to the controller's backend
     * at {@code socket}, as {@code -chardev socket,path=} makes at a start.
     */
    static ObjectNode scsiChardevAdd(int n, Path socket) {
        ObjectNode args = QmpMessage.arguments();
        args.put("id", scsiChardev(n));
        ObjectNode backend = args.putObject("backend");
        backend.put("type", "socket");
        ObjectNode data = backend.putObject("data");
        ObjectNode addr = data.putObject("addr");
        addr.put("type", "unix");
        addr.putObject("data").put("path", socket.toString());
        data.put("server", false);
        return args;
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
