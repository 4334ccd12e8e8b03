package org.vhdkit.cli.disk;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.vhdkit.cli.conventions.Json;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.cli.conventions.FileArguments;
import org.vhdkit.cli.conventions.Size;
import org.vhdkit.stack.scsi.CdRom;
import org.vhdkit.stack.scsi.LogicalUnit;
import org.vhdkit.stack.scsi.ScsiDisk;
import org.vhdkit.stack.scsi.ScsiTarget;
import org.vhdkit.stack.vhostuser.VhostUserScsi;
import org.vhdkit.vhd.DiskImage;
import org.vhdkit.vhd.disk.VirtualDisk;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/**
 * {@code vhd serve --vhost-user-scsi SOCKET DISK...}: the disks as the LUNs of one virtio-scsi
 * controller, served to qemu's {@code vhost-user-scsi-pci} device ({@link VhostUserScsi}), until
 * Ctrl-C or SIGTERM. Each DISK is {@code PATH} (read-write unless --read-only), {@code ro:PATH}
 * (read-only) or {@code dvd:PATH} (an ISO image in a DVD drive); they take LUNs 0, 1, 2... in the
 * order given.
 *
 * <p>Stdout gets one "ready" report once the socket listens (with {@code --output json}, one line:
 * {@code {"socket", "luns": [{lun, path, kind, size, readOnly}]}}); stderr gets the backend's log.
 */
final class VhostUserScsiServe {
    /** A LUN in the ready line. */
    record ReadyLun(int lun, String path, String kind, long size, boolean readOnly) {
    }

    /** The ready line. */
    record Ready(String socket, List<ReadyLun> luns) {
    }

    /** One DISK argument. */
    record Lun(String kind, Path path) {
    }

    private VhostUserScsiServe() {
    }

    /** Runs the command; returns the exit code. */
    static int run(CommandSpec spec, boolean json, Path socket, List<String> disks, boolean readOnly)
            throws Exception {
        List<Lun> luns = parse(spec, disks);
        PrintWriter err = spec.commandLine().getErr();
        List<VirtualDisk> opened = new ArrayList<>();
        List<ReadyLun> ready = new ArrayList<>();
        VhostUserScsi backend;
        try {
            ScsiTarget target = new ScsiTarget("vhost-user-scsi " + socket.getFileName(), VhostUserScsi.MAX_LUNS);
            for (int i = 0; i < luns.size(); i++) {
                Lun l = luns.get(i);
                FileArguments.checkNotDirectory(l.path());
                boolean ro = readOnly || !l.kind().equals("disk");
                VirtualDisk disk;
                try {
                    disk = ro ? DiskImage.openReadOnly(l.path()) : DiskImage.open(l.path(), false);
                } catch (IOException e) {
                    throw FileArguments.naming(l.path(), e);
                }
                opened.add(disk);
                LogicalUnit unit;
                if (l.kind().equals("dvd")) {
                    CdRom dvd = new CdRom(l.path().getFileName().toString(), ejected -> { });
                    try {
                        dvd.insert(disk);
                    } catch (IllegalArgumentException e) {
                        throw new ParameterException(spec.commandLine(), "dvd:" + l.path() + ": " + e.getMessage());
                    }
                    unit = dvd;
                } else {
                    UUID id = UUID.nameUUIDFromBytes(l.path().toAbsolutePath().toString()
                            .getBytes(StandardCharsets.UTF_8));
                    try {
                        unit = ScsiDisk.of(disk, ScsiDisk.Settings.of(id).withReadOnly(ro));
                    } catch (IllegalArgumentException e) {
                        throw new ParameterException(spec.commandLine(), l.path() + ": " + e.getMessage());
                    }
                }
                target.attach(i, unit);
                ready.add(new ReadyLun(i, l.path().toString(), l.kind().equals("dvd") ? "dvd"
                        : DiskArguments.type(disk) + " disk", disk.size(), ro));
            }
            if (Files.exists(socket)) {
                throw new java.nio.file.FileAlreadyExistsException(socket.toString(), null,
                        "already exists; remove it or choose another");
            }
            backend = VhostUserScsi.start(socket, target, VhostUserScsi.Options.defaults(),
                    line -> ServeCommand.log(err, line));
        } catch (IOException | RuntimeException e) {
            ServeCommand.closeAll(opened, err);
            throw e;
        }
        Thread stop = Thread.ofPlatform().name("vhd-serve-stop").unstarted(() -> {
            ServeCommand.log(err, "stopping: finishing requests in flight, flushing and closing the images");
            try {
                backend.close();
            } catch (IOException e) {
                ServeCommand.log(err, "stopping: " + e.getMessage());
            }
            ServeCommand.closeAll(opened, err);
            ServeCommand.log(err, "stopped");
        });
        Runtime.getRuntime().addShutdownHook(stop);
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            Json.printLine(out, new Ready(backend.socket().toString(), ready));
        } else {
            out.println("Serving vhost-user-scsi on unix socket " + backend.socket() + "; Ctrl-C stops");
            for (ReadyLun l : ready) {
                out.println("  LUN " + l.lun() + "  " + Size.describe(l.size()) + "  " + l.kind()
                        + (l.readOnly() ? "  read-only" : "  read-write") + "  " + l.path());
            }
            out.println("  qemu: -object memory-backend-memfd,id=mem,size=RAM,share=on -machine memory-backend=mem"
                    + " -chardev socket,id=vus,path=" + backend.socket() + " -device vhost-user-scsi-pci,chardev=vus");
        }
        out.flush();
        backend.awaitTermination();
        return ExitCodes.OK;
    }

    private static List<Lun> parse(CommandSpec spec, List<String> disks) {
        if (disks.size() > VhostUserScsi.MAX_LUNS) {
            throw new ParameterException(spec.commandLine(), disks.size() + " disks; one controller has at most "
                    + VhostUserScsi.MAX_LUNS + " LUNs");
        }
        List<Lun> luns = new ArrayList<>();
        for (String arg : disks) {
            if (arg.startsWith("ro:") && !Files.exists(Path.of(arg))) {
                luns.add(new Lun("ro", Path.of(arg.substring(3))));
            } else if (arg.startsWith("dvd:") && !Files.exists(Path.of(arg))) {
                luns.add(new Lun("dvd", Path.of(arg.substring(4))));
            } else {
                luns.add(new Lun("disk", Path.of(arg)));
            }
        }
        return luns;
    }
}
