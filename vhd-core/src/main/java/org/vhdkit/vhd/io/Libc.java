package org.vhdkit.vhd.io;

import java.lang.foreign.MemorySegment;
import java.util.Optional;

/**
 * The few Linux C library calls vhdkit makes where the JDK has no equivalent: open file
 * description locks ({@code fcntl(F_OFD_SETLK)}, as qemu locks images), holes in sparse files
 * ({@code lseek(SEEK_DATA)}) and guest memory that another process can map ({@code memfd_create},
 * {@code mmap(MAP_SHARED)}), positional reads and writes no interrupt can break ({@code pread}, {@code pwrite})
 * and early writeback of a file being written ({@code sync_file_range}). One binding, through the foreign function interface, for every
 * module; {@link #system()} is empty where it cannot be had, and each caller then does without
 * (the JDK's lock, reading every range, eager allocation).
 *
 * <p>Each call returns the C function's return value with the {@code errno} it left when it failed,
 * as a {@link Result}; nothing throws for a failed call. Callers that must be tested against
 * failures the kernel rarely gives take a {@code Libc} and are handed an implementation that
 * fails where the test says.
 *
 * <p>The constants are Linux's on amd64 and aarch64, the only platforms {@link #system()} binds.
 *
 * <p>Thread-safety: the system's implementation is stateless and may be called from any number of
 * threads at once.
 */
public interface Libc {

    int O_RDONLY = 0;
    int O_RDWR = 2;
    int O_CLOEXEC = 0x80000;
    int SEEK_DATA = 3;
    int F_OFD_GETLK = 36;
    int F_OFD_SETLK = 37;
    int MFD_CLOEXEC = 1;
    int PROT_READ = 1;
    int PROT_WRITE = 2;
    int MAP_SHARED = 1;
    /** {@code mmap}'s failure value. */
    long MAP_FAILED = -1L;
    int ENXIO = 6;
    int EAGAIN = 11;
    int ENOMEM = 12;
    int EACCES = 13;
    int EINVAL = 22;
    int EINTR = 4;
    int EIO = 5;
    int ENOSPC = 28;
    int ENOSYS = 38;
    int ESPIPE = 29;
    int EOPNOTSUPP = 95;
    int EDQUOT = 122;
    /** {@code sync_file_range}'s flag: start writing back the dirty pages of the range, without waiting. */
    int SYNC_FILE_RANGE_WRITE = 2;

    /** What a call returned, and {@code errno} when that says it failed (0 otherwise). */
    record Result(long value, int errno) {
        /** Whether the call failed: it returned a negative value (-1, or {@code MAP_FAILED}). */
        public boolean failed() {
            return value < 0;
        }

        /** The value of a call whose C return type is {@code int}. */
        public int intValue() {
            return (int) value;
        }
    }

    /**
     * The host's C library, or empty where it cannot be called: not Linux on amd64 or aarch64, or
     * native access denied to this code ({@code --enable-native-access} not given where required).
     */
    static Optional<Libc> system() {
        return Optional.ofNullable(SystemLibc.INSTANCE);
    }

    /** {@code open(path, flags, mode)}: a new descriptor. */
    Result open(String path, int flags, int mode);

    /** {@code fcntl(fd, command, argument)} for the commands that take a pointer: {@code argument} is native memory. */
    Result fcntl(int fd, int command, MemorySegment argument);

    /** {@code lseek(fd, offset, whence)}. */
    Result lseek(int fd, long offset, int whence);

    /** {@code close(fd)}. */
    Result close(int fd);

    /** {@code memfd_create(name, flags)}: a descriptor of a new anonymous file. */
    Result memfdCreate(String name, int flags);

    /** {@code ftruncate(fd, length)}. */
    Result ftruncate(int fd, long length);

    /** {@code mmap(NULL, length, protection, flags, fd, offset)}: the address, or {@link #MAP_FAILED}. */
    Result mmap(long length, int protection, int flags, int fd, long offset);

    /** {@code munmap(address, length)}. */
    Result munmap(long address, long length);

    /**
     * {@code pwrite(fd, address, count, offset)} from native memory at {@code address}: the number
     * of bytes written (possibly fewer than {@code count}), or {@code -errno}. Allocates nothing when
     * the call succeeds (a write path's cost per request); a bad address is {@code -EFAULT} from the
     * kernel, not a crash. Unlike a {@link java.nio.channels.FileChannel} write, a thread's interrupt
     * closes nothing. This default fails with {@link #ENOSYS}; the system's implementation calls the
     * C library.
     */
    default long pwrite(int fd, long address, long count, long offset) {
        return -ENOSYS;
    }

    /**
     * {@code pread(fd, address, count, offset)} into native memory at {@code address}: the number of
     * bytes read (0 at the end of the file), or {@code -errno}; as {@link #pwrite}, allocation-free
     * when it succeeds and never closed by an interrupt. This default fails with {@link #ENOSYS}.
     */
    default long pread(int fd, long address, long count, long offset) {
        return -ENOSYS;
    }

    /**
     * {@code sync_file_range(fd, offset, count, flags)}: with {@link #SYNC_FILE_RANGE_WRITE}, starts
     * writing back the dirty pages of {@code [offset, offset + count)} ({@code count} 0: to the end of
     * the file) and returns without waiting for them, so that a later {@code fsync} finds less to do.
     * It promises nothing about durability. Returns 0, or {@code -errno}; this default fails with
     * {@link #ENOSYS}.
     */
    default int syncFileRange(int fd, long offset, long count, int flags) {
        return -ENOSYS;
    }
}
