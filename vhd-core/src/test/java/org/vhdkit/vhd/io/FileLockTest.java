package org.vhdkit.vhd.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.vhdkit.vhd.testing.ExternalTools;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The lock's error paths: the JDK-lock fallback a host without native access gets, locks taken in
 * this process outside the store, a create whose lock fails, and the refusal that names the
 * process holding the file.
 */
class FileLockTest {
    /** The two ways a file is locked. */
    enum Locking {
        QEMU_PROTOCOL(OpenFile.QEMU_PROTOCOL), JDK_FALLBACK(OpenFile.JDK);

        final OpenFile.Locker locker;

        Locking(OpenFile.Locker locker) {
            this.locker = locker;
        }
    }

    @TempDir
    Path tmp;

    private Path image(String name) throws IOException {
        Path path = tmp.resolve(name);
        Files.write(path, new byte[4096]);
        return path;
    }

    /** Readers share one open file and a writer is refused, whichever lock stands behind them. */
    @ParameterizedTest
    @EnumSource(Locking.class)
    void readersShareAndAWriterIsRefusedWithEitherLock(Locking locking) throws IOException {
        Path path = image("shared.bin");
        OpenFile first = OpenFile.acquire(path, ByteStore.Mode.READ_ONLY, locking.locker);
        try {
            OpenFile second = OpenFile.acquire(path, ByteStore.Mode.READ_ONLY, locking.locker);
            assertSame(first, second, "readers in one process share the open file");
            second.release();
            IOException refused = assertThrows(IOException.class,
                    () -> OpenFile.acquire(path, ByteStore.Mode.READ_WRITE, locking.locker));
            assertTrue(refused.getMessage().contains("in use by this process (already open read-only"),
                    refused.getMessage());
            assertTrue(first.channel().isOpen(), "releasing one reader left the other's channel open");
        } finally {
            first.release();
        }
        OpenFile writer = OpenFile.acquire(path, ByteStore.Mode.READ_WRITE, locking.locker);
        assertFalse(writer.channel().size() < 0);
        writer.release();
        assertFalse(writer.channel().isOpen(), "the last release closes the channel");
    }

    /**
     * Preparing the first open (from another thread, while an open runs, as vhd's start does) makes
     * its calls with arguments the kernel refuses: it leaves no descriptor open and no lock taken, and
     * the locks work as before.
     */
    @Test
    void preparingTheFirstOpenLeavesNoDescriptorAndTheLockWorks() throws Exception {
        Path path = image("prepared.bin");
        long before = descriptors();
        Thread preparing = Thread.ofPlatform().start(ByteStore::prepareFirstOpen);
        OpenFile writer = OpenFile.acquire(path, ByteStore.Mode.READ_WRITE, OpenFile.QEMU_PROTOCOL);
        preparing.join();
        ByteStore.prepareFirstOpen();
        try {
            IOException refused = assertThrows(IOException.class,
                    () -> OpenFile.acquire(path, ByteStore.Mode.READ_ONLY, OpenFile.QEMU_PROTOCOL));
            assertTrue(refused.getMessage().contains("in use by this process"), refused.getMessage());
        } finally {
            writer.release();
        }
        assertEquals(before, descriptors(), "descriptors open before and after");
    }

    private static long descriptors() throws IOException {
        try (var open = Files.list(Path.of("/proc/self/fd"))) {
            return open.count();
        }
    }

    /**
     * A lock someone took in this process on a channel of their own (FileChannel.lock, outside the
     * store) refuses the open, and the refusal says the holder is this process, not "another
     * process"; once that lock is gone the file opens.
     */
    @ParameterizedTest
    @EnumSource(Locking.class)
    void aLockOnAnotherChannelOfThisProcessRefusesTheOpenNamingThisProcess(Locking locking) throws IOException {
        Path path = image("foreign-channel.bin");
        try (FileChannel foreign = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            for (ByteStore.Mode mode : new ByteStore.Mode[] {ByteStore.Mode.READ_ONLY, ByteStore.Mode.READ_WRITE}) {
                // Locked afresh for each mode: a refused open closes descriptors of the file, and
                // closing any descriptor drops this process's POSIX locks on it (see OfdLock).
                FileLock held = foreign.lock();
                IOException refused = assertThrows(IOException.class, () -> OpenFile.acquire(path, mode, locking.locker));
                assertTrue(refused.getMessage().contains("in use by this process"), mode + ": " + refused.getMessage());
                assertFalse(refused.getMessage().contains("another process"), mode + ": " + refused.getMessage());
                held.release();
            }
            OpenFile file = OpenFile.acquire(path, ByteStore.Mode.READ_WRITE, locking.locker);
            file.release();
        }
    }

    /**
     * A POSIX lock of another process (python3's lockf here, as any program's) refuses the open
     * with either lock, and the refusal names the holder's pid: the kernel gives it for the OFD
     * lock's conflict, /proc/locks for the JDK's lock, which only learns that someone holds one.
     */
    @ParameterizedTest
    @EnumSource(Locking.class)
    void aPosixLockOfAnotherProcessRefusesTheOpenNamingItsPid(Locking locking) throws Exception {
        ExternalTools.assumeAvailable("python3");
        Path path = image("python-holds.bin");
        Process holder = new ProcessBuilder("python3", "-c",
                "import fcntl,sys,time\n"
                        + "f=open(sys.argv[1],'r+b')\n"
                        + "fcntl.lockf(f, fcntl.LOCK_EX)\n"
                        + "print('locked', flush=True)\n"
                        + "time.sleep(60)\n", path.toString())
                .redirectErrorStream(true).start();
        try {
            String line = new BufferedReader(new InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8))
                    .readLine();
            assertEquals("locked", line, "python3 could not lock the file");
            IOException refused = assertThrows(IOException.class,
                    () -> OpenFile.acquire(path, ByteStore.Mode.READ_WRITE, locking.locker));
            assertTrue(refused.getMessage().startsWith(path + ": in use by another process (pid " + holder.pid()
                    + ", "), refused.getMessage());
            assertTrue(refused.getMessage().contains("fcntl.lockf"), "names the holder's command: " + refused.getMessage());
            assertThrows(IOException.class, () -> OpenFile.acquire(path, ByteStore.Mode.READ_ONLY, locking.locker),
                    "a reader is refused too: the lock is exclusive");
        } finally {
            holder.destroyForcibly().waitFor();
        }
        OpenFile.acquire(path, ByteStore.Mode.READ_WRITE, locking.locker).release();
    }

    /** A lock whose release fails: the release says so naming the file, and closes the channel all the same. */
    @Test
    void aLockWhoseReleaseFailsIsReportedAndTheFileClosedAnyway() throws IOException {
        Path path = image("release.bin");
        OpenFile refused = OpenFile.acquire(path, ByteStore.Mode.READ_WRITE, (p, channel, shared) -> () -> {
            throw new Exception("unlock refused");
        });
        IOException e = assertThrows(IOException.class, refused::release);
        assertEquals(path + ": releasing the lock failed", e.getMessage());
        assertEquals("unlock refused", e.getCause().getMessage());
        assertFalse(refused.channel().isOpen());
        OpenFile failing = OpenFile.acquire(path, ByteStore.Mode.READ_WRITE, (p, channel, shared) -> () -> {
            throw new IOException("unlock: Input/output error");
        });
        assertEquals("unlock: Input/output error", assertThrows(IOException.class, failing::release).getMessage());
        assertFalse(failing.channel().isOpen());
        OpenFile.acquire(path, ByteStore.Mode.READ_WRITE, OpenFile.QEMU_PROTOCOL).release(); // the registry let go
    }

    /** A create whose lock fails leaves no file behind, so that the create can be tried again. */
    @Test
    void aCreateWhoseLockFailsDeletesTheFileItMade() throws IOException {
        Path path = tmp.resolve("created.bin");
        IOException refused = assertThrows(IOException.class, () -> OpenFile.acquire(path, ByteStore.Mode.CREATE_NEW,
                (p, channel, shared) -> {
                    throw new IOException("lock refused");
                }));
        assertEquals("lock refused", refused.getMessage());
        assertFalse(Files.exists(path), "the failed create left its file");
        assertThrows(IllegalStateException.class, () -> OpenFile.acquire(path, ByteStore.Mode.CREATE_NEW,
                (p, channel, shared) -> {
                    throw new IllegalStateException("a bug in the locker");
                }));
        assertFalse(Files.exists(path), "a create failing with an unchecked exception left its file");
        try (ByteStore store = ByteStore.open(path, ByteStore.Mode.CREATE_NEW)) {
            store.writeBytes(0, new byte[] {1}); // the create works now, and the file is ours
        }
        assertEquals(1, Files.size(path));
    }

    /** An open that is refused leaves an existing file as it was. */
    @Test
    void aRefusedOpenOfAnExistingFileLeavesIt() throws IOException {
        Path path = image("existing.bin");
        assertThrows(IOException.class, () -> OpenFile.acquire(path, ByteStore.Mode.READ_WRITE,
                (p, channel, shared) -> {
                    throw new IOException("lock refused");
                }));
        assertEquals(4096, Files.size(path));
        OpenFile.acquire(path, ByteStore.Mode.READ_WRITE, OpenFile.QEMU_PROTOCOL).release();
    }

    /**
     * A JVM denied native access cannot take OFD locks and falls back to the JDK's lock; that lock
     * and ours still exclude each other across processes, and each side's refusal names the other
     * process by pid and command.
     */
    @Test
    void aJvmWithoutNativeAccessFallsBackToTheJdkLockAndBothSidesNameTheHolder() throws Exception {
        Path path = image("two-jvms.bin");
        Process child;
        ByteStore writer = ByteStore.open(path, ByteStore.Mode.READ_WRITE);
        try {
            child = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"),
                    "--illegal-native-access=deny", "-cp", System.getProperty("java.class.path"),
                    WithoutNativeAccess.class.getName(), path.toString())
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        } catch (IOException | RuntimeException e) {
            writer.close();
            throw e;
        }
        try (BufferedReader answers = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
             OutputStream go = child.getOutputStream()) {
            assertEquals("unsupported", answers.readLine(), "the child JVM had native access after all");
            String refusal = answers.readLine();
            assertNotNull(refusal, "the child exited without an answer");
            assertTrue(refusal.startsWith("refused: "), "the child could write the file this JVM writes: " + refusal);
            assertTrue(refusal.contains("pid " + ProcessHandle.current().pid()), refusal);
            writer.close();
            go.write("go\n".getBytes(StandardCharsets.UTF_8));
            go.flush();
            assertEquals("locked", answers.readLine());
            IOException refused = assertThrows(IOException.class, () -> ByteStore.open(path, ByteStore.Mode.READ_ONLY));
            assertTrue(refused.getMessage().contains("pid " + child.pid()), refused.getMessage());
            assertTrue(refused.getMessage().contains("java"), refused.getMessage());
            assertTrue(refused.getMessage().contains("(it is open for writing)"), refused.getMessage());
            go.close(); // the child releases its lock and exits
            assertTrue(child.waitFor(60, TimeUnit.SECONDS), "the child did not exit");
            assertEquals(0, child.exitValue());
        } finally {
            writer.close();
            child.destroyForcibly().waitFor();
        }
        try (ByteStore store = ByteStore.open(path, ByteStore.Mode.READ_WRITE)) {
            assertEquals(7, store.readByte(0), "the child's write");
        }
    }

    /**
     * The other side of {@link #aJvmWithoutNativeAccessFallsBackToTheJdkLockAndBothSidesNameTheHolder},
     * run in a JVM denied native access: says whether OFD locks are supported, tries to write the
     * file the parent holds, waits for "go", then writes it and holds it until stdin closes.
     */
    static final class WithoutNativeAccess {
        public static void main(String[] args) throws IOException {
            Path path = Path.of(args[0]);
            OfdLock.Attempt attempt = OfdLock.tryAcquire(path, true);
            System.out.println(attempt instanceof OfdLock.Attempt.Unsupported ? "unsupported" : attempt.toString());
            try {
                ByteStore.open(path, ByteStore.Mode.READ_WRITE).close();
                System.out.println("opened");
            } catch (IOException e) {
                System.out.println("refused: " + e.getMessage());
            }
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            if (!"go".equals(in.readLine())) {
                return;
            }
            try (ByteStore store = ByteStore.open(path, ByteStore.Mode.READ_WRITE)) {
                assertInstanceOf(MappedByteStore.class, store);
                store.writeByte(0, (byte) 7);
                System.out.println("locked");
                while (in.readLine() != null) {
                    // hold the lock until the parent closes stdin
                }
            }
        }
    }
}
