package org.vhdkit.vhd.io;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.List;

/**
 * An image lock of Linux's open-file-description kind ({@code F_OFD_SETLK}), taken on a descriptor
 * of its own through the foreign function interface, in the byte-range protocol qemu uses, so that
 * vhdkit and qemu (qemu-img, qemu-io, a running VM) see each other's opens.
 *
 * <h2>The protocol</h2>
 * Permission bit n of an open is shown by a shared lock on byte 100 + n while the opener uses it,
 * and on byte 200 + n while it refuses to share it; before going ahead an opener looks for locks of
 * others on the bytes that conflict. Bits: 0 consistent read, 1 write, 2 write-unchanged, 3 resize.
 * <ul>
 *   <li>A reader uses consistent read (byte 100) and refuses to share write (byte 201); it is
 *       refused when someone writes (101) or refuses to share reading (200).</li>
 *   <li>A writer uses and refuses to share all four (bytes 100-103 and 200-203); it is refused when
 *       anyone holds any of them.</li>
 * </ul>
 * So readers share with readers, and a writer is alone, among vhdkit's opens and qemu's alike.
 *
 * <p>Why not {@link java.nio.channels.FileChannel#tryLock}: the JDK takes classic POSIX record
 * locks, which belong to the process and are dropped when <em>any</em> descriptor of the file is
 * closed in it, so a library user who merely reads the image with {@code Files.readAllBytes} while
 * it is open would silently release the writer's lock. An OFD lock belongs to its own descriptor
 * and lasts until that is closed. It conflicts with POSIX and OFD locks of other processes
 * (qemu-img, for one, takes OFD locks on images it opens).
 *
 * <p>Where the host is not Linux, or the call is not permitted ({@code --enable-native-access} not
 * given and native access denied), or the file system refuses OFD locks, {@link #tryAcquire} says
 * so with an empty result and the caller falls back to the JDK's lock.
 *
 * <p>Thread-safety: {@link #close()} once; the class's handles are immutable and shared.
 */
final class OfdLock implements AutoCloseable {
    private static final short F_RDLCK = 0;
    private static final short F_WRLCK = 1;
    private static final short F_UNLCK = 2;
    /** qemu's lock bytes: 100 + permission bit while used, 200 + bit while not shared. */
    private static final long USED = 100;
    private static final long UNSHARED = 200;
    private static final long CONSISTENT_READ = 0;
    private static final long WRITE = 1;
    private static final long PERMISSIONS = 4;

    /** struct flock on 64-bit Linux: short l_type, short l_whence, off_t l_start, off_t l_len, pid_t l_pid. */
    private static final StructLayout FLOCK = MemoryLayout.structLayout(
            ValueLayout.JAVA_SHORT.withName("l_type"),
            ValueLayout.JAVA_SHORT.withName("l_whence"),
            MemoryLayout.paddingLayout(4),
            ValueLayout.JAVA_LONG.withName("l_start"),
            ValueLayout.JAVA_LONG.withName("l_len"),
            ValueLayout.JAVA_INT.withName("l_pid"),
            MemoryLayout.paddingLayout(4));
    // Fields read and written at their offsets: a layout's path VarHandle is generated code, made
    // at class initialisation, which a quick command paid for at every start (BENCHMARKS.md, Start-up).
    private static final long L_TYPE = offset("l_type");
    private static final long L_START = offset("l_start");
    private static final long L_LEN = offset("l_len");
    private static final long L_PID = offset("l_pid");

    private static final Libc LIBC = Libc.system().orElse(null);

    private final int fd;

    private static long offset(String field) {
        return FLOCK.byteOffset(MemoryLayout.PathElement.groupElement(field));
    }

    private OfdLock(int fd) {
        this.fd = fd;
    }

    /** The outcome of trying: a lock, "held by someone else", or "cannot lock this way". */
    sealed interface Attempt {
        record Locked(OfdLock lock) implements Attempt {
        }

        /**
         * Someone holds a conflicting lock: the kernel names the holder's pid for a POSIX lock
         * (this process's own among them) and gives -1 for an OFD lock, whose holder it does not know.
         */
        record Held(long pid) implements Attempt {
        }

        record Unsupported(String why) implements Attempt {
        }
    }

    /** A byte range: {@code length} bytes from {@code start}. */
    private record Range(long start, long length) {
    }

    /**
     * Tries to lock {@code path} for reading (shared with other readers) or for writing (alone).
     * Never waits.
     */
    static Attempt tryAcquire(Path path, boolean exclusive) throws IOException {
        if (LIBC == null) {
            return new Attempt.Unsupported("not Linux, or native access is not enabled");
        }
        List<Range> hold = exclusive
                ? List.of(new Range(USED, PERMISSIONS), new Range(UNSHARED, PERMISSIONS))
                : List.of(new Range(USED + CONSISTENT_READ, 1), new Range(UNSHARED + WRITE, 1));
        List<Range> mustBeFree = exclusive
                ? List.of(new Range(USED, PERMISSIONS), new Range(UNSHARED, PERMISSIONS))
                : List.of(new Range(USED + WRITE, 1), new Range(UNSHARED + CONSISTENT_READ, 1));
        Libc.Result opened = LIBC.open(path.toAbsolutePath().toString(),
                (exclusive ? Libc.O_RDWR : Libc.O_RDONLY) | Libc.O_CLOEXEC, 0);
        if (opened.failed()) {
            return new Attempt.Unsupported("open failed with errno " + opened.errno());
        }
        int fd = opened.intValue();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment flock = arena.allocate(FLOCK);
            Attempt outcome = null;
            for (Range range : hold) {
                setRange(flock, F_RDLCK, range);
                Libc.Result set = LIBC.fcntl(fd, Libc.F_OFD_SETLK, flock);
                if (set.failed()) {
                    outcome = set.errno() == Libc.EAGAIN || set.errno() == Libc.EACCES
                            ? new Attempt.Held(holder(fd, flock, range))
                            : new Attempt.Unsupported("fcntl(F_OFD_SETLK) failed with errno " + set.errno());
                    break;
                }
            }
            for (int i = 0; outcome == null && i < mustBeFree.size(); i++) {
                // Would a write lock on the range conflict? Then someone else holds part of it.
                setRange(flock, F_WRLCK, mustBeFree.get(i));
                Libc.Result get = LIBC.fcntl(fd, Libc.F_OFD_GETLK, flock);
                if (get.failed()) {
                    outcome = new Attempt.Unsupported("fcntl(F_OFD_GETLK) failed with errno " + get.errno());
                } else if (flock.get(ValueLayout.JAVA_SHORT, L_TYPE) != F_UNLCK) {
                    outcome = new Attempt.Held(flock.get(ValueLayout.JAVA_INT, L_PID));
                }
            }
            if (outcome != null) {
                LIBC.close(fd);
                return outcome;
            }
            return new Attempt.Locked(new OfdLock(fd));
        } catch (RuntimeException | Error e) {
            LIBC.close(fd);
            throw e;
        }
    }

    /**
     * Makes each call {@link #tryAcquire} makes once, with arguments the kernel refuses before doing
     * anything (no file is named, no descriptor is valid), so that the JVM has linked them; see
     * {@link ByteStore#prepareFirstOpen}.
     */
    static void prepare() {
        if (LIBC == null) {
            return;
        }
        LIBC.open("", Libc.O_RDONLY | Libc.O_CLOEXEC, 0); // ENOENT: an empty path names nothing
        try (Arena arena = Arena.ofConfined()) {
            LIBC.fcntl(-1, Libc.F_OFD_GETLK, arena.allocate(FLOCK)); // EBADF
        }
        LIBC.close(-1); // EBADF
    }

    /** The pid the kernel gives for a lock that conflicts with a read lock on {@code range}; -1 when unknown. */
    private static long holder(int fd, MemorySegment flock, Range range) {
        setRange(flock, F_RDLCK, range);
        if (LIBC.fcntl(fd, Libc.F_OFD_GETLK, flock).failed()
                || flock.get(ValueLayout.JAVA_SHORT, L_TYPE) == F_UNLCK) {
            return -1;
        }
        return flock.get(ValueLayout.JAVA_INT, L_PID);
    }

    private static void setRange(MemorySegment flock, short type, Range range) {
        flock.fill((byte) 0); // l_whence SEEK_SET, l_pid 0 as OFD locks require
        flock.set(ValueLayout.JAVA_SHORT, L_TYPE, type);
        flock.set(ValueLayout.JAVA_LONG, L_START, range.start());
        flock.set(ValueLayout.JAVA_LONG, L_LEN, range.length());
    }

    /** Releases the lock by closing its descriptor. */
    @Override
    public void close() throws IOException {
        Libc.Result closed = LIBC.close(fd);
        if (closed.failed()) {
            throw new IOException("close of lock descriptor " + fd + " failed with errno " + closed.errno());
        }
    }
}
