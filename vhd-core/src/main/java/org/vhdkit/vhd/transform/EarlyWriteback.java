package org.vhdkit.vhd.transform;

import java.nio.file.Path;
import org.vhdkit.vhd.io.Libc;

/**
 * Starts the host's writeback of a staged file while it is still being written, so that the force
 * before the rename finds little left to write: the disk writes one piece while the next is copied,
 * as it would not before the force (measured on a 1 GiB conversion, the force took about 1 s of a
 * 2-3 s run). Every {@value #EVERY} bytes written it asks Linux to start writing back the file's
 * dirty pages ({@code sync_file_range(SYNC_FILE_RANGE_WRITE)} on a read-only descriptor of its
 * own), which returns without waiting and promises nothing: the force and the rename after it are
 * what make the file durable and visible, as before.
 *
 * <p>Where the C library cannot be called, the file cannot be opened or the call fails, it does
 * nothing: the force then writes everything, as it did before. On a host with POSIX record locks
 * only (no open file description locks), closing this descriptor drops the process's lock on the
 * staged file, as closing {@code MappedByteStore}'s own descriptor does; no one else knows the
 * staged file's name, and the target is replaced by a rename, not through a lock.
 *
 * <p>Thread-safety: not thread-safe; one per conversion, used by the thread that writes.
 */
final class EarlyWriteback implements AutoCloseable {
    /** How many bytes are written between two requests for writeback. */
    static final long EVERY = 32L << 20;
    private static final int NONE = -1;

    private final Libc libc;
    private int fd;
    private long sinceLast;

    private EarlyWriteback(Libc libc, int fd) {
        this.libc = libc;
        this.fd = fd;
    }

    /** Writeback for the file at {@code path}, which exists; does nothing where it cannot. */
    static EarlyWriteback of(Path path) {
        Libc libc = Libc.system().orElse(null);
        if (libc == null) {
            return new EarlyWriteback(null, NONE);
        }
        Libc.Result opened = libc.open(path.toAbsolutePath().toString(), Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        return new EarlyWriteback(libc, opened.failed() ? NONE : opened.intValue());
    }

    /** Counts {@code bytes} more written; each {@value #EVERY} bytes, starts writeback of the file. */
    void wrote(long bytes) {
        sinceLast += bytes;
        if (sinceLast >= EVERY && fd != NONE) {
            sinceLast = 0;
            if (libc.syncFileRange(fd, 0, 0, Libc.SYNC_FILE_RANGE_WRITE) < 0) {
                close(); // not supported here (a file system without it): write on without
            }
        }
    }

    @Override
    public void close() {
        if (fd != NONE) {
            libc.close(fd);
            fd = NONE;
        }
    }
}
