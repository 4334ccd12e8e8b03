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
import java.util.Locale;

/**
 * {@link Libc} bound to the host's C library through the foreign function interface, each call
 * capturing {@code errno}.
 *
 * <p>Each function is bound when it is first called, not when the library is loaded: binding one
 * generates and loads a few classes (a downcall stub and its method handles, none of which the
 * ahead-of-time cache can hold), and {@code vhd info} calls three of the twelve, so binding them
 * all up front was most of the start-up time of a quick command (BENCHMARKS.md, Start-up). The
 * symbols are looked up, and {@code close} bound, at load, so a missing symbol or native access
 * denied still makes {@link #INSTANCE} null rather than failing a later call.
 *
 * <p>Thread-safety: stateless apart from the bindings, each made at most once and published safely
 * ({@link Downcall}); the handles are immutable. Each call allocates its {@code errno} slot (and a
 * C string) in a confined arena of its own: these calls are not on any data path.
 */
final class SystemLibc implements Libc {
    /** {@code ssize_t pread/pwrite(int fd, void *buf, size_t count, off_t offset)}, the buffer as an address. */
    private static final FunctionDescriptor POSITIONAL = FunctionDescriptor.of(ValueLayout.JAVA_LONG,
            ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG);

    /**
     * {@code open}, {@code fcntl} and {@code close}, bound with one shape so that the JVM generates one
     * downcall stub for the three instead of three (each stub about 10 ms of a quick command's start,
     * BENCHMARKS.md, Start-up): {@code int f(long, int, ...long)}. Each is called with what its C
     * signature takes in those registers: {@code open(path, flags, mode)}, {@code fcntl(fd, command,
     * pointer)}, {@code close(fd, 0, 0)}. On both calling conventions bound here (x86-64 System V and
     * AArch64 Linux), an int argument is read from the low half of its 64-bit register, a variadic
     * argument is passed in the register a named one would take, and a function ignores the
     * registers it has no parameter for; so each call is the one its C declaration describes.
     */
    private static final FunctionDescriptor FILE_CALL = FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG);

    /** The binding, or null where it cannot be had. */
    static final SystemLibc INSTANCE = load();

    private final Downcall open;
    private final Downcall fcntl;
    private final Downcall lseek;
    private final Downcall close;
    private final Downcall memfdCreate;
    private final Downcall ftruncate;
    private final Downcall mmap;
    private final Downcall munmap;
    private final Downcall pwrite;
    private final Downcall pread;
    private final Downcall syncFileRange;
    private final StructLayout errnoLayout;
    /** Where {@code errno} lies in the captured call state. */
    private final long errno;

    private SystemLibc(Linker linker, SymbolLookup libc) {
        Linker.Option captureErrno = Linker.Option.captureCallState("errno");
        errnoLayout = Linker.Option.captureStateLayout();
        errno = errnoLayout.byteOffset(MemoryLayout.PathElement.groupElement("errno"));
        Linker.Option variadicThird = Linker.Option.firstVariadicArg(2);
        open = new Downcall(linker, libc, "open", FILE_CALL, captureErrno, variadicThird);
        fcntl = new Downcall(linker, libc, "fcntl", FILE_CALL, captureErrno, variadicThird);
        lseek = new Downcall(linker, libc, "lseek",
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_INT),
                captureErrno);
        close = new Downcall(linker, libc, "close", FILE_CALL, captureErrno, variadicThird);
        memfdCreate = new Downcall(linker, libc, "memfd_create",
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT), captureErrno);
        ftruncate = new Downcall(linker, libc, "ftruncate",
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG), captureErrno);
        mmap = new Downcall(linker, libc, "mmap",
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG),
                captureErrno);
        munmap = new Downcall(linker, libc, "munmap",
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG),
                captureErrno);
        pwrite = new Downcall(linker, libc, "pwrite", POSITIONAL, captureErrno);
        pread = new Downcall(linker, libc, "pread", POSITIONAL, captureErrno);
        syncFileRange = new Downcall(linker, libc, "sync_file_range",
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT),
                captureErrno);
        // Bound now: a restricted method refused here (native access denied) refuses the whole binding.
        close.handle();
    }

    @SuppressWarnings("restricted") // thirteen libc calls (pread and pwrite bound twice, see Positional) with fixed signatures; see Libc
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
            // The logger only here: getting one starts the logging framework, at every start.
            System.getLogger(SystemLibc.class.getName()).log(Level.DEBUG, "the C library cannot be called; vhdkit does without it", e);
            return null;
        }
    }

    /**
     * {@code pread} and {@code pwrite} without errno capture (nothing to allocate per call; a
     * failure is asked again with it), on every data path: static finals, which the JIT folds into
     * their call sites, bound when first used (this class's initialisation). Their symbols were
     * found when {@link SystemLibc} was loaded.
     */
    private static final class Positional {
        static final MethodHandle PREAD = bind("pread");
        static final MethodHandle PWRITE = bind("pwrite");

        private Positional() {
        }

        @SuppressWarnings("restricted") // see SystemLibc.load
        private static MethodHandle bind(String name) {
            Linker linker = Linker.nativeLinker();
            return linker.downcallHandle(linker.defaultLookup().find(name).orElseThrow(), POSITIONAL);
        }
    }

    /**
     * One C function: its symbol, found at load, and its method handle, made on the first call.
     *
     * <p>Thread-safety: {@link #handle} may be called from any number of threads; the handle is made
     * once, under the object's lock, and read without it afterwards.
     */
    private static final class Downcall {
        private final Linker linker;
        private final MemorySegment symbol;
        private final FunctionDescriptor type;
        private final Linker.Option[] options;
        private volatile MethodHandle handle;

        Downcall(Linker linker, SymbolLookup libc, String name, FunctionDescriptor type, Linker.Option... options) {
            this.linker = linker;
            this.symbol = libc.find(name).orElseThrow();
            this.type = type;
            this.options = options;
        }

        @SuppressWarnings("restricted") // see SystemLibc.load
        MethodHandle handle() {
            MethodHandle bound = handle;
            if (bound == null) {
                synchronized (this) {
                    bound = handle;
                    if (bound == null) {
                        bound = linker.downcallHandle(symbol, type, options);
                        handle = bound;
                    }
                }
            }
            return bound;
        }
    }

    @Override
    public Result open(String path, int flags, int mode) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(errnoLayout);
            int fd = (int) open.handle().invokeExact(state, call.allocateFrom(path).address(), flags, (long) mode);
            return result(fd, state);
        } catch (Throwable e) {
            throw failedCall("open", e);
        }
    }

    @Override
    public Result fcntl(int fd, int command, MemorySegment argument) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(errnoLayout);
            if (!argument.isNative()) {
                throw new IllegalArgumentException("fcntl's argument must be native memory: " + argument);
            }
            return result((int) fcntl.handle().invokeExact(state, (long) fd, command, argument.address()), state);
        } catch (Throwable e) {
            throw failedCall("fcntl", e);
        }
    }

    @Override
    public Result lseek(int fd, long offset, int whence) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(errnoLayout);
            return result((long) lseek.handle().invokeExact(state, fd, offset, whence), state);
        } catch (Throwable e) {
            throw failedCall("lseek", e);
        }
    }

    @Override
    public Result close(int fd) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(errnoLayout);
            return result((int) close.handle().invokeExact(state, (long) fd, 0, 0L), state);
        } catch (Throwable e) {
            throw failedCall("close", e);
        }
    }

    @Override
    public Result memfdCreate(String name, int flags) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(errnoLayout);
            return result((int) memfdCreate.handle().invokeExact(state, call.allocateFrom(name), flags), state);
        } catch (Throwable e) {
            throw failedCall("memfd_create", e);
        }
    }

    @Override
    public Result ftruncate(int fd, long length) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(errnoLayout);
            return result((int) ftruncate.handle().invokeExact(state, fd, length), state);
        } catch (Throwable e) {
            throw failedCall("ftruncate", e);
        }
    }

    @Override
    public Result mmap(long length, int protection, int flags, int fd, long offset) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(errnoLayout);
            long address = (long) mmap.handle().invokeExact(state, MemorySegment.NULL, length, protection, flags, fd, offset);
            return result(address, state);
        } catch (Throwable e) {
            throw failedCall("mmap", e);
        }
    }

    @Override
    public Result munmap(long address, long length) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(errnoLayout);
            return result((int) munmap.handle().invokeExact(state, address, length), state);
        } catch (Throwable e) {
            throw failedCall("munmap", e);
        }
    }

    @Override
    public long pwrite(int fd, long address, long count, long offset) {
        return positional("pwrite", Positional.PWRITE, pwrite, fd, address, count, offset);
    }

    @Override
    public long pread(int fd, long address, long count, long offset) {
        return positional("pread", Positional.PREAD, pread, fd, address, count, offset);
    }

    @Override
    public int syncFileRange(int fd, long offset, long count, int flags) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(errnoLayout);
            int r = (int) syncFileRange.handle().invokeExact(state, fd, offset, count, flags);
            return r >= 0 ? r : -state.get(ValueLayout.JAVA_INT, errno);
        } catch (Throwable e) {
            throw failedCall("sync_file_range", e);
        }
    }

    /**
     * {@code pread} or {@code pwrite}: first without errno capture (nothing allocated); when that
     * fails, the same call again capturing errno (the JVM may have changed errno since the first;
     * reading or writing the same bytes at the same place again is harmless).
     */
    private long positional(String function, MethodHandle fast, Downcall capturing, int fd, long address,
                            long count, long offset) {
        try {
            long n = (long) fast.invokeExact(fd, address, count, offset);
            if (n >= 0) {
                return n;
            }
            try (Arena call = Arena.ofConfined()) {
                MemorySegment state = call.allocate(errnoLayout);
                n = (long) capturing.handle().invokeExact(state, fd, address, count, offset);
                return n >= 0 ? n : -state.get(ValueLayout.JAVA_INT, errno);
            }
        } catch (Throwable e) {
            throw failedCall(function, e);
        }
    }

    private Result result(long value, MemorySegment state) {
        return new Result(value, value < 0 ? state.get(ValueLayout.JAVA_INT, errno) : 0);
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
