package org.vhdkit.vhd.io;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/**
 * A whole-file lock of Linux's open-file-description kind ({@code F_OFD_SETLK}), taken on a
 * descriptor of its own through the foreign function interface.
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
    private static final int O_RDONLY = 0;
    private static final int O_RDWR = 2;
    private static final int O_CLOEXEC = 0x80000;
    private static final int F_OFD_SETLK = 37;
    private static final short F_RDLCK = 0;
    private static final short F_WRLCK = 1;
    private static final int EACCES = 13;
    private static final int EAGAIN = 11;

    /** struct flock on 64-bit Linux: short l_type, short l_whence, off_t l_start, off_t l_len, pid_t l_pid. */
    private static final StructLayout FLOCK = MemoryLayout.structLayout(
            ValueLayout.JAVA_SHORT.withName("l_type"),
            ValueLayout.JAVA_SHORT.withName("l_whence"),
            MemoryLayout.paddingLayout(4),
            ValueLayout.JAVA_LONG.withName("l_start"),
            ValueLayout.JAVA_LONG.withName("l_len"),
            ValueLayout.JAVA_INT.withName("l_pid"),
            MemoryLayout.paddingLayout(4));
    private static final VarHandle L_TYPE = FLOCK.varHandle(MemoryLayout.PathElement.groupElement("l_type"));

    private static final Native NATIVE = Native.load();

    private final int fd;

    private OfdLock(int fd) {
        this.fd = fd;
    }

    /** The C functions, or null where they cannot be had. */
    private record Native(MethodHandle open, MethodHandle fcntl, MethodHandle close, StructLayout errnoLayout,
                          VarHandle errno) {
        @SuppressWarnings("restricted") // three libc calls with fixed signatures; see the class comment
        static Native load() {
            if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")
                    || !System.getProperty("os.arch", "").matches("amd64|x86_64|aarch64")) {
                return null;
            }
            try {
                Linker linker = Linker.nativeLinker();
                var libc = linker.defaultLookup();
                Linker.Option errno = Linker.Option.captureCallState("errno");
                StructLayout errnoLayout = Linker.Option.captureStateLayout();
                MethodHandle open = linker.downcallHandle(libc.find("open").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT,
                                ValueLayout.JAVA_INT),
                        errno, Linker.Option.firstVariadicArg(2));
                MethodHandle fcntl = linker.downcallHandle(libc.find("fcntl").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                                ValueLayout.ADDRESS),
                        errno, Linker.Option.firstVariadicArg(2));
                MethodHandle close = linker.downcallHandle(libc.find("close").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
                return new Native(open, fcntl, close, errnoLayout,
                        errnoLayout.varHandle(MemoryLayout.PathElement.groupElement("errno")));
            } catch (RuntimeException e) {
                // IllegalCallerException where native access is denied, or no such symbol: use the JDK's lock.
                return null;
            }
        }
    }

    /** The outcome of trying: a lock, "held by someone else", or "cannot lock this way". */
    sealed interface Attempt {
        record Locked(OfdLock lock) implements Attempt {
        }

        record Held() implements Attempt {
        }

        record Unsupported(String why) implements Attempt {
        }
    }

    /**
     * Tries to lock the whole of {@code path}: shared for a reader, exclusive for a writer. Never
     * waits.
     */
    static Attempt tryAcquire(Path path, boolean exclusive) throws IOException {
        if (NATIVE == null) {
            return new Attempt.Unsupported("not Linux, or native access is not enabled");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(NATIVE.errnoLayout());
            MemorySegment name = arena.allocateFrom(path.toAbsolutePath().toString());
            int fd = (int) NATIVE.open().invokeExact(state, name, (exclusive ? O_RDWR : O_RDONLY) | O_CLOEXEC, 0);
            if (fd < 0) {
                return new Attempt.Unsupported("open failed with errno " + errno(state));
            }
            MemorySegment flock = arena.allocate(FLOCK);
            L_TYPE.set(flock, 0L, exclusive ? F_WRLCK : F_RDLCK); // whence SEEK_SET, start 0, len 0: all of it
            int result = (int) NATIVE.fcntl().invokeExact(state, fd, F_OFD_SETLK, flock);
            if (result == 0) {
                return new Attempt.Locked(new OfdLock(fd));
            }
            int error = errno(state);
            int ignored = (int) NATIVE.close().invokeExact(fd);
            return error == EAGAIN || error == EACCES
                    ? new Attempt.Held()
                    : new Attempt.Unsupported("fcntl(F_OFD_SETLK) failed with errno " + error);
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IOException(path + ": locking failed", e);
        }
    }

    private static int errno(MemorySegment state) {
        return (int) NATIVE.errno().get(state, 0L);
    }

    /** Releases the lock by closing its descriptor. */
    @Override
    public void close() throws IOException {
        try {
            int result = (int) NATIVE.close().invokeExact(fd);
            if (result != 0) {
                throw new IOException("close of lock descriptor " + fd + " failed");
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IOException(e);
        }
    }
}
