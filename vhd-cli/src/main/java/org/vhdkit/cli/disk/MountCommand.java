package org.vhdkit.cli.disk;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.concurrent.Callable;
import org.vhdkit.cli.conventions.Json;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.cli.conventions.OutputOption;
import org.vhdkit.cli.conventions.Size;
import org.vhdkit.export.fuse.DiskMount;
import org.vhdkit.vhd.disk.VirtualDisk;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code vhd mount}: a disk as one file in a FUSE mount ({@link DiskMount}), in the foreground
 * until it is unmounted ({@code vhd unmount}, {@code fusermount3 -u}) or the process gets Ctrl-C or
 * SIGTERM; either way the disk is flushed and closed before the process exits.
 *
 * <p>Stdout gets one "ready" report once the mount is in place (with {@code --output json}, one
 * line: {@code {"mountPoint", "file", "disk", "size", "readOnly", "pid"}}); stderr gets the log.
 */
@Command(name = "mount",
        customSynopsis = {
            "vhd mount [-r] [--output=FORMAT] DISK MOUNTPOINT",
            "vhd mount [-r] [--output=FORMAT] --vm NAME [--controller SLOT [--lun L]] [--snapshot S]"
                    + " [--vm-root DIR] MOUNTPOINT"},
        description = {
            "Mounts a disk's contents as one file, MOUNTPOINT/" + MountCommand.FILE + ", through FUSE, so that"
                    + " losetup, mount -o loop, dd, or any program can read and write it. The file's size is the"
                    + " disk's; fsync on it (and every close of it) flushes the disk.",
            "DISK is a VHD (fixed, dynamic, or differencing with its parents) or a raw image; or, with --vm, a VM's"
                    + " disk or (with --snapshot, read-only) its layer in a snapshot. Read-write unless --read-only.",
            "Runs in the foreground until unmounted: 'vhd unmount MOUNTPOINT' (or fusermount3 -u), Ctrl-C or"
                    + " SIGTERM. Then requests in flight finish and the disk is flushed and closed, so that"
                    + " 'vhd check' finds it clean. Detach loop devices and close the file first: a busy mount"
                    + " cannot be unmounted.",
            "A request the disk fails (an I/O error of its file) gets EIO, and a line on stderr names the disk and"
                    + " the offset; the mount goes on. Writes past the end get ENOSPC; truncating the file to"
                    + " another size EPERM (dd needs conv=notrunc); discard is not offered."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            " 0:unmounted; the disk was flushed and closed",
            "64:usage error",
            "65:refused: an unknown VM, snapshot or slot, a disk that is not an image",
            "74:I/O error: the disk or the mount point missing or unusable, FUSE not available here (no /dev/fuse,"
                    + " no libfuse3 or fusermount3: Debian's fuse3), a disk in use by another process",
            "130:stopped by Ctrl-C (143: SIGTERM), after flushing and closing the disk"},
        footerHeading = "%nExamples:%n",
        footer = {
            "  vhd mount disk.vhd /mnt/d &              # /mnt/d/" + MountCommand.FILE,
            "  losetup -f --show -P /mnt/d/" + MountCommand.FILE,
            "  vhd mount --read-only --vm web --controller scsi:0 --lun 1 /mnt/w",
            "  vhd mount --vm web --snapshot before-upgrade /mnt/s",
            "  vhd unmount /mnt/d"})
public final class MountCommand implements Callable<Integer> {
    /** The name of the disk's file in the mount. */
    static final String FILE = "disk";

    @Spec
    CommandSpec spec;

    @Mixin
    OutputOption output;

    @Mixin
    DiskSource source;

    @Option(names = {"-r", "--read-only"}, description = "Refuse writes (the mount is read-only).")
    boolean readOnly;

    @Parameters(paramLabel = "DISK MOUNTPOINT", arity = "1..2",
            description = "The image and the directory to mount on (only the directory with --vm).")
    List<Path> args;

    /** The ready line. */
    record Ready(String mountPoint, String file, String disk, long size, boolean readOnly, long pid) {
    }

    @Override
    public Integer call() throws Exception {
        source.check(spec);
        if (args.size() != (source.isVm() ? 1 : 2)) {
            throw new ParameterException(spec.commandLine(), source.isVm()
                    ? "with --vm give only MOUNTPOINT" : "give DISK and MOUNTPOINT");
        }
        Path mountPoint = args.getLast();
        VirtualDisk disk;
        String description;
        if (source.isVm()) {
            DiskSource.Opened opened = source.openVm(spec, readOnly);
            disk = opened.disk();
            description = opened.description();
        } else {
            disk = DiskSource.openFile(args.getFirst(), readOnly);
            description = DiskArguments.type(disk) + " disk " + args.getFirst();
        }
        PrintWriter err = spec.commandLine().getErr();
        DiskMount mount;
        try {
            mount = DiskMount.mount(disk, mountPoint, FILE, readOnly, line -> log(err, line));
        } catch (IOException | RuntimeException e) {
            disk.close();
            throw e;
        }
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("vhd-mount-stop").unstarted(() -> {
            try {
                if (mount.awaitClosed(Duration.ZERO)) {
                    return; // unmounted from outside: done already
                }
                log(err, "stopping: unmounting, flushing and closing " + disk.name());
                mount.close();
                log(err, "stopped");
            } catch (IOException e) {
                log(err, "stopping: " + e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        ready(mount, disk, description);
        mount.awaitClosed();
        log(err, disk.name() + " flushed and closed");
        return ExitCodes.OK;
    }

    private void ready(DiskMount mount, VirtualDisk disk, String description) throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        if (output.json()) {
            Json.printLine(out, new Ready(mount.mountPoint().toString(),
                    mount.file().toString(), disk.name(), disk.size(), mount.readOnly(), ProcessHandle.current().pid()));
        } else {
            out.println("Mounted " + description + " (" + Size.describe(disk.size()) + ", "
                    + (mount.readOnly() ? "read-only" : "read-write") + ") as " + mount.file());
            out.println("  'vhd unmount " + mount.mountPoint() + "' or Ctrl-C unmounts it");
        }
        out.flush();
    }

    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss");

    private static void log(PrintWriter err, String line) {
        synchronized (err) {
            err.println("vhd mount " + LocalTime.now().format(TIME) + ": " + line);
            err.flush();
        }
    }
}
