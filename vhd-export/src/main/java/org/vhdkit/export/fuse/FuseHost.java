package org.vhdkit.export.fuse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * What a FUSE mount needs of this machine, checked up front so that a refusal says what is wrong
 * (libfuse's own messages are terse): {@code /dev/fuse}, libfuse3, {@code fusermount3}, and a mount
 * point that is a directory and not already a mount point.
 *
 * <p>Thread-safety: stateless.
 */
final class FuseHost {
    static final Path DEV_FUSE = Path.of("/dev/fuse");
    private static final List<String> LIBRARY_DIRS = List.of("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu",
            "/usr/lib64", "/lib64", "/usr/local/lib", "/usr/lib", "/lib");
    private static final List<String> BIN_DIRS = List.of("/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin");
    private static final long FUSERMOUNT_SECONDS = 30;

    private FuseHost() {
    }

    /** {@code mountPoint} as a real, absolute path, or the refusal naming it. */
    static Path checkMountPoint(Path mountPoint) throws IOException {
        Path abs = resolved(mountPoint);
        Optional<MountTable.Entry> mounted = MountTable.at(abs);
        if (mounted.isPresent()) { // looked at first: a mount whose process died cannot even be stat'ed
            throw alreadyMounted(abs, mounted.get());
        }
        if (!Files.exists(abs, LinkOption.NOFOLLOW_LINKS) && !Files.exists(abs)) {
            throw new NoSuchFileException(abs.toString(), null, "no such directory to mount on");
        }
        if (!Files.isDirectory(abs)) {
            throw new FileSystemException(abs.toString(), null, "is not a directory: a mount point must be one");
        }
        Path real;
        try {
            real = abs.toRealPath();
        } catch (IOException e) {
            throw new FileSystemException(abs.toString(), null, "cannot be used as a mount point: " + e.getMessage());
        }
        Optional<MountTable.Entry> there = MountTable.at(real);
        if (there.isPresent()) {
            throw alreadyMounted(real, there.get());
        }
        return real;
    }

    private static FileSystemException alreadyMounted(Path point, MountTable.Entry e) {
        return new FileSystemException(point.toString(), null, "is already a mount point (" + e.type() + " from "
                + e.source() + ")" + (e.type().equals(DiskMount.TYPE) ? "; 'vhd unmount " + point + "' ends it" : ""));
    }

    /**
     * {@code path} absolute, with its folder's symbolic links resolved but not the last name, which
     * may be a mount whose serving process died (stat fails there: "transport endpoint is not
     * connected").
     */
    static Path resolved(Path path) {
        Path abs = path.toAbsolutePath().normalize();
        Path parent = abs.getParent();
        if (parent == null || abs.getFileName() == null) {
            return abs;
        }
        try {
            return parent.toRealPath().resolve(abs.getFileName());
        } catch (IOException e) {
            return abs;
        }
    }

    /** Refuses when FUSE cannot be used here; else libfuse3's file, for jfuse to load. */
    static Path checkUsable() throws IOException {
        if (!Files.exists(DEV_FUSE)) {
            throw new NoSuchFileException(DEV_FUSE.toString(), null, "missing: FUSE is not available here (load the"
                    + " fuse kernel module with 'modprobe fuse'; in a container, pass /dev/fuse in)");
        }
        if (!Files.isReadable(DEV_FUSE) || !Files.isWritable(DEV_FUSE)) {
            throw new FileSystemException(DEV_FUSE.toString(), null, "permission denied: this user cannot use FUSE");
        }
        Path library = library().orElseThrow(() -> new IOException("libfuse3 (libfuse3.so.3) is not installed:"
                + " install Debian's fuse3 package"));
        if (uid() != 0 && fusermount().isEmpty()) {
            throw new IOException("fusermount3 is not installed, and only root can mount without it: install"
                    + " Debian's fuse3 package");
        }
        return library;
    }

    /** libfuse3's shared object, where Debian and others put it. */
    static Optional<Path> library() {
        for (String dir : LIBRARY_DIRS) {
            Path p = Path.of(dir, "libfuse3.so.3");
            if (Files.isReadable(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    /** {@code fusermount3} on PATH or in the usual folders. */
    static Optional<Path> fusermount() {
        List<String> dirs = new ArrayList<>();
        String path = System.getenv("PATH");
        if (path != null) {
            dirs.addAll(List.of(path.split(":")));
        }
        dirs.addAll(BIN_DIRS);
        for (String dir : dirs) {
            if (!dir.isEmpty()) {
                Path p = Path.of(dir, "fusermount3");
                if (Files.isExecutable(p)) {
                    return Optional.of(p);
                }
            }
        }
        return Optional.empty();
    }

    /** Runs {@code fusermount3 -u mountPoint}; its message when it fails. */
    static void fusermountUnmount(Path mountPoint) throws IOException, InterruptedException {
        Path tool = fusermount().orElseThrow(() -> new IOException("fusermount3 is not installed: install Debian's"
                + " fuse3 package (or unmount " + mountPoint + " with umount as root)"));
        Process p = new ProcessBuilder(tool.toString(), "-u", mountPoint.toString())
                .redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(FUSERMOUNT_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(mountPoint + ": fusermount3 -u did not finish in " + FUSERMOUNT_SECONDS + " s");
        }
        if (p.exitValue() != 0) {
            String said = new String(out, StandardCharsets.UTF_8).strip();
            boolean busy = said.contains("busy");
            throw new FileSystemException(mountPoint.toString(), null, "cannot unmount: " + (said.isEmpty()
                    ? "fusermount3 -u failed with exit code " + p.exitValue() : said)
                    + (busy ? " (a program or a loop device still has the disk's file open: close it, or"
                            + " 'losetup -d' the loop device, and try again)" : ""));
        }
    }

    /** This process's user id: the owner of /proc/self. */
    static int uid() {
        return owner("unix:uid");
    }

    /** This process's group id. */
    static int gid() {
        return owner("unix:gid");
    }

    private static int owner(String attribute) {
        try {
            return (Integer) Files.getAttribute(Path.of("/proc/self"), attribute);
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }
}
