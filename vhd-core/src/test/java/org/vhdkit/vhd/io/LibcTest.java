package org.vhdkit.vhd.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.testing.ExternalTools;

/**
 * The C library binding the storage stack's guest memory is made of (memfd_create, ftruncate,
 * mmap MAP_SHARED, munmap): a wrong signature or a lost errno shows here rather than as a guest
 * that sees other bytes than the host wrote.
 */
class LibcTest {
    private static final int EBADF = 9;
    private static final long PAGE = 4096;

    private static Libc libc() {
        ExternalTools.assumeEnvironment(Libc.system().isPresent(),
                () -> "the C library cannot be called (not Linux on amd64 or aarch64, or native access denied)");
        return Libc.system().orElseThrow();
    }

    @SuppressWarnings("restricted")
    private static MemorySegment at(long address, long length) {
        return MemorySegment.ofAddress(address).reinterpret(length);
    }

    @Test
    void twoSharedMappingsOfOneMemfdSeeEachOthersWrites() {
        Libc c = libc();
        Libc.Result fd = c.memfdCreate("libc-test", Libc.MFD_CLOEXEC);
        assertFalse(fd.failed(), "memfd_create: errno " + fd.errno());
        try {
            assertFalse(c.ftruncate(fd.intValue(), 4 * PAGE).failed());
            Libc.Result first = c.mmap(4 * PAGE, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd.intValue(), 0);
            Libc.Result second = c.mmap(2 * PAGE, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd.intValue(),
                    2 * PAGE);
            assertFalse(first.failed(), "mmap: errno " + first.errno());
            assertFalse(second.failed(), "mmap at an offset: errno " + second.errno());
            assertTrue(first.value() != second.value());
            at(first.value(), 4 * PAGE).set(ValueLayout.JAVA_LONG, 2 * PAGE + 8, 0x1122334455667788L);
            assertEquals(0x1122334455667788L, at(second.value(), 2 * PAGE).get(ValueLayout.JAVA_LONG, 8),
                    "the second mapping, of the file's third page, shows the first mapping's write");
            assertFalse(c.munmap(first.value(), 4 * PAGE).failed());
            assertFalse(c.munmap(second.value(), 2 * PAGE).failed());
        } finally {
            c.close(fd.intValue());
        }
    }

    @Test
    void aFailedCallReturnsMinusOneAndTheErrnoItLeft() {
        Libc c = libc();
        Libc.Result truncated = c.ftruncate(-1, PAGE);
        assertTrue(truncated.failed());
        assertEquals(EBADF, truncated.errno());
        Libc.Result mapped = c.mmap(PAGE, Libc.PROT_READ, Libc.MAP_SHARED, -1, 0);
        assertEquals(Libc.MAP_FAILED, mapped.value());
        assertEquals(EBADF, mapped.errno());
        assertEquals(Libc.EINVAL, c.munmap(1, PAGE).errno(), "an address that is not page-aligned");
        assertEquals(Libc.EINVAL, c.memfdCreate("libc-test", 0x7FFF_0000).errno(), "flags memfd_create does not know");
        assertEquals(EBADF, c.close(-1).errno());
    }

    /** Early writeback of a file being written: accepted on a file (also through a read-only descriptor), errno otherwise. */
    @Test
    void syncFileRangeStartsWritebackThroughAReadOnlyDescriptor(@TempDir Path dir) throws IOException {
        Libc c = libc();
        Path file = Files.write(dir.resolve("written"), new byte[(int) (16 * PAGE)]);
        Libc.Result fd = c.open(file.toString(), Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        assertFalse(fd.failed(), "open: errno " + fd.errno());
        try {
            assertEquals(0, c.syncFileRange(fd.intValue(), 0, 0, Libc.SYNC_FILE_RANGE_WRITE));
            assertEquals(-Libc.EINVAL, c.syncFileRange(fd.intValue(), 0, 0, 0x100), "flags it does not know");
        } finally {
            c.close(fd.intValue());
        }
        assertEquals(-EBADF, c.syncFileRange(-1, 0, 0, Libc.SYNC_FILE_RANGE_WRITE));
    }
}
