package org.vhdkit.cli.disk;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import org.vhdkit.cli.conventions.CommandFailure;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.export.fuse.DiskMount;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code vhd unmount}: ends a {@code vhd mount} ({@link DiskMount#unmount}) and returns once the
 * process that served it has flushed and closed the disk.
 *
 * <p>How it knows: every {@code vhd mount} is of type {@code fuse.vhd} with the source
 * {@code vhd:PID:DISK} (as {@code findmnt} shows it), PID being the serving process. After
 * {@code fusermount3 -u} that process finishes the requests in flight, flushes and closes the
 * disk, and exits; {@code vhd unmount} waits for it to exit.
 */
@Command(name = "unmount",
        description = {
            "Unmounts a 'vhd mount' (fusermount3 -u) and waits until the process serving it has flushed and closed"
                    + " the disk, so that the image is ready for 'vhd check' or a VM when it returns. The process is"
                    + " found in the mount's source, vhd:PID:DISK (findmnt MOUNTPOINT shows it).",
            "A mount that is busy (a loop device or a program still has its file open) is not unmounted: detach"
                    + " or close it first."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            " 0:unmounted; the disk was flushed and closed",
            "64:usage error",
            "74:nothing (or not a vhd mount) is mounted there, the mount is busy, fusermount3 is missing, the"
                    + " serving process had died before (the disk may not be clean: run vhd check), or it was"
                    + " still closing after --timeout"},
        footerHeading = "%nExamples:%n",
        footer = {"  vhd unmount /mnt/d"})
public final class UnmountCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "300",
            description = "How long to wait for the serving process to flush and close the disk (default ${DEFAULT-VALUE}).")
    long timeout;

    @Parameters(paramLabel = "MOUNTPOINT", description = "Where the disk is mounted.")
    Path mountPoint;

    @Override
    public Integer call() throws Exception {
        if (timeout <= 0) {
            throw new ParameterException(spec.commandLine(), "--timeout must be a positive number of seconds");
        }
        DiskMount.Unmounted u = DiskMount.unmount(mountPoint, Duration.ofSeconds(timeout));
        if (!u.closed()) {
            throw CommandFailure.io(mountPoint + ": unmounted, but the process that served it (" + u.pid() + ") had"
                    + " ended before: " + u.disk() + " may not have been flushed and closed cleanly; run 'vhd check "
                    + u.disk() + "'");
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println("Unmounted " + mountPoint.toAbsolutePath().normalize() + "; " + u.disk()
                + " is flushed and closed");
        out.flush();
        return ExitCodes.OK;
    }
}
