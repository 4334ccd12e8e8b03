package org.vhdkit.vhd.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.channels.Pipe;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.vhdkit.vhd.testing.ExternalTools;
import org.vhdkit.vhd.testing.ForwardingLibc;

/** Both stores, the mapped one on the default file system and the channel one on jimfs, behave alike. */
class ByteStoreTest {
    enum Where { MAPPED_ON_DISK, CHANNEL_ON_DISK, CHANNEL_ON_JIMFS }

    @TempDir
    Path tmp;
    private FileSystem jimfs;

    @AfterEach
    void closeJimfs() throws IOException {
        if (jimfs != null) {
            jimfs.close();
        }
    }

    private Path file(Where where, String name) throws IOException {
        if (where == Where.CHANNEL_ON_JIMFS) {
            if (jimfs == null) {
                jimfs = Jimfs.newFileSystem(Configuration.unix());
            }
            Path dir = jimfs.getPath("/work");
            Files.createDirectories(dir);
            return dir.resolve(name);
        }
        return tmp.resolve(name);
    }

    private static ByteStore.Backing backing(Where where) {
        return where == Where.MAPPED_ON_DISK ? ByteStore.Backing.MAPPED : ByteStore.Backing.CHANNEL;
    }

    @ParameterizedTest
    @EnumSource(Where.class)
    void writesReadBackAndSurviveReopening(Where where) throws IOException {
        Path path = file(where, "a.bin");
        byte[] data = new byte[100_000];
        new Random(1).nextBytes(data);
        try (ByteStore store = ByteStore.open(path, ByteStore.Mode.CREATE_NEW, backing(where))) {
            store.setSize(200_000);
            store.write(12_345, MemorySegment.ofArray(data));
            byte[] back = new byte[data.length];
            store.read(12_345, MemorySegment.ofArray(back));
            assertArrayEquals(data, back);
            assertEquals(0, store.readByte(0));
            assertEquals(data[7], store.readByte(12_345 + 7));
            store.force();
        }
        try (ByteStore store = ByteStore.open(path, ByteStore.Mode.READ_ONLY, backing(where))) {
            assertEquals(200_000, store.size());
            assertArrayEquals(data, store.readBytes(12_345, data.length));
            assertTrue(store.isReadOnly());
            IOException refused = assertThrows(IOException.class, () -> store.writeByte(0, (byte) 1));
            assertTrue(refused.getMessage().contains("read-only"), refused.getMessage());
        }
    }

    @ParameterizedTest
    @EnumSource(Where.class)
    void writesPastTheEndGrowTheFileAndReadsPastItAreRefused(Where where) throws IOException {
        Path path = file(where, "grow.bin");
        try (ByteStore store = ByteStore.open(path, ByteStore.Mode.CREATE_NEW, backing(where))) {
            store.writeBytes(4096, new byte[] {1, 2, 3});
            assertEquals(4099, store.size());
            assertEquals(0, store.readByte(100));
            assertEquals(3, store.readByte(4098));
            EOFException past = assertThrows(EOFException.class, () -> store.readBytes(4000, 200));
            assertTrue(past.getMessage().contains("past the end"), past.getMessage());
            store.setSize(1000);
            assertEquals(1000, store.size());
            assertThrows(EOFException.class, () -> store.readByte(1000));
        }
        assertEquals(1000, Files.size(path));
    }

    @ParameterizedTest
    @EnumSource(Where.class)
    void aSecondWriterInThisProcessIsRefusedAndReadersShare(Where where) throws IOException {
        Path path = file(where, "locked.bin");
        Files.write(path, new byte[512]);
        try (ByteStore writer = ByteStore.open(path, ByteStore.Mode.READ_WRITE, backing(where))) {
            IOException second = assertThrows(IOException.class,
                    () -> ByteStore.open(path, ByteStore.Mode.READ_WRITE, backing(where)));
            assertTrue(second.getMessage().contains("in use by this process"), second.getMessage());
            assertThrows(IOException.class, () -> ByteStore.open(path, ByteStore.Mode.READ_ONLY, backing(where)));
            writer.writeByte(0, (byte) 9);
        }
        try (ByteStore a = ByteStore.open(path, ByteStore.Mode.READ_ONLY, backing(where));
             ByteStore b = ByteStore.open(path, ByteStore.Mode.READ_ONLY, backing(where))) {
            assertEquals(9, a.readByte(0));
            a.close();
            assertEquals(9, b.readByte(0)); // closing one reader leaves the other working
            assertThrows(IOException.class, () -> ByteStore.open(path, ByteStore.Mode.READ_WRITE, backing(where)));
        }
        assertThrows(FileAlreadyExistsException.class,
                () -> ByteStore.open(path, ByteStore.Mode.CREATE_NEW, backing(where)));
    }

    /**
     * A real ENOSPC, from a {@link SmallTmpfs}, is reported naming the file, the call and the
     * offset, followed by the JDK's text for the errno, which names none of them; so is a resize
     * that finds the file system full, which leaves the size as it was.
     */
    @ParameterizedTest
    @EnumSource(value = Where.class, names = {"MAPPED_ON_DISK", "CHANNEL_ON_DISK"})
    void aWriteOrResizeThatFindsNoSpaceNamesTheFileAndTheOffset(Where where, @TempDir Path dir) throws IOException {
        try (SmallTmpfs small = SmallTmpfs.mount(dir)) {
            Path file = small.point().resolve("d.img");
            try (ByteStore store = ByteStore.open(file, ByteStore.Mode.CREATE_NEW, backing(where))) {
                IOException e = assertThrows(IOException.class, () -> store.writeBytes(0, new byte[1 << 20]));
                assertTrue(e.getMessage().matches(java.util.regex.Pattern.quote(file.toString())
                        + ": write of \\d+ bytes at offset \\d+: No space left on device"), e.getMessage());
                // The file system is full now: making the file larger needs a page, and there is none.
                long size = store.size();
                IOException resize = assertThrows(IOException.class, () -> store.setSize(4L << 20));
                assertEquals(file + ": resize to 4194304 bytes: No space left on device", resize.getMessage());
                assertEquals(size, store.size(), "a failed resize changed the size");
                if (where == Where.CHANNEL_ON_DISK) {
                    IOException one = assertThrows(IOException.class, () -> store.writeByte(3L << 20, (byte) 1));
                    assertEquals(file + ": write of 1 bytes at offset 3145728: No space left on device",
                            one.getMessage());
                }
            }
        }
    }

    /**
     * A hole of a sparse file (a fixed VHD made without zero-fill, say) written on a full file system
     * by small writes and writes from the heap, which the mapped store used to copy through its shared
     * mapping: the kernel's SIGBUS became a java.lang.InternalError naming nothing, which HotSpot may
     * deliver past any catch (seen in a full run). Every write now goes through {@code pwrite}: the
     * error is the ENOSPC of the write, naming the file and the offset, and the hole still reads.
     */
    @Test
    void aSmallOrHeapWriteIntoAHoleOnAFullFileSystemIsAnErrorNamingTheOffset(@TempDir Path dir) throws IOException {
        try (SmallTmpfs small = SmallTmpfs.mount(dir)) {
            Path file = small.point().resolve("sparse.img");
            try (ByteStore store = ByteStore.open(file, ByteStore.Mode.CREATE_NEW, ByteStore.Backing.MAPPED)) {
                store.setSize(4L << 20);
                assertEquals(0, store.readByte(0)); // mapped now
                byte[] data = new byte[512 * 1024];
                Arrays.fill(data, (byte) 7);
                IOException e = assertThrows(IOException.class, () -> store.writeBytes(1 << 20, data));
                assertTrue(e.getMessage().matches(java.util.regex.Pattern.quote(file.toString())
                        + ": write of \\d+ bytes at offset \\d+: No space left on device"), e.getMessage());
                IOException one = assertThrows(IOException.class, () -> store.writeByte(3L << 20, (byte) 1));
                assertEquals(file + ": write of 1 bytes at offset 3145728: No space left on device", one.getMessage());
                IOException sector = assertThrows(IOException.class, () -> store.writeBytes(2L << 20, new byte[512]));
                assertEquals(file + ": write of 512 bytes at offset 2097152: No space left on device",
                        sector.getMessage());
                assertEquals(0, store.readByte(2L << 20), "a hole reads as zeros");
            }
        }
    }

    /**
     * What keeps the test above from ever meeting SIGBUS, whatever the write: a writable mapped store
     * maps its file read-only (the kernel's list of this process's mappings shows no write
     * permission), so no write can go through the mapping; what the store wrote reads back through it.
     */
    @Test
    void aWritableMappedStoreMapsItsFileReadOnly() throws IOException {
        Path path = tmp.resolve("read-only-mapping.img");
        try (ByteStore store = ByteStore.open(path, ByteStore.Mode.CREATE_NEW, ByteStore.Backing.MAPPED)) {
            store.setSize(1 << 20);
            store.writeByte(4096, (byte) 5);
            store.writeBytes(8192, new byte[] {1, 2, 3});
            assertEquals(5, store.readByte(4096)); // maps the file
            assertArrayEquals(new byte[] {1, 2, 3}, store.readBytes(8192, 3));
            String file = path.toRealPath().toString();
            java.util.List<String> mappings = Files.readAllLines(Path.of("/proc/self/maps")).stream()
                    .filter(line -> line.endsWith(" " + file)).toList();
            assertTrue(!mappings.isEmpty(), "the file is not mapped");
            for (String line : mappings) {
                String permissions = line.split(" ")[1];
                assertEquals("r--s", permissions, "a mapping of the file: " + line);
            }
        }
    }

    /** Opening a file for writing and closing it writes nothing: not a byte, not its modification time. */
    @Test
    void openingAWritableMappedStoreLeavesTheFileUntouched() throws IOException {
        Path path = tmp.resolve("untouched.img");
        byte[] bytes = new byte[8192];
        new Random(3).nextBytes(bytes);
        Files.write(path, bytes);
        java.nio.file.attribute.FileTime old = java.nio.file.attribute.FileTime.fromMillis(1_000_000_000_000L);
        Files.setLastModifiedTime(path, old);
        try (ByteStore store = ByteStore.open(path, ByteStore.Mode.READ_WRITE, ByteStore.Backing.MAPPED)) {
            assertEquals(8192, store.size());
        }
        assertArrayEquals(bytes, Files.readAllBytes(path));
        assertEquals(old, Files.getLastModifiedTime(path));
    }

    /**
     * A 64 KiB tmpfs mounted for a test (root only; /dev/full, which refuses every write with
     * ENOSPC, is a character device that stores refuse to open).
     */
    private record SmallTmpfs(Path point) implements AutoCloseable {
        static SmallTmpfs mount(Path dir) throws IOException {
            ExternalTools.assumeAvailable("mount", "umount");
            ExternalTools.assumeEnvironment("root".equals(System.getProperty("user.name")),
                    () -> "mounting a small tmpfs needs root");
            Path point = Files.createDirectory(dir.resolve("small"));
            ExternalTools.run(java.time.Duration.ofSeconds(30), "mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs",
                    point.toString()).requireSuccess();
            return new SmallTmpfs(point);
        }

        @Override
        public void close() {
            ExternalTools.run(java.time.Duration.ofSeconds(30), "umount", point.toString()).requireSuccess();
        }
    }

    /** What is not an open regular file is refused naming it, before any byte is read. */
    /**
     * What the NBD server's large reads rely on: a transfer sends the file's bytes as they are; one
     * past the end is refused; on an interrupted thread nothing is sent and the store stays usable (an
     * interrupt during the channel's transfer would close it for every user of the file); a target
     * that fails or is closed is an error naming the file.
     */
    @ParameterizedTest
    @EnumSource(Where.class)
    void aTransferSendsTheFilesBytesAndRefusesWhatItCannot(Where where) throws IOException {
        Path path = file(where, "transferred.bin");
        byte[] bytes = new byte[64 * 1024];
        new Random(11).nextBytes(bytes);
        Path sent = tmp.resolve("sent-" + where);
        try (ByteStore store = ByteStore.open(path, ByteStore.Mode.CREATE_NEW, backing(where));
             FileChannel target = FileChannel.open(sent, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            store.writeBytes(0, bytes);
            assertTrue(store.transfers());
            long length = 48 * 1024;
            for (long done = 0; done < length; ) {
                done += store.transferTo(4096 + done, length - done, target);
            }
            assertArrayEquals(Arrays.copyOfRange(bytes, 4096, 4096 + (int) length), Files.readAllBytes(sent));

            assertThrows(EOFException.class, () -> store.transferTo(60 * 1024, 8 * 1024, target));

            Thread.currentThread().interrupt();
            try {
                assertEquals(0, store.transferTo(0, 4096, target));
            } finally {
                assertTrue(Thread.interrupted());
            }
            assertArrayEquals(Arrays.copyOf(bytes, 16), store.readBytes(0, 16), "the store still reads");

            Pipe pipe = Pipe.open();
            pipe.source().close();
            try (Pipe.SinkChannel broken = pipe.sink()) {
                IOException e = assertThrows(IOException.class, () -> store.transferTo(0, 4096, broken));
                assertTrue(e.getMessage().startsWith(path.toString()), e.getMessage());
            }
            target.close();
            IOException closed = assertThrows(IOException.class, () -> store.transferTo(0, 4096, target));
            assertEquals(path + ": transfer of 4096 bytes at offset 0: the target is closed", closed.getMessage());
            assertArrayEquals(Arrays.copyOf(bytes, 16), store.readBytes(0, 16), "a closed target leaves the store open");
        }
    }

    @ParameterizedTest
    @EnumSource(value = Where.class, names = {"MAPPED_ON_DISK", "CHANNEL_ON_DISK"})
    void aMissingFileACharacterDeviceAndAClosedStoreAreRefused(Where where) throws IOException {
        Path missing = tmp.resolve("missing.img");
        java.nio.file.NoSuchFileException none = assertThrows(java.nio.file.NoSuchFileException.class,
                () -> ByteStore.open(missing, ByteStore.Mode.READ_ONLY, backing(where)));
        assertEquals(missing + ": no such file", none.getMessage());
        Path device = Path.of("/dev/null");
        IOException refused = assertThrows(IOException.class,
                () -> ByteStore.open(device, ByteStore.Mode.READ_ONLY, backing(where)));
        assertEquals("/dev/null: is a character device, not a disk image; not opened", refused.getMessage());
        Path path = file(where, "closed.bin");
        Files.write(path, new byte[4096]);
        ByteStore store = ByteStore.open(path, ByteStore.Mode.READ_WRITE, backing(where));
        store.close();
        assertThrows(java.nio.channels.ClosedChannelException.class, () -> store.readByte(0));
        assertThrows(java.nio.channels.ClosedChannelException.class, () -> store.writeByte(0, (byte) 1));
        assertThrows(java.nio.channels.ClosedChannelException.class, () -> store.setSize(8192));
        store.close(); // a second close does nothing
        assertEquals(4096, Files.size(path));
    }

    /**
     * Early writeback is a request every store takes: the mapped store asks the kernel, the channel
     * store (and jimfs, which has no descriptor at all) does nothing, and neither fails nor changes a
     * byte; a read-only store takes it too. A closed store refuses it as it refuses every call.
     */
    @ParameterizedTest
    @EnumSource(Where.class)
    void startingWritebackChangesNothingAndAClosedStoreRefusesIt(Where where) throws IOException {
        Path path = file(where, "writeback.img");
        byte[] bytes = new byte[3 << 20];
        new Random(15).nextBytes(bytes);
        ByteStore store = ByteStore.open(path, ByteStore.Mode.CREATE_NEW, backing(where));
        store.writeBytes(0, bytes);
        store.startWriteback();
        store.startWriteback();
        assertArrayEquals(bytes, store.readBytes(0, bytes.length));
        store.close();
        assertThrows(java.nio.channels.ClosedChannelException.class, store::startWriteback);
        assertArrayEquals(bytes, Files.readAllBytes(path));
        try (ByteStore reader = ByteStore.open(path, ByteStore.Mode.READ_ONLY, backing(where))) {
            reader.startWriteback();
            assertEquals(bytes.length, reader.size());
        }
    }

    /**
     * The mapped store asks for writeback with {@code sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE)}
     * on the descriptor it opened for its writes, and opens no other; a read-only store does not ask.
     * Where the file system answers that it cannot (ENOSYS, EINVAL, ESPIPE, EOPNOTSUPP) the store asks
     * no more, quietly; any other answer (EIO) is left to the force and the store asks again next time.
     */
    @Test
    void theMappedStoreAsksOnItsOwnDescriptorAndStopsWhereTheFileSystemCannot() throws IOException {
        Libc system = Libc.system().orElse(null);
        ExternalTools.assumeEnvironment(system != null,
                () -> "the C library cannot be called (not Linux on amd64 or aarch64, or native access denied)");
        Path path = tmp.resolve("asked.img");
        Files.write(path, new byte[1 << 20]);
        RecordingLibc libc = new RecordingLibc(system, 0);
        try (ByteStore store = new MappedByteStore(OpenFile.acquire(path, ByteStore.Mode.READ_WRITE), path, libc)) {
            store.writeBytes(4096, new byte[] {1, 2, 3});
            store.startWriteback();
            store.startWriteback();
            assertEquals(1, libc.opened.size(), "descriptors opened: " + libc.opened);
            int fd = libc.opened.getFirst();
            assertEquals(java.util.List.of("sync_file_range(" + fd + ", 0, 0, 2) = 0", "sync_file_range(" + fd
                    + ", 0, 0, 2) = 0"), libc.calls);
        }
        for (int errno : new int[] {Libc.ENOSYS, Libc.EINVAL, Libc.ESPIPE, Libc.EOPNOTSUPP}) {
            RecordingLibc unsupported = new RecordingLibc(system, errno);
            try (ByteStore store = new MappedByteStore(OpenFile.acquire(path, ByteStore.Mode.READ_WRITE), path,
                    unsupported)) {
                store.startWriteback();
                store.startWriteback();
                store.writeBytes(0, new byte[] {9});
                store.force();
                assertEquals(1, unsupported.calls.size(), "errno " + errno + ": " + unsupported.calls);
            }
        }
        RecordingLibc failing = new RecordingLibc(system, Libc.EIO);
        try (ByteStore store = new MappedByteStore(OpenFile.acquire(path, ByteStore.Mode.READ_WRITE), path, failing)) {
            store.startWriteback();
            store.startWriteback();
            assertEquals(2, failing.calls.size(), "EIO: " + failing.calls);
        }
        RecordingLibc reading = new RecordingLibc(system, 0);
        try (ByteStore store = new MappedByteStore(OpenFile.acquire(path, ByteStore.Mode.READ_ONLY), path, reading)) {
            store.startWriteback();
            assertEquals(java.util.List.of(), reading.calls, "a read-only store has nothing of its own to write back");
        }
        assertEquals(9, Files.readAllBytes(path)[0]);
    }

    /**
     * The system's C library, recording the descriptors {@code open} returned and each {@code
     * sync_file_range} (which, when {@code failWith} is not 0, fails with that errno without asking).
     */
    private static final class RecordingLibc extends ForwardingLibc {
        private final int failWith;
        final java.util.List<Integer> opened = new java.util.concurrent.CopyOnWriteArrayList<>();
        final java.util.List<String> calls = new java.util.concurrent.CopyOnWriteArrayList<>();

        RecordingLibc(Libc system, int failWith) {
            super(system);
            this.failWith = failWith;
        }

        @Override
        public Result open(String path, int flags, int mode) {
            Result r = super.open(path, flags, mode);
            if (!r.failed()) {
                opened.add(r.intValue());
            }
            return r;
        }

        @Override
        public int syncFileRange(int fd, long offset, long count, int flags) {
            int r = failWith != 0 ? -failWith : super.syncFileRange(fd, offset, count, flags);
            calls.add("sync_file_range(" + fd + ", " + offset + ", " + count + ", " + flags + ") = " + r);
            return r;
        }
    }

    /**
     * A block device has no size in its attributes (st_size 0): the store has it all the same, here
     * a loop device's over a 3 MiB file, and reads its last byte.
     */
    @Test
    void aBlockDevicesSizeIsTheKernelsCountOfItsSectors() throws IOException {
        ExternalTools.assumeAvailable("losetup");
        ExternalTools.assumeEnvironment("root".equals(System.getProperty("user.name")),
                () -> "attaching a loop device needs root");
        Path backingFile = tmp.resolve("loop.img");
        byte[] data = new byte[3 << 20];
        data[(3 << 20) - 1] = 42;
        Files.write(backingFile, data);
        String loop = ExternalTools.run(java.time.Duration.ofSeconds(30), "losetup", "-f", "--show", "-r",
                backingFile.toString()).requireSuccess().stdout().strip();
        try (ByteStore store = ByteStore.open(Path.of(loop), ByteStore.Mode.READ_ONLY)) {
            assertEquals(3 << 20, store.size());
            assertEquals(42, store.readByte((3 << 20) - 1));
        } finally {
            ExternalTools.run(java.time.Duration.ofSeconds(30), "losetup", "-d", loop).requireSuccess();
        }
    }

    /**
     * The mapped store's large native write into a hole of a sparse file on a full file system goes
     * through {@code pwrite}, so it is an error naming the file and the offset: a store through the
     * mapping would have killed the JVM with SIGBUS.
     */
    @Test
    void aLargeNativeWriteIntoAHoleOfAFullFileSystemIsAnErrorNotASigbus(@TempDir Path dir) throws IOException {
        try (SmallTmpfs small = SmallTmpfs.mount(dir); Arena arena = Arena.ofConfined()) {
            Path sparse = small.point().resolve("s.img");
            try (ByteStore store = ByteStore.open(sparse, ByteStore.Mode.CREATE_NEW, ByteStore.Backing.MAPPED)) {
                store.setSize(4 << 20);
                store.readByte(0); // mapped
                IOException e = assertThrows(IOException.class, () -> store.write(1 << 20, arena.allocate(1 << 20)));
                assertTrue(e.getMessage().matches(java.util.regex.Pattern.quote(sparse.toString())
                        + ": write of \\d+ bytes at offset \\d+: No space left on device"), e.getMessage());
            }
        }
    }

    /**
     * The mapped store writes a page or more from native memory with {@code pwrite}, and reads 64 KiB
     * or more into it with {@code pread}, on a descriptor of its own: the bytes read back both ways and
     * after reopening, and a reader or writer whose interrupt status is set (which would close a JDK
     * channel for every user) leaves the store working.
     */
    @Test
    void largeNativeWritesAndReadsAgreeAndAnInterruptLeavesTheStoreWorking() throws IOException {
        Path path = tmp.resolve("native.bin");
        byte[] data = new byte[256 * 1024 + 3];
        new Random(2).nextBytes(data);
        try (Arena arena = Arena.ofConfined();
             ByteStore store = ByteStore.open(path, ByteStore.Mode.CREATE_NEW, ByteStore.Backing.MAPPED)) {
            store.setSize(1 << 20);
            MemorySegment src = arena.allocate(data.length);
            MemorySegment.copy(data, 0, src, ValueLayout.JAVA_BYTE, 0, data.length);
            store.read(0, MemorySegment.ofArray(new byte[16])); // maps the file first
            store.write(4097, src);
            assertArrayEquals(data, store.readBytes(4097, data.length));
            Thread.currentThread().interrupt();
            try {
                store.write(600_000, src);
            } finally {
                assertTrue(Thread.interrupted(), "the interrupt status is the caller's, left as it was");
            }
            assertArrayEquals(data, store.readBytes(600_000, data.length));
            MemorySegment back = arena.allocate(data.length); // native and large: read with pread
            Thread.currentThread().interrupt();
            try {
                store.read(600_000, back);
            } finally {
                assertTrue(Thread.interrupted());
            }
            assertArrayEquals(data, back.toArray(ValueLayout.JAVA_BYTE));
            store.force();
        }
        try (ByteStore store = ByteStore.open(path, ByteStore.Mode.READ_ONLY, ByteStore.Backing.MAPPED)) {
            assertArrayEquals(data, store.readBytes(4097, data.length));
            assertArrayEquals(data, store.readBytes(600_000, data.length));
        }
    }

    @Test
    void theDefaultFileSystemIsMappedAndOthersUseTheChannel() throws IOException {
        Path onDisk = tmp.resolve("auto.bin");
        Files.write(onDisk, new byte[512]);
        try (ByteStore store = ByteStore.open(onDisk, ByteStore.Mode.READ_ONLY)) {
            assertInstanceOf(MappedByteStore.class, store);
        }
        Path inMemory = file(Where.CHANNEL_ON_JIMFS, "auto.bin");
        Files.write(inMemory, new byte[512]);
        try (ByteStore store = ByteStore.open(inMemory, ByteStore.Mode.READ_ONLY)) {
            assertInstanceOf(ChannelByteStore.class, store);
        }
    }

    /** -Dvhdkit.io=channel or =mapped chooses the store that AUTO would otherwise choose by file system. */
    @Test
    void theBackingPropertyChoosesTheStoreForAutomaticBacking() throws IOException {
        Path onDisk = tmp.resolve("forced.bin");
        Files.write(onDisk, new byte[512]);
        String before = System.getProperty(ByteStore.BACKING_PROPERTY);
        try {
            System.setProperty(ByteStore.BACKING_PROPERTY, " Channel ");
            try (ByteStore store = ByteStore.open(onDisk, ByteStore.Mode.READ_ONLY)) {
                assertInstanceOf(ChannelByteStore.class, store);
            }
            System.setProperty(ByteStore.BACKING_PROPERTY, "mapped");
            try (ByteStore store = ByteStore.open(onDisk, ByteStore.Mode.READ_ONLY)) {
                assertInstanceOf(MappedByteStore.class, store);
            }
        } finally {
            if (before == null) {
                System.clearProperty(ByteStore.BACKING_PROPERTY);
            } else {
                System.setProperty(ByteStore.BACKING_PROPERTY, before);
            }
        }
    }

    /**
     * Readers copy through the mapping while a writer appends far enough to make the store map its
     * last chunk again; no reader may fail or see other bytes.
     */
    @Test
    void readersKeepReadingWhileTheFileGrowsAndIsRemapped() throws Exception {
        Path path = tmp.resolve("remap.bin");
        byte[] head = new byte[8192];
        new Random(2).nextBytes(head);
        try (ByteStore store = ByteStore.open(path, ByteStore.Mode.CREATE_NEW, ByteStore.Backing.MAPPED)) {
            store.writeBytes(0, head);
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread[] readers = new Thread[2];
            for (int t = 0; t < readers.length; t++) {
                readers[t] = new Thread(() -> {
                    byte[] buffer = new byte[4096];
                    MemorySegment segment = MemorySegment.ofArray(buffer);
                    Random random = new Random();
                    try {
                        while (!stop.get()) {
                            int at = random.nextInt(head.length - buffer.length);
                            store.read(at, segment);
                            for (int i = 0; i < buffer.length; i++) {
                                if (buffer[i] != head[at + i]) {
                                    throw new AssertionError("byte " + (at + i) + " read wrong");
                                }
                            }
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                });
                readers[t].start();
            }
            byte[] block = new byte[1 << 20];
            long end = 200L << 20; // many re-maps: every sixteenth of growth
            for (long at = head.length; at < end; at += block.length) {
                block[0] = (byte) (at >>> 20);
                store.writeBytes(at, block);
                // Touch the tail too, so the store has cause to map it again.
                assertEquals(block[0], store.readByte(at));
            }
            stop.set(true);
            for (Thread reader : readers) {
                reader.join();
            }
            if (failure.get() != null) {
                throw new AssertionError("a reader failed while the file grew", failure.get());
            }
            assertArrayEquals(head, store.readBytes(0, head.length));

            // The race the readers above may or may not hit, made certain: between taking the
            // mapping and using it, the file grows and is mapped again, closing the segment in
            // hand. Each kind of read must meet the closed arena, retry, and get it right.
            MappedByteStore mapped = (MappedByteStore) store;
            AtomicBoolean armed = new AtomicBoolean();
            mapped.beforeAccess = () -> {
                if (armed.compareAndSet(true, false)) {
                    try {
                        long size = store.size();
                        store.writeBytes(size, new byte[(int) MappedByteStore.remapLag(size) + (1 << 20)]);
                        store.readByte(store.size() - 1); // past the mapping by more than the lag: re-maps
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }
            };
            long before = mapped.remapRetries();
            armed.set(true);
            assertArrayEquals(Arrays.copyOfRange(head, 100, 4196), store.readBytes(100, 4096));
            armed.set(true);
            assertEquals(head[77], store.readByte(77));
            armed.set(true);
            store.writeBytes(5000, new byte[] {1, 2, 3});
            armed.set(true);
            store.writeByte(6000, (byte) 9);
            mapped.beforeAccess = () -> {
            };
            // Writes never go through the mapping (see MappedByteStore): only the two reads retried.
            assertEquals(2, mapped.remapRetries() - before, "each read retried once after its re-map");
            assertArrayEquals(new byte[] {1, 2, 3}, store.readBytes(5000, 3));
            assertEquals(9, store.readByte(6000));
        }
    }

    /**
     * POSIX locks, which the JDK takes, vanish when any descriptor of the file is closed in the
     * process; the store's lock must not: reading the image with Files.readAllBytes while it is open
     * for writing leaves it locked against other processes.
     */
    @Test
    void closingAnotherChannelOfTheFileKeepsTheLock() throws Exception {
        ExternalTools.assumeAvailable("python3");
        Path path = tmp.resolve("kept.bin");
        Files.write(path, new byte[512]);
        try (ByteStore writer = ByteStore.open(path, ByteStore.Mode.READ_WRITE)) {
            Files.readAllBytes(path); // opens and closes a descriptor of the same file
            Process other = new ProcessBuilder("python3", "-c",
                    "import fcntl,sys\n"
                            + "f=open(sys.argv[1],'r+b')\n"
                            + "try:\n"
                            + "    fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
                            + "    print('got it')\n"
                            + "except OSError:\n"
                            + "    print('refused')\n", path.toString())
                    .redirectErrorStream(true).start();
            String answer = new String(other.getInputStream().readAllBytes()).trim();
            other.waitFor();
            assertEquals("refused", answer, "another process could lock the file the store holds");
            writer.writeByte(0, (byte) 1);
        }
    }

    @Test
    void aDirectoryIsRefusedByName() {
        IOException refused = assertThrows(IOException.class, () -> ByteStore.open(tmp, ByteStore.Mode.READ_ONLY));
        assertTrue(refused.getMessage().contains(tmp.toString()) && refused.getMessage().contains("directory"),
                refused.getMessage());
    }
}
