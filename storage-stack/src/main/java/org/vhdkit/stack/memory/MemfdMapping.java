package org.vhdkit.stack.memory;

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
import java.util.Locale;

/**
 * Guest memory as Linux anonymous shared memory: a {@code memfd_create} file of the memory's size
 * ({@code ftruncate}), mapped {@code MAP_SHARED} read-write, called through the foreign function
 * interface in the style of vhd-core's {@code OfdLock}.
 *
 * <p>Why: such memory costs nothing until touched, and which pages were touched can be asked
 * ({@link #hole}) without touching them. The kernel gives each page, zeroed, on its first
 * touch (a read too), where {@link Arena#allocate} zeroes every byte up front (5 s and all of it resident for a
 * 512 MiB VM that may use a few MiB). And a memfd is what another process can map too: a vhost-user
 * backend is handed guest memory as memfd descriptors, so the descriptor is kept.
 *
 * <p>Where it cannot be had, {@link #map} says so with null and the caller allocates from the
 * arena instead: the host is not Linux on amd64 or aarch64 (the constants below are theirs), the
 * C functions cannot be linked (native access denied, {@code IllegalCallerException}; a C library
 * without {@code memfd_create}), or {@code memfd_create}, {@code ftruncate} or {@code mmap} fail
 * at run time other than for want of memory (an old kernel, a seccomp filter, no descriptors left).
 *
 * <p>Thread-safety: stateless; the handles are immutable and shared.
 */
final class MemfdMapping {
    private static final System.Logger LOG = System.getLogger(MemfdMapping.class.getName());
    private static final int MFD_CLOEXEC = 1;
    private static final int PROT_READ = 1;
    private static final int PROT_WRITE = 2;
    private static final int MAP_SHARED = 1;
    private static final long MAP_FAILED = -1L;
    private static final int ENOMEM = 12;
    private static final int ENXIO = 6;
    private static final int SEEK_DATA = 3;
    /** memfd_create takes names of up to 249 bytes; they show in /proc/PID/maps as "/memfd:NAME". */
    private static final int MAX_NAME = 64;

    private static final Native NATIVE = Native.load();

    /** The memory and the descriptor of the memfd that holds it. */
    record Mapping(MemorySegment segment, int fd) {
    }

    private MemfdMapping() {
    }

    /** Whether memfd memory can be had at all in this JVM (it may still fail for one allocation). */
    static boolean available() {
        return NATIVE != null;
    }

    /**
     * Maps {@code size} bytes of fresh zeroed memfd memory, named after {@code owner}, whose segment
     * belongs to {@code arena}: closing the arena unmaps it and closes the descriptor. Returns null
     * where memfd memory cannot be had (see the class comment); throws OutOfMemoryError when the
     * kernel has no room for the mapping.
     */
    @SuppressWarnings("restricted") // the mapping's segment is given its size; see the class comment
    static Mapping map(String owner, long size, Arena arena) {
        if (NATIVE == null) {
            return null;
        }
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(NATIVE.errnoLayout());
            MemorySegment name = call.allocateFrom(name(owner));
            int fd = (int) NATIVE.memfdCreate().invokeExact(state, name, MFD_CLOEXEC);
            if (fd < 0) {
                LOG.log(Level.DEBUG, "memfd_create failed with errno {0}; guest memory is allocated eagerly",
                        errno(state));
                return null;
            }
            if ((int) NATIVE.ftruncate().invokeExact(state, fd, size) != 0) {
                int error = errno(state);
                int ignored = (int) NATIVE.close().invokeExact(fd);
                return failed("ftruncate", error, size);
            }
            MemorySegment address = (MemorySegment) NATIVE.mmap().invokeExact(state, MemorySegment.NULL, size,
                    PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0L);
            if (address.address() == MAP_FAILED) {
                int error = errno(state);
                int ignored = (int) NATIVE.close().invokeExact(fd);
                return failed("mmap", error, size);
            }
            long at = address.address();
            MemorySegment segment = address.reinterpret(size, arena, unused -> unmap(at, size, fd));
            return new Mapping(segment, fd);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException("calling the C library for guest memory failed", e);
        }
    }

    /**
     * Whether the memfd {@code fd} holds no page in {@code [offset, offset + length)}: none was
     * touched since it was made, so the range reads as zeros ({@code lseek(SEEK_DATA)}; a page
     * swapped out counts as held). False where it cannot tell.
     */
    static boolean hole(int fd, long offset, long length) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(NATIVE.errnoLayout());
            long data = (long) NATIVE.lseek().invokeExact(state, fd, offset, SEEK_DATA);
            return data < 0 ? errno(state) == ENXIO : data - offset >= length;
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException("calling the C library for guest memory failed", e);
        }
    }

    private static Mapping failed(String call, int errno, long size) {
        if (errno == ENOMEM) {
            throw new OutOfMemoryError(call + " of " + size + " bytes of guest memory failed: out of memory");
        }
        LOG.log(Level.DEBUG, "{0} failed with errno {1}; guest memory is allocated eagerly", call, errno);
        return null;
    }

    /** The arena's cleanup: unmaps the memory and closes its descriptor. Never throws. */
    private static void unmap(long at, long size, int fd) {
        try {
            int unmapped = (int) NATIVE.munmap().invokeExact(MemorySegment.ofAddress(at), size);
            int closed = (int) NATIVE.close().invokeExact(fd);
            if (unmapped != 0 || closed != 0) {
                LOG.log(Level.ERROR, "releasing guest memory failed: munmap returned {0}, close {1}", unmapped,
                        closed);
            }
        } catch (Throwable e) {
            LOG.log(Level.ERROR, "releasing guest memory failed", e);
        }
    }

    /** A memfd name: the owner's name in plain characters, short; it is only for reading /proc. */
    private static String name(String owner) {
        String plain = owner.replaceAll("[^A-Za-z0-9._-]", "_");
        return "vhdkit-guest-" + (plain.length() > MAX_NAME ? plain.substring(0, MAX_NAME) : plain);
    }

    private static int errno(MemorySegment state) {
        return (int) NATIVE.errno().get(state, 0L);
    }

    /** The C functions, or null where they cannot be had. */
    private record Native(MethodHandle memfdCreate, MethodHandle ftruncate, MethodHandle mmap, MethodHandle munmap,
                          MethodHandle lseek, MethodHandle close, StructLayout errnoLayout, VarHandle errno) {
        @SuppressWarnings("restricted") // six libc calls with fixed signatures; see the class comment
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
                MethodHandle memfdCreate = linker.downcallHandle(libc.find("memfd_create").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT), errno);
                MethodHandle ftruncate = linker.downcallHandle(libc.find("ftruncate").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG), errno);
                MethodHandle mmap = linker.downcallHandle(libc.find("mmap").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                                ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG),
                        errno);
                MethodHandle munmap = linker.downcallHandle(libc.find("munmap").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
                MethodHandle lseek = linker.downcallHandle(libc.find("lseek").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                                ValueLayout.JAVA_INT), errno);
                MethodHandle close = linker.downcallHandle(libc.find("close").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
                return new Native(memfdCreate, ftruncate, mmap, munmap, lseek, close, errnoLayout,
                        errnoLayout.varHandle(MemoryLayout.PathElement.groupElement("errno")));
            } catch (RuntimeException e) {
                // IllegalCallerException where native access is denied, or no such symbol: allocate eagerly.
                LOG.log(Level.DEBUG, "memfd guest memory is not available; it is allocated eagerly", e);
                return null;
            }
        }
    }
}
