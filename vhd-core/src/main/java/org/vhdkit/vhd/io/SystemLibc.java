package org.vhdkit.vhd.io;

import java.lang.System.Logger.Level;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.Locale;

/**
 * {@link Libc} bound to the host's C library through the foreign function interface, each call
 * capturing {@code errno}.
 *
 * <p>Thread-safety: stateless; the handles are immutable. Each call allocates its {@code errno}
 * slot (and a C string) in a confined arena of its own: these calls are not on any data path.
 */
final class SystemLibc implements Libc {
    private static final System.Logger LOG = System.getLogger(SystemLibc.class.getName());

    /** The binding, or null where it cannot be had. */
    static final SystemLibc INSTANCE = load();

    private final MethodHandle open;
    private final MethodHandle fcntl;
    private final MethodHandle lseek;
    private final MethodHandle close;
    private final MethodHandle memfdCreate;
    private final MethodHandle ftruncate;
    private final MethodHandle mmap;
    private final MethodHandle munmap;
    private final MethodHandle pwrite;
    /** {@code pwrite} without errno capture: nothing to allocate per call; a failure is asked again with it. */
    private final MethodHandle pwriteFast;
    private final MethodHandle pread;
    private final MethodHandle preadFast;
    private final MethodHandle syncFileRange;
    private final StructLayout errnoLayout;
    private final VarHandle errno;

    private SystemLibc(Linker linker, SymbolLookup libc) {
        Linker.Option captureErrno = Linker.Option.captureCallState("errno");
        errnoLayout = Linker.Option.captureStateLayout();
        errno = errnoLayout.varHandle(MemoryLayout.PathElement.groupElement("errno"));
        open = linker.downcallHandle(libc.find("open").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_INT),
                captureErrno, Linker.Option.firstVariadicArg(2));
        fcntl = linker.downcallHandle(libc.find("fcntl").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                        ValueLayout.ADDRESS),
                captureErrno, Linker.Option.firstVariadicArg(2));
        lseek = linker.downcallHandle(libc.find("lseek").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_INT),
                captureErrno);
        close = linker.downcallHandle(libc.find("close").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), captureErrno);
        memfdCreate = linker.downcallHandle(libc.find("memfd_create").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT), captureErrno);
        ftruncate = linker.downcallHandle(libc.find("ftruncate").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG), captureErrno);
        mmap = linker.downcallHandle(libc.find("mmap").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG),
                captureErrno);
        munmap = linker.downcallHandle(libc.find("munmap").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG),
                captureErrno);
        FunctionDescriptor pwriteType = FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT,
                ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG);
        pwrite = linker.downcallHandle(libc.find("pwrite").orElseThrow(), pwriteType, captureErrno);
        pwriteFast = linker.downcallHandle(libc.find("pwrite").orElseThrow(), pwriteType);
        pread = linker.downcallHandle(libc.find("pread").orElseThrow(), pwriteType, captureErrno);
        preadFast = linker.downcallHandle(libc.find("pread").orElseThrow(), pwriteType);
        syncFileRange = linker.downcallHandle(libc.find("sync_file_range").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT),
                captureErrno);
    }

    @SuppressWarnings("restricted") // eleven libc calls (pread and pwrite bound twice) with fixed signatures; see Libc
    private static SystemLibc load() {
        if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")
                || !System.getProperty("os.arch", "").matches("amd64|x86_64|aarch64")) {
            return null;
        }
        try {
            Linker linker = Linker.nativeLinker();
            return new SystemLibc(linker, linker.defaultLookup());
        } catch (RuntimeException e) {
            // IllegalCallerException where native access is denied, or a symbol missing: do without.
            LOG.log(Level.DEBUG, "the C library cannot be called; vhdkit does without it", e);
            return null;
        }
    }

    @Override
    public Result open(String path, int flags, int mode) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(errnoLayout);
            int fd = (int) open.invokeExact(state, call.allocateFrom(path), flags, mode);
            return result(fd, state);
        } catch (Throwable e) {
            throw failedCall("open", e);
        }
    }

    @Override
    public Result fcntl(int fd, int command, MemorySegment argument) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(errnoLayout);
            return result((int) fcntl.invokeExact(state, fd, command, argument), state);
        } catch (Throwable e) {
            throw failedCall("fcntl", e);
        }
    }

    @Override
    public Result lseek(int fd, long offset, int whence) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(errnoLayout);
            return result((long) lseek.invokeExact(state, fd, offset, whence), state);
        } catch (Throwable e) {
            throw failedCall("lseek", e);
        }
    }

    @Override
    public Result close(int fd) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(errnoLayout);
            return result((int) close.invokeExact(state, fd), state);
        } catch (Throwable e) {
            throw failedCall("close", e);
        }
    }

    @Override
    public Result memfdCreate(String name, int flags) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(errnoLayout);
            return result((int) memfdCreate.invokeExact(state, call.allocateFrom(name), flags), state);
        } catch (Throwable e) {
            throw failedCall("memfd_create", e);
        }
    }

    @Override
    public Result ftruncate(int fd, long length) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(errnoLayout);
            return result((int) ftruncate.invokeExact(state, fd, length), state);
        } catch (Throwable e) {
            throw failedCall("ftruncate", e);
        }
    }

    @Override
    public Result mmap(long length, int protection, int flags, int fd, long offset) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(errnoLayout);
            long address = (long) mmap.invokeExact(state, MemorySegment.NULL, length, protection, flags, fd, offset);
            return result(address, state);
        } catch (Throwable e) {
            throw failedCall("mmap", e);
        }
    }

    @Override
    public Result munmap(long address, long length) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(errnoLayout);
            return result((int) munmap.invokeExact(state, address, length), state);
        } catch (Throwable e) {
            throw failedCall("munmap", e);
        }
    }

    @Override
    public long pwrite(int fd, long address, long count, long offset) {
        return positional("pwrite", pwriteFast, pwrite, fd, address, count, offset);
    }

    @Override
    public long pread(int fd, long address, long count, long offset) {
        return positional("pread", preadFast, pread, fd, address, count, offset);
    }

    @Override
    public int syncFileRange(int fd, long offset, long count, int flags) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(errnoLayout);
            int r = (int) syncFileRange.invokeExact(state, fd, offset, count, flags);
            return r >= 0 ? r : -(int) errno.get(state, 0L);
        } catch (Throwable e) {
            throw failedCall("sync_file_range", e);
        }
    }

    /**
     * {@code pread} or {@code pwrite}: first without errno capture (nothing allocated); when that
     * fails, the same call again capturing errno (the JVM may have changed errno since the first;
     * reading or writing the same bytes at the same place again is harmless).
     */
    private long positional(String function, MethodHandle fast, MethodHandle capturing, int fd, long address,
                            long count, long offset) {
        try {
            long n = (long) fast.invokeExact(fd, address, count, offset);
            if (n >= 0) {
                return n;
            }
            try (Arena call = Arena.ofConfined()) {
                MemorySegment state = call.allocate(errnoLayout);
                n = (long) capturing.invokeExact(state, fd, address, count, offset);
                return n >= 0 ? n : -(int) errno.get(state, 0L);
            }
        } catch (Throwable e) {
            throw failedCall(function, e);
        }
    }

    private Result result(long value, MemorySegment state) {
        return new Result(value, value < 0 ? (int) errno.get(state, 0L) : 0);
    }

    /** A downcall that threw: only an error of the JVM's (out of memory) or a binding mistake can. */
    private static RuntimeException failedCall(String function, Throwable e) {
        if (e instanceof Error error) {
            throw error;
        }
        return e instanceof RuntimeException runtime ? runtime
                : new IllegalStateException("calling " + function + " in the C library failed", e);
    }
}
