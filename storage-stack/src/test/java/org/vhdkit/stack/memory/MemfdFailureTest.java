package org.vhdkit.stack.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.vhdkit.vhd.io.Libc;
import org.vhdkit.vhd.testing.ForwardingLibc;

/**
 * What guest memory does when the kernel refuses a memfd call: the failures that a seccomp filter,
 * an old kernel, a full descriptor table or a host out of memory give, which no test host gives on
 * its own. A {@link Scripted} C library fails the call the test names and passes the rest on.
 */
class MemfdFailureTest {
    private static final int EMFILE = 24;
    private static final int EPERM = 1;
    private static final long SIZE = 4 * GuestMemory.PAGE_SIZE;

    /** The system's C library, but for the one call told to fail with the errno given. */
    private static final class Scripted extends ForwardingLibc {
        final List<Integer> closed = new ArrayList<>();
        String failing = "";
        int errno;

        Scripted() {
            super(Libc.system().orElseThrow());
        }

        Scripted failing(String function, int errno) {
            this.failing = function;
            this.errno = errno;
            return this;
        }

        private Result fail(String function, Result orElse) {
            return failing.equals(function) ? new Result(-1, errno) : orElse;
        }

        @Override
        public Result lseek(int fd, long offset, int whence) {
            return failing.equals("lseek") ? new Result(-1, errno) : super.lseek(fd, offset, whence);
        }

        @Override
        public Result close(int fd) {
            closed.add(fd);
            return fail("close", super.close(fd));
        }

        @Override
        public Result memfdCreate(String name, int flags) {
            return failing.equals("memfd_create") ? new Result(-1, errno) : super.memfdCreate(name, flags);
        }

        @Override
        public Result ftruncate(int fd, long length) {
            return failing.equals("ftruncate") ? new Result(-1, errno) : super.ftruncate(fd, length);
        }

        @Override
        public Result mmap(long length, int protection, int flags, int fd, long offset) {
            return failing.equals("mmap") ? new Result(Libc.MAP_FAILED, errno)
                    : super.mmap(length, protection, flags, fd, offset);
        }

        @Override
        public Result munmap(long address, long length) {
            Result real = super.munmap(address, length);
            return fail("munmap", real);
        }
    }

    private static Scripted scripted() {
        assumeTrue(Libc.system().isPresent(), "memfd memory needs Linux and native access");
        return new Scripted();
    }

    /** Memory that works, whether in a memfd or not: written, read back, zero elsewhere. */
    private static void assertUsable(GuestMemory memory) throws GuestMemoryException {
        assertEquals(0L, memory.getLong(SIZE - 8), "fresh memory reads as zeros");
        memory.setLong(GuestMemory.PAGE_SIZE, 0x1122334455667788L);
        assertEquals(0x1122334455667788L, memory.getLong(GuestMemory.PAGE_SIZE));
    }

    @Test
    void withoutACLibraryMemoryIsAllocatedEagerlyAndCannotTellUntouchedPages() throws GuestMemoryException {
        try (GuestMemory memory = GuestMemory.allocate("vm", SIZE, null)) {
            assertEquals(-1, memory.fd());
            assertFalse(memory.untouched(0, SIZE), "eager memory cannot tell, so it says touched");
            assertUsable(memory);
        }
    }

    @Test
    void aRefusedMemfdCreateFallsBackToEagerMemory() throws GuestMemoryException {
        Scripted libc = scripted().failing("memfd_create", EMFILE);
        try (GuestMemory memory = GuestMemory.allocate("vm", SIZE, libc)) {
            assertEquals(-1, memory.fd());
            assertUsable(memory);
        }
    }

    @Test
    void aRefusedFtruncateClosesTheMemfdAndFallsBack() throws GuestMemoryException {
        Scripted libc = scripted().failing("ftruncate", Libc.EINVAL);
        try (GuestMemory memory = GuestMemory.allocate("vm", SIZE, libc)) {
            assertEquals(-1, memory.fd());
            assertEquals(1, libc.closed.size(), "the memfd made before the failure is closed");
            assertUsable(memory);
        }
    }

    @Test
    void aRefusedMmapClosesTheMemfdAndFallsBack() throws GuestMemoryException {
        Scripted libc = scripted().failing("mmap", EPERM);
        try (GuestMemory memory = GuestMemory.allocate("vm", SIZE, libc)) {
            assertEquals(-1, memory.fd());
            assertEquals(1, libc.closed.size());
            assertUsable(memory);
        }
    }

    @Test
    void aHostOutOfMemoryIsAnOutOfMemoryErrorNamingTheCallAndSize() {
        for (String call : List.of("ftruncate", "mmap")) {
            Scripted libc = scripted().failing(call, Libc.ENOMEM);
            OutOfMemoryError e = assertThrows(OutOfMemoryError.class, () -> GuestMemory.allocate("vm", SIZE, libc));
            assertTrue(e.getMessage().startsWith(call + " of " + SIZE + " bytes"), e.getMessage());
            assertEquals(1, libc.closed.size(), call + ": the memfd is closed");
        }
    }

    @Test
    void untouchedSaysTouchedWhenLseekFailsAndUntouchedWhenThereIsNoDataAfter() throws GuestMemoryException {
        Scripted libc = scripted();
        try (GuestMemory memory = GuestMemory.allocate("vm", SIZE, libc)) {
            assertTrue(memory.fd() >= 0);
            libc.failing("lseek", Libc.EINVAL);
            assertFalse(memory.untouched(0, SIZE), "an lseek that fails for another reason tells nothing");
            libc.failing("lseek", Libc.ENXIO);
            assertTrue(memory.untouched(0, SIZE), "ENXIO: no data at or after the offset");
        }
    }

    @Test
    void aFailedUnmapIsLoggedAndClosingStillClosesTheDescriptor() {
        Scripted libc = scripted();
        GuestMemory memory = GuestMemory.allocate("vm", SIZE, libc);
        int fd = memory.fd();
        libc.failing("munmap", Libc.EINVAL);
        memory.close();
        assertEquals(List.of(fd), libc.closed, "the descriptor is closed even though munmap failed");
    }
}
