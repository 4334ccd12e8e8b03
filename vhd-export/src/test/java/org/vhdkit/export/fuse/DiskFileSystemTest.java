package org.vhdkit.export.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.cryptomator.jfuse.api.DirFiller;
import org.cryptomator.jfuse.api.Errno;
import org.cryptomator.jfuse.api.FileInfo;
import org.cryptomator.jfuse.api.Fuse;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.vhdkit.vhd.disk.MemoryDisk;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.testing.ExternalTools;

/**
 * The file system's answers to libfuse, called as libfuse calls them, with Linux's errno values:
 * the root lists the one file; the paths that are not the disk's file get ENOENT, EISDIR or
 * ENOTDIR as a shell expects; a read-only mount refuses every change with EROFS, whatever the
 * kernel already checked; a negative offset is EINVAL.
 */
class DiskFileSystemTest {
    private static final int ENOENT = 2;
    private static final int EIO = 5;
    private static final int ENOMEM = 12;
    private static final int EINVAL = 22;
    private static final int EISDIR = 21;
    private static final int ENOTDIR = 20;
    private static final int EROFS = 30;
    private static final int O_WRONLY = 1;
    private static final int O_RDWR = 2;

    private Errno errno;
    private final MemoryDisk memory = MemoryDisk.create("memory", 1 << 20);
    private final AtomicInteger flushes = new AtomicInteger();

    @BeforeEach
    void linuxErrno() {
        ExternalTools.assumeEnvironment(isLinuxX86(), () -> "jfuse binds Linux on x86-64 here");
        errno = Fuse.builder().errno();
    }

    private static boolean isLinuxX86() {
        return System.getProperty("os.name").equals("Linux") && System.getProperty("os.arch").equals("amd64");
    }

    private DiskFileSystem fileSystem(boolean readOnly) {
        return new DiskFileSystem(new CountingDisk(memory, flushes), "disk", readOnly, errno, line -> { }, 0, 0,
                Instant.EPOCH);
    }

    @Test
    void theRootListsTheDiskFileAndOnlyTheRootIsADirectory() {
        DiskFileSystem fs = fileSystem(false);
        List<String> names = new ArrayList<>();
        assertEquals(0, fs.opendir("/", null));
        assertEquals(0, fs.readdir("/", filler(names), 0, null, 0));
        assertEquals(List.of(".", "..", "disk"), names);
        assertEquals(0, fs.releasedir("/", null));
        assertEquals(0, fs.fsyncdir("/", 0, null));
        assertEquals(-ENOTDIR, fs.opendir("/disk", null));
        assertEquals(-ENOENT, fs.opendir("/other", null));
        assertEquals(-ENOENT, fs.readdir("/disk", filler(names), 0, null, 0));
    }

    @Test
    void pathsOtherThanTheDiskFileAreNoFileToOpenReadWriteOrTruncate() {
        DiskFileSystem fs = fileSystem(false);
        ByteBuffer buffer = ByteBuffer.allocate(512);
        assertEquals(-EISDIR, fs.open("/", flags(O_RDWR)));
        assertEquals(-ENOENT, fs.open("/other", flags(O_RDWR)));
        assertEquals(-EISDIR, fs.read("/", buffer, 512, 0, null));
        assertEquals(-EISDIR, fs.write("/", buffer, 512, 0, null));
        assertEquals(-EISDIR, fs.truncate("/", 0, null));
        assertEquals(0, fs.flush("/", null), "closing the directory flushes nothing");
        assertEquals(0, fs.fsync("/", 0, null));
        assertEquals(0, flushes.get());
        assertEquals(0, fs.utimens("/disk", null, null, null), "touch works on the file");
        assertEquals(0, fs.utimens("/", null, null, null));
        assertEquals(-ENOENT, fs.utimens("/other", null, null, null));
    }

    @Test
    void aNegativeOffsetIsInvalidAndAReadAtTheEndReadsNothing() {
        DiskFileSystem fs = fileSystem(false);
        ByteBuffer buffer = ByteBuffer.allocate(512);
        assertEquals(-EINVAL, fs.read("/disk", buffer, 512, -512, null));
        assertEquals(-EINVAL, fs.write("/disk", buffer, 512, -512, null));
        assertEquals(0, fs.read("/disk", buffer, 512, memory.size(), null));
        assertEquals(0, fs.write("/disk", buffer, 0, memory.size(), null), "an empty write at the end");
    }

    @Test
    void aReadOnlyFileSystemRefusesEveryChangeAndFlushesNothing() throws IOException {
        DiskFileSystem fs = fileSystem(true);
        ByteBuffer buffer = ByteBuffer.wrap(new byte[512]);
        assertEquals(0, fs.open("/disk", flags(0)), "O_RDONLY");
        assertEquals(-EROFS, fs.open("/disk", flags(O_WRONLY)));
        assertEquals(-EROFS, fs.open("/disk", flags(O_RDWR)));
        assertEquals(-EROFS, fs.write("/disk", buffer, 512, 0, null));
        assertEquals(-EROFS, fs.truncate("/disk", memory.size(), null));
        assertEquals(0, fs.flush("/disk", null));
        assertEquals(0, fs.fsync("/disk", 1, null));
        fs.destroy();
        assertEquals(0, flushes.get(), "a read-only disk is never flushed");
        byte[] back = new byte[512];
        memory.read(0, back);
        assertEquals(0, back[0]);
        assertEquals(512, fs.read("/disk", buffer, 512, 0, null), "reads still work");
    }

    @Test
    void aWritableFileSystemFlushesOnCloseFsyncAndDestroy() {
        DiskFileSystem fs = fileSystem(false);
        assertEquals(0, fs.flush("/disk", null));
        assertEquals(0, fs.fsync("/disk", 1, null));
        fs.destroy();
        assertEquals(3, flushes.get());
    }

    /** libfuse's buffer for the listing is full (cannot happen with three names): ENOMEM, not an exception. */
    @Test
    void aFullListingBufferIsOutOfMemory() {
        assertEquals(-ENOMEM, fileSystem(false).readdir("/", (name, stat, offset, flags) -> 1, 0, null, 0));
    }

    /** A failed read is EIO for that request, even when the log that should say so throws. */
    @Test
    void aFailedReadIsEioEvenWhenTheLogThrows() {
        VirtualDisk broken = new ForwardingDisk(memory) {
            @Override
            public void read(long offset, MemorySegment dst, long dstOffset, long length) throws IOException {
                throw new IOException("injected read error");
            }
        };
        DiskFileSystem fs = new DiskFileSystem(broken, "disk", false, errno, line -> {
            throw new IllegalStateException("the log is gone");
        }, 0, 0, Instant.EPOCH);
        assertEquals(-EIO, fs.read("/disk", ByteBuffer.allocate(512), 512, 0, null));
    }

    private static DirFiller filler(List<String> names) {
        return (name, stat, offset, flags) -> {
            names.add(name);
            return 0;
        };
    }

    private static FileInfo flags(int flags) {
        return new FileInfo() {
            @Override
            public long getFh() {
                return 0;
            }

            @Override
            public void setFh(long fh) {
            }

            @Override
            public int getFlags() {
                return flags;
            }

            @Override
            public Set<StandardOpenOption> getOpenFlags() {
                return Set.of();
            }

            @Override
            public long getLockOwner() {
                return 0;
            }
        };
    }

    /** A disk that counts its flushes, and makes none. */
    private static final class CountingDisk extends ForwardingDisk {
        private final AtomicInteger flushes;

        CountingDisk(VirtualDisk inner, AtomicInteger flushes) {
            super(inner);
            this.flushes = flushes;
        }

        @Override
        public void flush() {
            flushes.incrementAndGet();
        }
    }
}
