package org.vhdkit.vhd.testing;

import java.lang.foreign.MemorySegment;
import java.util.Objects;
import org.vhdkit.vhd.io.Libc;

/**
 * A C library that passes every call to another (the system's): the base of test doubles that fail
 * or record one call and leave the rest to the kernel. Subclasses override what they watch and call
 * {@code super} to pass the call on.
 *
 * <p>Thread-safety: as the library it wraps, provided the subclass's own state is safe for the calls
 * it overrides.
 */
public abstract class ForwardingLibc implements Libc {
    private final Libc delegate;

    /** Passes every call to {@code delegate}. */
    protected ForwardingLibc(Libc delegate) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
    }

    @Override
    public Result open(String path, int flags, int mode) {
        return delegate.open(path, flags, mode);
    }

    @Override
    public Result fcntl(int fd, int command, MemorySegment argument) {
        return delegate.fcntl(fd, command, argument);
    }

    @Override
    public Result lseek(int fd, long offset, int whence) {
        return delegate.lseek(fd, offset, whence);
    }

    @Override
    public Result close(int fd) {
        return delegate.close(fd);
    }

    @Override
    public Result memfdCreate(String name, int flags) {
        return delegate.memfdCreate(name, flags);
    }

    @Override
    public Result ftruncate(int fd, long length) {
        return delegate.ftruncate(fd, length);
    }

    @Override
    public Result mmap(long length, int protection, int flags, int fd, long offset) {
        return delegate.mmap(length, protection, flags, fd, offset);
    }

    @Override
    public Result munmap(long address, long length) {
        return delegate.munmap(address, length);
    }

    @Override
    public long pwrite(int fd, long address, long count, long offset) {
        return delegate.pwrite(fd, address, count, offset);
    }

    @Override
    public long pread(int fd, long address, long count, long offset) {
        return delegate.pread(fd, address, count, offset);
    }

    @Override
    public int syncFileRange(int fd, long offset, long count, int flags) {
        return delegate.syncFileRange(fd, offset, count, flags);
    }
}
