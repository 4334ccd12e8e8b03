package org.vhdkit.stack.vm;

import java.lang.System.Logger.Level;
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

/**
 * Where a sparse file has holes, asked of the file system with {@code lseek(SEEK_DATA)} on a
 * descriptor of its own (Linux, through the foreign function interface in the style of vhd-core's
 * {@code OfdLock}), so that a saved memory file's holes need not be read: reading a hole fills the
 * page cache with zeros, 1 s for an idle 512 MiB VM's memory.bin. Where it cannot be asked (not
 * Linux, native access denied, the open fails) every range counts as data and is read.
 *
 * <p>Thread-safety: one thread at a time; {@link #close()} once.
 */
final class FileHoles implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(FileHoles.class.getName());
    private static final int O_RDONLY = 0;
    private static final int O_CLOEXEC = 0x80000;
    private static final int SEEK_DATA = 3;
    private static final int ENXIO = 6;
    private static final Native NATIVE = Native.load();

    private final int fd;

    private FileHoles(int fd) {
        this.fd = fd;
    }

    /** Asks about {@code file}; never fails (where it cannot ask, nothing is a hole). */
    static FileHoles of(Path file) {
        if (NATIVE == null) {
            return new FileHoles(-1);
        }
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(NATIVE.errnoLayout());
            int fd = (int) NATIVE.open().invokeExact(state, call.allocateFrom(file.toAbsolutePath().toString()),
                    O_RDONLY | O_CLOEXEC, 0);
            return new FileHoles(fd);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException("calling the C library failed", e);
        }
    }

    /** Whether {@code [offset, offset + length)} is wholly a hole (reads as zeros); false if unknown. */
    boolean hole(long offset, long length) {
        if (fd < 0) {
            return false;
        }
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(NATIVE.errnoLayout());
            long data = (long) NATIVE.lseek().invokeExact(state, fd, offset, SEEK_DATA);
            return data < 0 ? (int) NATIVE.errno().get(state, 0L) == ENXIO : data - offset >= length;
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException("calling the C library failed", e);
        }
    }

    @Override
    public void close() {
        if (fd >= 0) {
            try {
                int ignored = (int) NATIVE.close().invokeExact(fd);
            } catch (Throwable e) {
                LOG.log(Level.WARNING, "closing descriptor " + fd + " failed", e);
            }
        }
    }

    private record Native(MethodHandle open, MethodHandle lseek, MethodHandle close, StructLayout errnoLayout,
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
                MethodHandle lseek = linker.downcallHandle(libc.find("lseek").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                                ValueLayout.JAVA_INT), errno);
                MethodHandle close = linker.downcallHandle(libc.find("close").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
                return new Native(open, lseek, close, errnoLayout,
                        errnoLayout.varHandle(MemoryLayout.PathElement.groupElement("errno")));
            } catch (RuntimeException e) {
                return null; // native access denied, or no such symbol: read every range
            }
        }
    }
}
