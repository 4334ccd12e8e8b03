package org.vhdkit.export.fuse;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.cryptomator.jfuse.api.Fuse;
import org.cryptomator.jfuse.api.FuseBuilder;
import org.cryptomator.jfuse.api.FuseMountFailedException;
import org.vhdkit.vhd.disk.VirtualDisk;

/**
 * A disk mounted through FUSE as one regular file: the public entry of this package, behind
 * {@code vhd mount} and {@code vhd unmount}.
 *
 * <h2>What the mount shows</h2>
 * The mount point becomes a directory holding one file, {@link #file()}, whose bytes are the
 * disk's virtual contents and whose size is the disk's ({@code losetup} and {@code mount -o loop}
 * take it as it is). Reads and writes at any offset and of any length work; a write past the end is
 * refused with {@code ENOSPC} (the file never grows), a truncate to another size with {@code EPERM}
 * (so {@code dd} needs {@code conv=notrunc}). {@code fsync}, {@code fdatasync} and every close of the
 * file ({@code flush}) are a {@link VirtualDisk#flush} of the disk. Discard ({@code fallocate} punch
 * hole) is not offered: a VHD releases nothing (see {@code vhd serve}'s TRIM), and zeroing instead
 * would allocate. A read-only mount is mounted {@code ro} and its file is mode 0444.
 *
 * <p>An I/O error of the disk fails that one request with {@code EIO} and logs a line naming the
 * disk and the offset; the mount goes on.
 *
 * <h2>Mount and unmount</h2>
 * The mount is libfuse3's, through jfuse (FFM): type {@code fuse.vhd}, source
 * {@code vhd:PID:DISK} ({@link #SOURCE_PREFIX}, the serving process's id and the disk's name, as
 * {@code findmnt} shows it). The mount owns the disk from then on: it is unmounted by
 * {@link #close()}, or from outside ({@code fusermount3 -u}, {@code umount}, or {@link #unmount}),
 * which this object notices within {@value #WATCH_MILLIS} ms. Either way the requests in flight
 * finish, the disk is flushed and closed, and then {@link #awaitClosed} returns.
 *
 * <p>{@link #unmount} finds the serving process from the mount's source, unmounts, and waits until
 * that process has flushed and closed the disk: for another process, until it exits (the
 * {@code vhd mount} process exits once the disk is closed); for this process, until the mount's
 * {@link #awaitClosed} would return.
 *
 * <p>Thread-safety: every method may be called from any thread; closing is guarded by
 * {@link #closing}.
 */
public final class DiskMount implements Closeable {
    /** The start of the source of every mount made here: {@code vhd:PID:DISK}. */
    public static final String SOURCE_PREFIX = "vhd:";
    /** The file system type of every mount made here. */
    public static final String TYPE = "fuse.vhd";
    /** How often the mount table is looked at to notice an unmount from outside. */
    static final long WATCH_MILLIS = 100;

    /** Mounts of this process by mount point, for {@link #unmount} to wait on. */
    private static final Map<Path, DiskMount> MOUNTED = new ConcurrentHashMap<>();

    private final Fuse fuse;
    private final VirtualDisk disk;
    private final Path mountPoint;
    private final Path file;
    private final String source;
    private final boolean readOnly;
    private final Consumer<String> log;
    private final CountDownLatch closed = new CountDownLatch(1);
    private final Object closing = new Object();
    /** Guarded by {@link #closing}. */
    private boolean finished;
    /** Set when {@link #close()} starts, so that the watcher does not report its unmount as one from outside. */
    private volatile boolean closeCalled;
    /** Why flushing or closing the disk failed, once the mount has ended; null when it did not. */
    private volatile IOException failure;

    private DiskMount(Fuse fuse, VirtualDisk disk, Path mountPoint, String fileName, String source, boolean readOnly,
                      Consumer<String> log) {
        this.fuse = fuse;
        this.disk = disk;
        this.mountPoint = mountPoint;
        this.file = mountPoint.resolve(fileName);
        this.source = source;
        this.readOnly = readOnly;
        this.log = log;
    }

    /**
     * What {@link #unmount} did.
     *
     * @param pid    the process that served the mount
     * @param disk   the disk it served, as the mount's source names it
     * @param closed whether that process was seen to finish (false: it was gone already, killed
     *               perhaps, and the disk may not have been closed cleanly)
     */
    public record Unmounted(long pid, String disk, boolean closed) {
    }

    /**
     * Mounts {@code disk} at {@code mountPoint} as the file {@code fileName}, and takes it over: the
     * mount flushes and closes it when it ends. Returns once the mount is in place. On failure the
     * disk stays the caller's, open.
     *
     * @param readOnly whether writes are refused; always true when the disk is read-only
     * @param log      where I/O errors and the closing steps are reported, one line each (called from
     *                 any thread)
     * @throws IOException naming the mount point when it is missing, not a directory or already a
     *     mount point, or when FUSE cannot be used here (no {@code /dev/fuse}, no libfuse3, no
     *     {@code fusermount3} for a user other than root)
     */
    public static DiskMount mount(VirtualDisk disk, Path mountPoint, String fileName, boolean readOnly,
                                  Consumer<String> log) throws IOException {
        Objects.requireNonNull(disk, "disk");
        Objects.requireNonNull(log, "log");
        if (fileName.isEmpty() || fileName.contains("/") || fileName.equals(".") || fileName.equals("..")) {
            throw new IllegalArgumentException("not a file name: '" + fileName + "'");
        }
        boolean ro = readOnly || disk.isReadOnly();
        Path point = FuseHost.checkMountPoint(mountPoint);
        Path library = FuseHost.checkUsable();
        long pid = ProcessHandle.current().pid();
        String source = SOURCE_PREFIX + pid + ":" + absolute(disk.name());
        FuseBuilder builder;
        try {
            builder = Fuse.builder();
        } catch (UnsupportedOperationException e) {
            throw new IOException("FUSE mounts need Linux on x86-64 here (jfuse has no binding for "
                    + System.getProperty("os.name") + " " + System.getProperty("os.arch") + ")", e);
        }
        builder.setLibraryPath(library.toString());
        DiskFileSystem fs = new DiskFileSystem(disk, fileName, ro, builder.errno(), log, FuseHost.uid(),
                FuseHost.gid(), modified(disk));
        Fuse fuse;
        try {
            fuse = builder.build(fs);
        } catch (UnsatisfiedLinkError e) {
            throw new IOException(library + ": cannot load libfuse3: " + e.getMessage(), e);
        }
        String options = "fsname=" + escapeOption(source) + ",subtype=vhd,default_permissions" + (ro ? ",ro" : "");
        try {
            fuse.mount("vhd", point, "-o", options);
        } catch (FuseMountFailedException | IllegalArgumentException | IllegalStateException e) {
            closeQuietly(fuse);
            throw new IOException(point + ": cannot mount: " + e.getMessage()
                    + " (libfuse's own message, if any, is above)", e);
        }
        DiskMount m = new DiskMount(fuse, disk, point, fileName, source, ro, log);
        MOUNTED.put(point, m);
        Thread.ofVirtual().name("vhd-mount-watch").start(m::watch);
        return m;
    }

    /** The mount point (absolute, real). Thread-safe (immutable). */
    public Path mountPoint() {
        return mountPoint;
    }

    /** The disk's file in the mount. Thread-safe (immutable). */
    public Path file() {
        return file;
    }

    /** Whether writes are refused. Thread-safe (immutable). */
    public boolean readOnly() {
        return readOnly;
    }

    /** The mount's source as {@code findmnt} shows it: {@code vhd:PID:DISK}. Thread-safe (immutable). */
    public String source() {
        return source;
    }

    /**
     * Waits until the mount has ended and the disk is flushed and closed. Thread-safe.
     *
     * @throws IOException when flushing or closing the disk failed
     */
    public void awaitClosed() throws InterruptedException, IOException {
        closed.await();
        rethrow();
    }

    /**
     * {@link #awaitClosed()} for at most {@code timeout}; whether it ended. Thread-safe.
     *
     * @throws IOException when it ended and flushing or closing the disk failed
     */
    public boolean awaitClosed(Duration timeout) throws InterruptedException, IOException {
        boolean ended = closed.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
        if (ended) {
            rethrow();
        }
        return ended;
    }

    private void rethrow() throws IOException {
        IOException e = failure;
        if (e != null) {
            throw new IOException(e.getMessage(), e);
        }
    }

    /**
     * Unmounts (if still mounted), lets the requests in flight finish, flushes and closes the disk.
     * Idempotent; a second caller waits for the first. Thread-safe.
     *
     * @throws IOException when the disk's flush or close failed (it is closed as far as it could be)
     */
    @Override
    public void close() throws IOException {
        closeCalled = true;
        finish();
    }

    /**
     * Unmounts the {@code vhd mount} at {@code mountPoint} ({@code fusermount3 -u}) and waits at most
     * {@code timeout} until the process serving it has flushed and closed its disk. Thread-safe.
     *
     * @throws IOException naming the mount point when nothing is mounted there, when it is not a
     *     mount made here (another type), when {@code fusermount3} is missing or fails (busy: a
     *     program or a loop device still has the file open), or when the serving process is still
     *     at work after {@code timeout}
     */
    public static Unmounted unmount(Path mountPoint, Duration timeout) throws IOException, InterruptedException {
        Path resolved = FuseHost.resolved(mountPoint);
        Optional<MountTable.Entry> found = MountTable.at(resolved);
        if (found.isEmpty() && Files.isSymbolicLink(resolved)) {
            resolved = resolved.toRealPath();
            found = MountTable.at(resolved);
        }
        Path point = resolved;
        MountTable.Entry entry = found.orElseThrow(() ->
                new FileSystemException(point.toString(), null, "nothing is mounted there"));
        if (!entry.type().equals(TYPE) || !entry.source().startsWith(SOURCE_PREFIX)) {
            throw new FileSystemException(point.toString(), null, "is not a vhd mount (it is " + entry.type()
                    + " from " + entry.source() + "); unmount it with umount or fusermount3 -u");
        }
        String rest = entry.source().substring(SOURCE_PREFIX.length());
        int colon = rest.indexOf(':');
        long pid;
        try {
            pid = Long.parseLong(colon < 0 ? rest : rest.substring(0, colon));
        } catch (NumberFormatException e) {
            throw new FileSystemException(point.toString(), null, "its source '" + entry.source()
                    + "' does not name the serving process (vhd:PID:DISK)");
        }
        String diskName = colon < 0 ? "" : rest.substring(colon + 1);
        // Looked up before unmounting: once unmounted, the watcher may finish and drop the mount
        // from MOUNTED before this looks, and a failed close of its disk would go unreported.
        DiskMount own = pid == ProcessHandle.current().pid() ? MOUNTED.get(point) : null;
        FuseHost.fusermountUnmount(point);
        if (pid == ProcessHandle.current().pid()) {
            if (own != null && !own.awaitClosed(timeout)) {
                throw new IOException(point + ": unmounted, but " + diskName + " is still being flushed and closed"
                        + " after " + timeout.toSeconds() + " s");
            }
            return new Unmounted(pid, diskName, true);
        }
        Optional<ProcessHandle> serving = ProcessHandle.of(pid);
        if (serving.isEmpty()) {
            return new Unmounted(pid, diskName, false);
        }
        try {
            serving.get().onExit().get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            throw new IOException(point + ": unmounted, but the process serving it (" + pid + ") is still flushing"
                    + " and closing " + diskName + " after " + timeout.toSeconds() + " s; it goes on");
        } catch (ExecutionException e) {
            throw new IllegalStateException(e);
        }
        return new Unmounted(pid, diskName, true);
    }

    /** Looks at the mount table until the mount is gone, then finishes. */
    private void watch() {
        try {
            while (closed.getCount() > 0) {
                if (!mounted()) {
                    if (!closeCalled) {
                        log.accept(mountPoint + " was unmounted");
                    }
                    finish();
                    return;
                }
                Thread.sleep(WATCH_MILLIS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException | RuntimeException e) {
            log.accept(mountPoint + ": " + e.getMessage());
        }
    }

    /** Whether the mount is still in the mount table. */
    private boolean mounted() throws IOException {
        for (MountTable.Entry e : MountTable.read()) {
            if (e.mountPoint().equals(mountPoint) && e.source().equals(source) && e.type().equals(TYPE)) {
                return true;
            }
        }
        return false;
    }

    private void finish() throws IOException {
        synchronized (closing) {
            if (finished) {
                rethrow();
                return;
            }
            finished = true;
            try {
                fuse.close(); // unmounts if still mounted, waits for the requests in flight, then destroy
            } catch (TimeoutException e) {
                log.accept(mountPoint + ": the mount is still in use (a program or loop device has " + file
                        + " open); requests that still come get EIO");
            } catch (RuntimeException e) {
                log.accept(mountPoint + ": unmounting: " + e);
            }
            try {
                disk.close(); // flushes a writable disk
            } catch (IOException e) {
                failure = e;
                log.accept(disk.name() + ": closing: " + e.getMessage());
            } finally {
                MOUNTED.remove(mountPoint, this);
                closed.countDown();
            }
            rethrow();
        }
    }

    /** A disk's name as an absolute path when it is a file's, so that it means the same from anywhere. */
    private static String absolute(String name) {
        try {
            Path p = Path.of(name);
            return Files.exists(p) ? p.toAbsolutePath().normalize().toString() : name;
        } catch (RuntimeException e) {
            return name;
        }
    }

    private static Instant modified(VirtualDisk disk) {
        try {
            return Files.getLastModifiedTime(Path.of(disk.name())).toInstant();
        } catch (IOException | RuntimeException e) {
            return Instant.now();
        }
    }

    /** A value for libfuse's {@code -o}: backslash and comma escaped. */
    static String escapeOption(String value) {
        return value.replace("\\", "\\\\").replace(",", "\\,");
    }

    private static void closeQuietly(Fuse fuse) {
        try {
            fuse.close();
        } catch (TimeoutException | RuntimeException ignored) {
            // Never mounted: nothing to wait for.
        }
    }

    @Override
    public String toString() {
        return "DiskMount[" + disk.name() + " at " + file + (readOnly ? ", read-only" : "") + "]";
    }
}
