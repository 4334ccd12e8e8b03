package org.vhdkit.stack.vhostuser;

import java.io.IOException;
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
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The C library calls of the vhost-user backend, through the foreign function interface (the
 * project's way; see storage-stack's {@code MemfdMapping} and vhd-core's {@code OfdLock}): Unix
 * domain sockets that carry file descriptors ({@code SCM_RIGHTS} ancillary data, which the JDK's
 * socket channels do not offer), eventfds, {@code poll}, and {@code mmap} of guest memory.
 *
 * <p>Why FFM rather than junixsocket: the project already calls libc this way, it adds no dependency
 * and no native library to unpack, and the backend needs eventfds, poll and mmap of the received
 * descriptors too, which no socket library offers. The constants are Linux's on amd64 and aarch64.
 *
 * <p>Every call that may fail throws {@link IOException} naming the call and errno. Calls on the
 * data path ({@link #signal}, {@link #drain}, {@link #poll}) take a {@link Scratch}, the caller's
 * reusable native memory, so they allocate nothing.
 *
 * <p>Thread-safety: stateless; the handles are immutable. A {@link Scratch} belongs to one thread.
 */
final class LinuxCalls {
    private static final int AF_UNIX = 1;
    private static final int SOCK_STREAM = 1;
    private static final int SOCK_CLOEXEC = 0x80000;
    private static final int EFD_CLOEXEC = 0x80000;
    private static final int EFD_NONBLOCK = 0x800;
    private static final int MSG_CTRUNC = 0x8;
    private static final int MSG_NOSIGNAL = 0x4000;
    private static final int MSG_CMSG_CLOEXEC = 0x40000000;
    private static final int SOL_SOCKET = 1;
    private static final int SCM_RIGHTS = 1;
    private static final int PROT_NONE = 0;
    private static final int PROT_READ = 1;
    private static final int PROT_WRITE = 2;
    private static final int MAP_SHARED = 1;
    private static final int MAP_PRIVATE = 2;
    private static final int MAP_FIXED = 0x10;
    private static final int MAP_ANONYMOUS = 0x20;
    private static final int MAP_NORESERVE = 0x4000;
    private static final int MFD_CLOEXEC = 1;
    static final int POLLIN = 1;
    private static final int EINTR = 4;
    private static final int EAGAIN = 11;
    private static final int SEEK_END = 2;
    /** sockaddr_un: sa_family_t, then 108 bytes of path. */
    private static final int SUN_PATH = 108;
    /** The page size the mappings align to. */
    static final long PAGE = 4096;

    /** The most descriptors one message carries (room for the cmsg). */
    static final int MAX_FDS = 16;
    private static final int CMSG_HEAD = 16;
    private static final int CMSG_SPACE = CMSG_HEAD + MAX_FDS * 4;

    private static final Native C = Native.load();

    private LinuxCalls() {
    }

    /** Whether the calls can be made in this JVM: Linux on amd64 or aarch64 with native access. */
    static boolean available() {
        return C != null;
    }

    /**
     * Native memory one thread reuses for its calls: the errno capture, two pollfds, eight bytes for
     * an eventfd counter. Thread-safety: none; one per thread.
     */
    static final class Scratch {
        final MemorySegment state;
        final MemorySegment pollFds;
        final MemorySegment counter;

        Scratch(Arena arena) {
            this.state = arena.allocate(C.errnoLayout());
            this.pollFds = arena.allocate(16, 8);
            this.counter = arena.allocate(8, 8);
        }
    }

    private static Native c() throws IOException {
        if (C == null) {
            throw new IOException("vhost-user needs Linux on amd64 or aarch64 and native access"
                    + " (--enable-native-access=ALL-UNNAMED)");
        }
        return C;
    }

    // ---- sockets ----

    /** A Unix stream socket listening at {@code path} (a new file). */
    static int listen(Path path) throws IOException {
        Native c = c();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = a.allocate(c.errnoLayout());
            int fd = (int) c.socket().invokeExact(state, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            check(fd, state, "socket");
            MemorySegment address = address(a, path);
            int r = (int) c.bind().invokeExact(state, fd, address, (int) address.byteSize());
            if (r != 0) {
                closeQuietly(fd);
                throw failure("bind " + path, state);
            }
            r = (int) c.listen().invokeExact(state, fd, 4);
            if (r != 0) {
                closeQuietly(fd);
                throw failure("listen " + path, state);
            }
            return fd;
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /** A Unix stream socket connected to {@code path}. */
    static int connect(Path path) throws IOException {
        Native c = c();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = a.allocate(c.errnoLayout());
            int fd = (int) c.socket().invokeExact(state, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            check(fd, state, "socket");
            MemorySegment address = address(a, path);
            int r = (int) c.connect().invokeExact(state, fd, address, (int) address.byteSize());
            if (r != 0) {
                closeQuietly(fd);
                throw failure("connect " + path, state);
            }
            return fd;
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /** Accepts a connection on {@code listening}. */
    static int accept(int listening) throws IOException {
        Native c = c();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = a.allocate(c.errnoLayout());
            while (true) {
                int fd = (int) c.accept4().invokeExact(state, listening, MemorySegment.NULL, MemorySegment.NULL,
                        SOCK_CLOEXEC);
                if (fd >= 0) {
                    return fd;
                }
                if (errno(state) != EINTR) {
                    throw failure("accept", state);
                }
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    private static MemorySegment address(Arena a, Path path) throws IOException {
        byte[] name = path.toString().getBytes(StandardCharsets.UTF_8);
        if (name.length >= SUN_PATH) {
            throw new IOException(path + ": a Unix socket path has at most " + (SUN_PATH - 1) + " bytes");
        }
        MemorySegment s = a.allocate(2 + SUN_PATH);
        s.set(ValueLayout.JAVA_SHORT, 0, (short) AF_UNIX);
        MemorySegment.copy(name, 0, s, ValueLayout.JAVA_BYTE, 2, name.length);
        return s;
    }

    /**
     * Receives up to {@code length} bytes into {@code buffer} with the descriptors that came with
     * them, stored into {@code fds}; returns the bytes received (0 at end of stream) in the low 32
     * bits and the number of descriptors in the high 32 bits. Descriptors beyond {@code fds} (or a
     * truncated control message) are closed and refused.
     */
    static long receive(int fd, MemorySegment buffer, int length, int[] fds) throws IOException {
        Native c = c();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = a.allocate(c.errnoLayout());
            MemorySegment iov = a.allocate(16, 8);
            iov.set(ValueLayout.ADDRESS, 0, buffer);
            iov.set(ValueLayout.JAVA_LONG, 8, length);
            MemorySegment control = a.allocate(CMSG_SPACE, 8);
            MemorySegment msg = a.allocate(56, 8);
            msg.set(ValueLayout.ADDRESS, 16, iov);
            msg.set(ValueLayout.JAVA_LONG, 24, 1);
            msg.set(ValueLayout.ADDRESS, 32, control);
            msg.set(ValueLayout.JAVA_LONG, 40, CMSG_SPACE);
            long n;
            do {
                n = (long) c.recvmsg().invokeExact(state, fd, msg, MSG_CMSG_CLOEXEC);
            } while (n < 0 && errno(state) == EINTR);
            if (n < 0) {
                throw failure("recvmsg", state);
            }
            int count = 0;
            long controlLength = msg.get(ValueLayout.JAVA_LONG, 40);
            int flags = msg.get(ValueLayout.JAVA_INT, 48);
            boolean overflow = (flags & MSG_CTRUNC) != 0;
            long at = 0;
            while (at + CMSG_HEAD <= controlLength) {
                long len = control.get(ValueLayout.JAVA_LONG, at);
                int level = control.get(ValueLayout.JAVA_INT, at + 8);
                int type = control.get(ValueLayout.JAVA_INT, at + 12);
                if (len < CMSG_HEAD || at + len > controlLength) {
                    break;
                }
                if (level == SOL_SOCKET && type == SCM_RIGHTS) {
                    for (long p = at + CMSG_HEAD; p + 4 <= at + len; p += 4) {
                        int received = control.get(ValueLayout.JAVA_INT, p);
                        if (count < fds.length) {
                            fds[count++] = received;
                        } else {
                            closeQuietly(received);
                            overflow = true;
                        }
                    }
                }
                at += (len + 7) & ~7L;
            }
            if (overflow) {
                for (int i = 0; i < count; i++) {
                    closeQuietly(fds[i]);
                }
                throw new IOException("recvmsg: more file descriptors came with a message than it may carry ("
                        + fds.length + ")");
            }
            return (n & 0xFFFF_FFFFL) | ((long) count << 32);
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /** Sends {@code length} bytes of {@code buffer} with {@code fds} (may be empty), all of them. */
    static void send(int fd, MemorySegment buffer, int length, int[] fds) throws IOException {
        Native c = c();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = a.allocate(c.errnoLayout());
            MemorySegment iov = a.allocate(16, 8);
            MemorySegment msg = a.allocate(56, 8);
            msg.set(ValueLayout.ADDRESS, 16, iov);
            msg.set(ValueLayout.JAVA_LONG, 24, 1);
            if (fds.length > 0) {
                int len = CMSG_HEAD + 4 * fds.length;
                MemorySegment control = a.allocate((len + 7) & ~7, 8);
                control.set(ValueLayout.JAVA_LONG, 0, len);
                control.set(ValueLayout.JAVA_INT, 8, SOL_SOCKET);
                control.set(ValueLayout.JAVA_INT, 12, SCM_RIGHTS);
                for (int i = 0; i < fds.length; i++) {
                    control.set(ValueLayout.JAVA_INT, CMSG_HEAD + 4L * i, fds[i]);
                }
                msg.set(ValueLayout.ADDRESS, 32, control);
                msg.set(ValueLayout.JAVA_LONG, 40, control.byteSize());
            }
            long done = 0;
            while (done < length) {
                iov.set(ValueLayout.ADDRESS, 0, buffer.asSlice(done));
                iov.set(ValueLayout.JAVA_LONG, 8, length - done);
                long n = (long) c.sendmsg().invokeExact(state, fd, msg, MSG_NOSIGNAL);
                if (n < 0) {
                    if (errno(state) == EINTR) {
                        continue;
                    }
                    throw failure("sendmsg", state);
                }
                done += n;
                msg.set(ValueLayout.ADDRESS, 32, MemorySegment.NULL);
                msg.set(ValueLayout.JAVA_LONG, 40, 0);
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /** Reads up to {@code length} bytes into {@code buffer}, looping until all came or the stream ended; returns how many. */
    static int readFully(int fd, MemorySegment buffer, int length) throws IOException {
        Native c = c();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = a.allocate(c.errnoLayout());
            int done = 0;
            while (done < length) {
                long n = (long) c.read().invokeExact(state, fd, buffer.asSlice(done), (long) (length - done));
                if (n < 0) {
                    if (errno(state) == EINTR) {
                        continue;
                    }
                    throw failure("read", state);
                }
                if (n == 0) {
                    break;
                }
                done += (int) n;
            }
            return done;
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    // ---- eventfds and poll ----

    /** A new non-blocking eventfd at zero. */
    static int eventfd() throws IOException {
        Native c = c();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = a.allocate(c.errnoLayout());
            int fd = (int) c.eventfd().invokeExact(state, 0, EFD_CLOEXEC | EFD_NONBLOCK);
            check(fd, state, "eventfd");
            return fd;
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /** Whether {@code fd} is an eventfd (what a ring's kick, call and error descriptors must be). */
    static boolean isEventfd(int fd) {
        try {
            return Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString().equals("anon_inode:[eventfd]");
        } catch (IOException e) {
            return false;
        }
    }

    /** Adds one to eventfd {@code fd}; a full counter (EAGAIN) already signals. Returns false on any other failure. */
    static boolean signal(int fd, Scratch s) {
        try {
            s.counter.set(ValueLayout.JAVA_LONG, 0, 1L);
            long n = (long) C.write().invokeExact(s.state, fd, s.counter, 8L);
            return n == 8 || errno(s.state) == EAGAIN;
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /** Reads (and so zeroes) eventfd {@code fd}, if it is non-blocking; returns the count, 0 when there was none. */
    static long drain(int fd, Scratch s) {
        try {
            long n = (long) C.read().invokeExact(s.state, fd, s.counter, 8L);
            return n == 8 ? s.counter.get(ValueLayout.JAVA_LONG, 0) : 0;
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Waits until {@code first} or {@code second} (either may be -1: ignored) is readable, or
     * {@code timeoutMillis} pass (-1: forever); returns bit 0 set when {@code first} is readable (or
     * hung up, or in error), bit 1 for {@code second}, 0 on timeout or interruption by a signal.
     */
    static int poll(int first, int second, int timeoutMillis, Scratch s) throws IOException {
        try {
            s.pollFds.set(ValueLayout.JAVA_INT, 0, first);
            s.pollFds.set(ValueLayout.JAVA_INT, 4, POLLIN);
            s.pollFds.set(ValueLayout.JAVA_INT, 8, second);
            s.pollFds.set(ValueLayout.JAVA_INT, 12, POLLIN);
            int n = (int) C.poll().invokeExact(s.state, s.pollFds, 2L, timeoutMillis);
            if (n < 0) {
                if (errno(s.state) == EINTR) {
                    return 0;
                }
                throw failure("poll", s.state);
            }
            int ready = 0;
            if (s.pollFds.get(ValueLayout.JAVA_SHORT, 6) != 0) {
                ready |= 1;
            }
            if (s.pollFds.get(ValueLayout.JAVA_SHORT, 14) != 0) {
                ready |= 2;
            }
            return ready;
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    // ---- memory ----

    /** Reserves {@code size} bytes of address space, inaccessible, to map regions into; returns its address. */
    static long reserve(long size) throws IOException {
        Native c = c();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = a.allocate(c.errnoLayout());
            MemorySegment at = (MemorySegment) c.mmap().invokeExact(state, MemorySegment.NULL, size, PROT_NONE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0L);
            if (at.address() == -1L) {
                throw failure("mmap of " + size + " bytes of address space", state);
            }
            return at.address();
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /** Maps {@code size} bytes of {@code fd} from {@code offset} (page-aligned), shared, read-write, at {@code address}. */
    static void mapFixed(long address, long size, int fd, long offset) throws IOException {
        Native c = c();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = a.allocate(c.errnoLayout());
            MemorySegment at = (MemorySegment) c.mmap().invokeExact(state, MemorySegment.ofAddress(address), size,
                    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, offset);
            if (at.address() == -1L) {
                throw failure("mmap of " + size + " bytes at offset " + offset + " of a memory region's descriptor",
                        state);
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /** Unmaps {@code [address, address + size)}; never throws. */
    static void unmap(long address, long size) {
        try {
            int ignored = (int) C.munmap().invokeExact(MemorySegment.ofAddress(address), size);
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /** A new memfd of {@code size} bytes (for a front-end's guest memory). */
    static int memfd(String name, long size) throws IOException {
        Native c = c();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = a.allocate(c.errnoLayout());
            int fd = (int) c.memfdCreate().invokeExact(state, a.allocateFrom(name), MFD_CLOEXEC);
            check(fd, state, "memfd_create");
            if ((int) c.ftruncate().invokeExact(state, fd, size) != 0) {
                closeQuietly(fd);
                throw failure("ftruncate", state);
            }
            return fd;
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /** The size of the file {@code fd} refers to ({@code lseek(SEEK_END)}; the position does not matter to mmap). */
    static long fileSize(int fd) throws IOException {
        Native c = c();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = a.allocate(c.errnoLayout());
            long size = (long) c.lseek().invokeExact(state, fd, 0L, SEEK_END);
            if (size < 0) {
                throw failure("lseek to the end of a memory region's descriptor", state);
            }
            return size;
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /** Closes {@code fd} if it is one (not -1); never throws. */
    static void closeQuietly(int fd) {
        if (fd < 0 || C == null) {
            return;
        }
        try {
            int ignored = (int) C.close().invokeExact(fd);
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    private static void check(int result, MemorySegment state, String call) throws IOException {
        if (result < 0) {
            throw failure(call, state);
        }
    }

    private static IOException failure(String call, MemorySegment state) {
        int errno = errno(state);
        return new IOException(call + " failed: errno " + errno + errnoName(errno));
    }

    private static String errnoName(int errno) {
        return switch (errno) {
            case 2 -> " (ENOENT)";
            case 9 -> " (EBADF)";
            case 12 -> " (ENOMEM)";
            case 13 -> " (EACCES)";
            case 22 -> " (EINVAL)";
            case 98 -> " (EADDRINUSE)";
            case 111 -> " (ECONNREFUSED)";
            default -> "";
        };
    }

    private static int errno(MemorySegment state) {
        return (int) C.errno().get(state, 0L);
    }

    private record Native(MethodHandle socket, MethodHandle bind, MethodHandle listen, MethodHandle accept4,
                          MethodHandle connect, MethodHandle recvmsg, MethodHandle sendmsg, MethodHandle read,
                          MethodHandle write, MethodHandle close, MethodHandle eventfd, MethodHandle poll,
                          MethodHandle mmap, MethodHandle munmap, MethodHandle memfdCreate, MethodHandle ftruncate,
                          MethodHandle lseek, StructLayout errnoLayout, VarHandle errno) {
        @SuppressWarnings("restricted") // libc calls with fixed signatures; see the class comment
        static Native load() {
            if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")
                    || !System.getProperty("os.arch", "").matches("amd64|x86_64|aarch64")) {
                return null;
            }
            try {
                Linker linker = Linker.nativeLinker();
                SymbolLookup libc = linker.defaultLookup();
                Linker.Option e = Linker.Option.captureCallState("errno");
                StructLayout errnoLayout = Linker.Option.captureStateLayout();
                ValueLayout i = ValueLayout.JAVA_INT;
                ValueLayout l = ValueLayout.JAVA_LONG;
                ValueLayout p = ValueLayout.ADDRESS;
                return new Native(
                        h(linker, libc, "socket", FunctionDescriptor.of(i, i, i, i), e),
                        h(linker, libc, "bind", FunctionDescriptor.of(i, i, p, i), e),
                        h(linker, libc, "listen", FunctionDescriptor.of(i, i, i), e),
                        h(linker, libc, "accept4", FunctionDescriptor.of(i, i, p, p, i), e),
                        h(linker, libc, "connect", FunctionDescriptor.of(i, i, p, i), e),
                        h(linker, libc, "recvmsg", FunctionDescriptor.of(l, i, p, i), e),
                        h(linker, libc, "sendmsg", FunctionDescriptor.of(l, i, p, i), e),
                        h(linker, libc, "read", FunctionDescriptor.of(l, i, p, l), e),
                        h(linker, libc, "write", FunctionDescriptor.of(l, i, p, l), e),
                        linker.downcallHandle(libc.find("close").orElseThrow(), FunctionDescriptor.of(i, i)),
                        h(linker, libc, "eventfd", FunctionDescriptor.of(i, i, i), e),
                        h(linker, libc, "poll", FunctionDescriptor.of(i, p, l, i), e),
                        h(linker, libc, "mmap", FunctionDescriptor.of(p, p, l, i, i, i, l), e),
                        linker.downcallHandle(libc.find("munmap").orElseThrow(), FunctionDescriptor.of(i, p, l)),
                        h(linker, libc, "memfd_create", FunctionDescriptor.of(i, p, i), e),
                        h(linker, libc, "ftruncate", FunctionDescriptor.of(i, i, l), e),
                        h(linker, libc, "lseek", FunctionDescriptor.of(l, i, l, i), e),
                        errnoLayout, errnoLayout.varHandle(MemoryLayout.PathElement.groupElement("errno")));
            } catch (RuntimeException ex) {
                return null; // no native access, or no such symbol: the backend says so when started
            }
        }

        @SuppressWarnings("restricted")
        private static MethodHandle h(Linker linker, SymbolLookup libc, String name, FunctionDescriptor d,
                                      Linker.Option errno) {
            return linker.downcallHandle(libc.find(name).orElseThrow(), d, errno);
        }
    }
}
