package org.vhdkit.stack.vm;

import java.nio.file.Path;
import org.vhdkit.vhd.io.Libc;

/**
 * Where a sparse file has holes, asked of the file system with {@code lseek(SEEK_DATA)} on a
 * descriptor of its own (Linux, through vhd-core's {@link Libc}), so that a saved memory file's
 * holes need not be read: reading a hole fills the page cache with zeros, 1 s for an idle 512 MiB
 * VM's memory.bin. Where it cannot be asked (no {@link Libc}, the open fails) every range counts as
 * data and is read.
 *
 * <p>Thread-safety: one thread at a time; {@link #close()} once.
 */
final class FileHoles implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(FileHoles.class.getName());

    private final Libc libc;
    private final int fd;

    private FileHoles(Libc libc, int fd) {
        this.libc = libc;
        this.fd = fd;
    }

    /** Asks about {@code file}; never fails (where it cannot ask, nothing is a hole). */
    static FileHoles of(Path file) {
        return of(file, Libc.system().orElse(null));
    }

    /** As {@link #of(Path)}, through {@code libc} (null: there is none). */
    static FileHoles of(Path file, Libc libc) {
        if (libc == null) {
            return new FileHoles(null, -1);
        }
        Libc.Result opened = libc.open(file.toAbsolutePath().toString(), Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        return new FileHoles(libc, opened.failed() ? -1 : opened.intValue());
    }

    /** Whether {@code [offset, offset + length)} is wholly a hole (reads as zeros); false if unknown. */
    boolean hole(long offset, long length) {
        if (fd < 0) {
            return false;
        }
        Libc.Result data = libc.lseek(fd, offset, Libc.SEEK_DATA);
        return data.failed() ? data.errno() == Libc.ENXIO : data.value() - offset >= length;
    }

    @Override
    public void close() {
        if (fd >= 0) {
            Libc.Result closed = libc.close(fd);
            if (closed.failed()) {
                LOG.log(System.Logger.Level.WARNING, "closing descriptor {0} failed with errno {1}", fd,
                        closed.errno());
            }
        }
    }
}
