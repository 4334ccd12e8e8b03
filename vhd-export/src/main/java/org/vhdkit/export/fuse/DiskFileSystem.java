package org.vhdkit.export.fuse;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.EnumSet;
import java.util.Set;
import java.util.function.Consumer;
import org.cryptomator.jfuse.api.DirFiller;
import org.cryptomator.jfuse.api.Errno;
import org.cryptomator.jfuse.api.FileInfo;
import org.cryptomator.jfuse.api.FuseConfig;
import org.cryptomator.jfuse.api.FuseConnInfo;
import org.cryptomator.jfuse.api.FuseOperations;
import org.cryptomator.jfuse.api.Stat;
import org.cryptomator.jfuse.api.Statvfs;
import org.cryptomator.jfuse.api.TimeSpec;
import org.vhdkit.vhd.disk.VirtualDisk;

/**
 * The file system of a mount: a root directory holding one regular file, the disk's contents.
 *
 * <p>Every operation returns 0, a byte count or a negated errno, and never throws: libfuse calls it
 * through an FFM upcall, where an exception would end the JVM. An I/O error of the disk becomes
 * {@code -EIO} for that request (or {@code -ENOSPC} when a write found the image's file system full)
 * and a line in the log naming the disk and the offset.
 *
 * <p>Thread-safety: libfuse calls from several threads at once; the disk is thread-safe and
 * {@link #modified} is volatile.
 */
final class DiskFileSystem implements FuseOperations {
    /** Linux's numbers where jfuse's {@link Errno} has none (this package binds Linux's libfuse only). */
    static final int EPERM = 1;
    static final int ENOSPC = 28;
    /** What the stores' messages hold for ENOSPC: the JDK's text for the errno (see {@code ByteStore}). */
    private static final String NO_SPACE = "No space left on device";
    /** The largest write request asked for. */
    static final int MAX_WRITE = 1 << 20;

    private final VirtualDisk disk;
    private final String path;
    private final String fileName;
    private final boolean readOnly;
    private final Errno errno;
    private final Consumer<String> log;
    private final int uid;
    private final int gid;
    private final Instant mounted = Instant.now();
    private volatile Instant modified;

    DiskFileSystem(VirtualDisk disk, String fileName, boolean readOnly, Errno errno, Consumer<String> log, int uid,
                   int gid, Instant modified) {
        this.disk = disk;
        this.fileName = fileName;
        this.path = "/" + fileName;
        this.readOnly = readOnly;
        this.errno = errno;
        this.log = log;
        this.uid = uid;
        this.gid = gid;
        this.modified = modified;
    }

    @Override
    public Errno errno() {
        return errno;
    }

    @Override
    public Set<Operation> supportedOperations() {
        return EnumSet.of(Operation.INIT, Operation.DESTROY, Operation.GET_ATTR, Operation.OPEN_DIR,
                Operation.READ_DIR, Operation.RELEASE_DIR, Operation.FSYNCDIR, Operation.OPEN, Operation.READ,
                Operation.WRITE, Operation.FLUSH, Operation.FSYNC, Operation.RELEASE, Operation.TRUNCATE,
                Operation.UTIMENS, Operation.STATFS);
    }

    @Override
    public void init(FuseConnInfo conn, FuseConfig config) {
        // Writes of up to 1 MiB in one request (the kernel caps it at its max_pages); libfuse's
        // defaults otherwise: asynchronous reads, several requests at once.
        conn.setMaxWrite(MAX_WRITE);
    }

    @Override
    public int getattr(String p, Stat stat, FileInfo fi) {
        if (p.equals("/")) {
            stat.setMode(Stat.S_IFDIR | 0755);
            stat.setNLink((short) 2);
            stat.setSize(0);
        } else if (p.equals(path)) {
            stat.setMode(Stat.S_IFREG | (readOnly ? 0444 : 0644));
            stat.setNLink((short) 1);
            stat.setSize(disk.size());
        } else {
            return -errno.enoent();
        }
        stat.setUid(uid);
        stat.setGid(gid);
        Instant m = p.equals("/") ? mounted : modified;
        stat.mTime().set(m);
        stat.cTime().set(m);
        stat.aTime().set(m);
        return 0;
    }

    @Override
    public int opendir(String p, FileInfo fi) {
        return p.equals("/") ? 0 : p.equals(path) ? -errno.enotdir() : -errno.enoent();
    }

    @Override
    public int readdir(String p, DirFiller filler, long offset, FileInfo fi, int flags) {
        if (!p.equals("/")) {
            return -errno.enoent();
        }
        try {
            filler.fill(".");
            filler.fill("..");
            filler.fill(fileName);
            return 0;
        } catch (IOException e) {
            return -errno.enomem(); // the buffer is full: cannot happen with three names
        }
    }

    @Override
    public int releasedir(String p, FileInfo fi) {
        return 0;
    }

    @Override
    public int fsyncdir(String p, int datasync, FileInfo fi) {
        return 0;
    }

    @Override
    public int open(String p, FileInfo fi) {
        if (p.equals("/")) {
            return -errno.eisdir();
        }
        if (!p.equals(path)) {
            return -errno.enoent();
        }
        int access = fi.getFlags() & 3; // O_ACCMODE
        if (readOnly && access != 0) {
            return -errno.erofs();
        }
        return 0;
    }

    @Override
    public int read(String p, ByteBuffer buf, long size, long offset, FileInfo fi) {
        if (!p.equals(path)) {
            return -errno.eisdir();
        }
        if (offset < 0) {
            return -errno.einval();
        }
        long length = Math.min(size, Math.max(0, disk.size() - offset));
        if (length <= 0) {
            return 0;
        }
        try {
            disk.read(offset, MemorySegment.ofBuffer(buf), 0, length);
            return (int) length;
        } catch (IOException | RuntimeException e) {
            return failed("read", offset, length, e);
        }
    }

    @Override
    public int write(String p, ByteBuffer buf, long size, long offset, FileInfo fi) {
        if (!p.equals(path)) {
            return -errno.eisdir();
        }
        if (readOnly) {
            return -errno.erofs();
        }
        if (offset < 0) {
            return -errno.einval();
        }
        long length = Math.min(size, Math.max(0, disk.size() - offset));
        if (length <= 0) {
            return size == 0 ? 0 : -ENOSPC; // the disk does not grow
        }
        try {
            disk.write(offset, MemorySegment.ofBuffer(buf), 0, length);
            modified = Instant.now();
            return (int) length;
        } catch (IOException | RuntimeException e) {
            return failed("write", offset, length, e);
        }
    }

    /** Called on every close(2) of the file: a flush of the disk, as fsync. */
    @Override
    public int flush(String p, FileInfo fi) {
        return p.equals(path) ? flushDisk() : 0;
    }

    @Override
    public int fsync(String p, int datasync, FileInfo fi) {
        return p.equals(path) ? flushDisk() : 0;
    }

    @Override
    public int release(String p, FileInfo fi) {
        return 0;
    }

    /** The file has the disk's size, always: a truncate to it is a no-op, to any other size refused. */
    @Override
    public int truncate(String p, long size, FileInfo fi) {
        if (!p.equals(path)) {
            return -errno.eisdir();
        }
        if (readOnly) {
            return -errno.erofs();
        }
        return size == disk.size() ? 0 : -EPERM;
    }

    /** Taken and dropped, so that {@code touch} works: the file's times are the mount's. */
    @Override
    public int utimens(String p, TimeSpec atime, TimeSpec mtime, FileInfo fi) {
        return p.equals("/") || p.equals(path) ? 0 : -errno.enoent();
    }

    @Override
    public int statfs(String p, Statvfs statvfs) {
        statvfs.setBsize(4096);
        statvfs.setFrsize(4096);
        statvfs.setBlocks(disk.size() / 4096);
        statvfs.setBfree(0);
        statvfs.setBavail(0);
        statvfs.setNameMax(255);
        return 0;
    }

    /** Flushes the disk once more when libfuse tears the file system down (the mount's close flushes too). */
    @Override
    public void destroy() {
        if (!readOnly) {
            flushDisk();
        }
    }

    private int flushDisk() {
        if (readOnly) {
            return 0;
        }
        try {
            disk.flush();
            return 0;
        } catch (IOException | RuntimeException e) {
            return failed("flush", 0, disk.size(), e);
        }
    }

    private int failed(String what, long offset, long length, Exception e) {
        // A full file system under the image is the writer's to fix (free space, retry), as it would
        // be on a plain file: say so rather than EIO, which reads as a broken disk.
        boolean full = !what.equals("read") && e instanceof IOException && e.getMessage() != null
                && e.getMessage().contains(NO_SPACE);
        try {
            log.accept(disk.name() + ": " + what + " of " + length + " bytes at offset " + offset + " failed: "
                    + (e.getMessage() != null ? e.getMessage() : e.toString()) + (full ? " (answered ENOSPC)" : " (answered EIO)"));
        } catch (RuntimeException ignored) {
            // The log must not take the mount down either.
        }
        return full ? -ENOSPC : -errno.eio();
    }
}
