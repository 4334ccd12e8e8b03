package org.vhdkit.export.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.disk.MemoryDisk;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.testing.ExternalTools;

/**
 * {@code vhd unmount} ({@link DiskMount#unmount}) and the mount points it and {@code vhd mount} are
 * given, with real FUSE mounts: a mount served by another process (which exits, or was killed), a
 * mount point named through a symbolic link or holding a space, a mount that is busy, one that is
 * not ours; and a disk whose close fails at the end of its mount.
 */
@Timeout(120)
class DiskMountUnmountTest {
    private static final int MIB = 1 << 20;
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path tmp;

    private final List<DiskMount> mounts = new ArrayList<>();
    private final List<String> log = Collections.synchronizedList(new ArrayList<>());

    @BeforeEach
    void fuse() {
        DiskMountTest.assumeFuseMounts();
    }

    @AfterEach
    void cleanUp() throws IOException {
        for (DiskMount m : mounts) {
            try {
                m.close();
            } catch (IOException e) {
                // A test's disk that fails to close on purpose.
            }
        }
    }

    private DiskMount mount(VirtualDisk disk, Path point) throws IOException {
        Files.createDirectories(point);
        DiskMount m = DiskMount.mount(disk, point, "disk", false, log::add);
        mounts.add(m);
        return m;
    }

    /** A mount point with a space, which the mount table writes as \040: found, watched and unmounted. */
    @Test
    void aMountPointWithASpaceIsFoundInTheMountTableAndUnmounted() throws Exception {
        DiskMount m = mount(MemoryDisk.create("memory", MIB), tmp.resolve("my disk"));
        assertTrue(MountTable.at(m.mountPoint()).isPresent(), "the mount table names " + m.mountPoint());
        Files.write(m.file(), new byte[] {1, 2, 3}, StandardOpenOption.WRITE);
        DiskMount.Unmounted u = DiskMount.unmount(m.mountPoint(), WAIT);
        assertEquals(new DiskMount.Unmounted(ProcessHandle.current().pid(), "memory", true), u);
        assertTrue(m.awaitClosed(Duration.ZERO));
    }

    @Test
    void aMountPointNamedThroughASymbolicLinkIsUnmountedAndCannotBeMountedAgain() throws Exception {
        DiskMount m = mount(MemoryDisk.create("memory", MIB), tmp.resolve("real"));
        Path link = Files.createSymbolicLink(tmp.resolve("link"), m.mountPoint());
        IOException again = assertThrows(IOException.class, () -> mount(MemoryDisk.create("other", MIB), link));
        assertEquals(m.mountPoint() + ": is already a mount point (fuse.vhd from " + m.source() + "); 'vhd unmount "
                + m.mountPoint() + "' ends it", again.getMessage());
        assertTrue(DiskMount.unmount(link, WAIT).closed());
        assertTrue(m.awaitClosed(Duration.ZERO));
        assertTrue(MountTable.at(m.mountPoint()).isEmpty());
    }

    /** fusermount3 refuses a mount in use; the refusal says what holds it and how to let go. */
    @Test
    void aBusyMountIsNotUnmountedAndTheRefusalSaysWhy() throws Exception {
        DiskMount m = mount(MemoryDisk.create("memory", MIB), tmp.resolve("busy"));
        try (FileChannel open = FileChannel.open(m.file(), StandardOpenOption.READ)) {
            FileSystemException busy = assertThrows(FileSystemException.class, () -> DiskMount.unmount(m.mountPoint(), WAIT));
            assertTrue(busy.getMessage().startsWith(m.mountPoint() + ": cannot unmount: "), busy.getMessage());
            assertTrue(busy.getMessage().contains("busy") && busy.getMessage().contains("still has the disk's file open"),
                    busy.getMessage());
            assertEquals(0, open.size() % 512, "still mounted and serving");
        }
        assertTrue(DiskMount.unmount(m.mountPoint(), WAIT).closed());
    }

    @Test
    void aMountThatIsNotOursIsNotUnmounted() throws Exception {
        ExternalTools.assumeAvailable("mount", "umount");
        ExternalTools.assumeEnvironment(FuseHost.uid() == 0, () -> "mounting a tmpfs needs root");
        Path point = Files.createDirectories(tmp.resolve("tmpfs"));
        ExternalTools.run(WAIT, "mount", "-t", "tmpfs", "-o", "size=64k", "vhdkit-test", point.toString()).requireSuccess();
        try {
            FileSystemException e = assertThrows(FileSystemException.class, () -> DiskMount.unmount(point, WAIT));
            assertEquals(point.toRealPath() + ": is not a vhd mount (it is tmpfs from vhdkit-test); unmount it with"
                    + " umount or fusermount3 -u", e.getMessage());
            assertTrue(MountTable.at(point.toRealPath()).isPresent(), "left mounted");
        } finally {
            ExternalTools.run(WAIT, "umount", point.toString()).requireSuccess();
        }
    }

    /**
     * The disk's close fails when the mount ends: unmount, awaitClosed() and close() say so (so that
     * {@code vhd mount} exits non-zero), and the log names the disk. Unmounting a mount of this
     * process reported success when the watcher had finished the mount (and dropped it from the
     * mounts it looks up) before unmount looked it up: the lookup now comes first.
     */
    @Test
    void unmountReportedAFailedCloseAsDoneWhenTheWatcherFinishedFirst() throws Exception {
        DiskMount m = mount(new FailingClose(MemoryDisk.create("memory", MIB)), tmp.resolve("failing"));
        IOException unmounting = assertThrows(IOException.class, () -> DiskMount.unmount(m.mountPoint(), WAIT));
        assertEquals("injected close failure", unmounting.getMessage());
        IOException waiting = assertThrows(IOException.class, m::awaitClosed);
        assertEquals("injected close failure", waiting.getMessage());
        IOException closing = assertThrows(IOException.class, m::close);
        assertEquals("injected close failure", closing.getMessage(), "a second close says so again");
        assertTrue(log.contains("failing-close: closing: injected close failure"), "logged: " + log);
        assertThrows(IllegalArgumentException.class,
                () -> DiskMount.mount(MemoryDisk.create("x", MIB), tmp, "a/b", false, log::add), "a file name, not a path");
    }

    /**
     * {@code vhd unmount --timeout}: the disk is still being flushed and closed when the time is
     * up, and unmount says so; the mount ends when the close does.
     */
    @Test
    void anUnmountWhoseDiskIsStillClosingWhenTheTimeIsUpSaysSo() throws Exception {
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        VirtualDisk slow = new ForwardingDisk(MemoryDisk.create("slow", MIB)) {
            @Override
            public void close() throws IOException {
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                inner.close();
            }
        };
        DiskMount m = mount(slow, tmp.resolve("slow"));
        try {
            IOException late = assertThrows(IOException.class, () -> DiskMount.unmount(m.mountPoint(), Duration.ZERO));
            assertEquals(m.mountPoint() + ": unmounted, but slow is still being flushed and closed after 0 s",
                    late.getMessage());
        } finally {
            release.countDown();
        }
        m.awaitClosed();
        assertTrue(MountTable.at(m.mountPoint()).isEmpty());
    }

    /** A read-only disk is mounted read-only whatever was asked: its file is not writable. */
    @Test
    void aReadOnlyDiskIsMountedReadOnly() throws Exception {
        MemoryDisk memory = MemoryDisk.create("memory", MIB);
        VirtualDisk readOnly = new ForwardingDisk(memory) {
            @Override
            public boolean isReadOnly() {
                return true;
            }
        };
        DiskMount m = mount(readOnly, tmp.resolve("ro"));
        assertTrue(m.readOnly());
        IOException refused = assertThrows(IOException.class,
                () -> Files.write(m.file(), new byte[] {1}, StandardOpenOption.WRITE));
        assertTrue(refused.getMessage().contains("Read-only file system"), refused.getMessage());
    }

    /** "/" and a folder under a missing one are refused by name before anything is mounted. */
    @Test
    void theRootAndAFolderUnderAMissingOneAreRefused() {
        IOException root = assertThrows(IOException.class, () -> DiskMount.mount(MemoryDisk.create("m", MIB),
                Path.of("/"), "disk", false, log::add));
        assertTrue(root.getMessage().startsWith("/: is already a mount point ("), root.getMessage());
        Path deep = tmp.resolve("missing/deeper");
        IOException missing = assertThrows(IOException.class, () -> DiskMount.mount(MemoryDisk.create("m", MIB),
                deep, "disk", false, log::add));
        assertEquals(deep + ": no such directory to mount on", missing.getMessage());
    }

    /**
     * A mount served by another process, as {@code vhd mount} serves it: unmount waits until that
     * process has closed its disk and exited; when it was killed, unmount says the disk was not
     * seen to close.
     */
    @Test
    void aMountOfAnotherProcessIsUnmountedAndItsEndAwaitedOrReportedMissing() throws Exception {
        Path point = Files.createDirectories(tmp.resolve("served"));
        Process serving = serve(point);
        try {
            DiskMount.Unmounted u = DiskMount.unmount(point, WAIT);
            assertEquals(new DiskMount.Unmounted(serving.pid(), "served", true), u);
            assertFalse(serving.isAlive(), "unmount returned before the serving process exited");
            assertEquals(0, serving.exitValue());
        } finally {
            serving.destroyForcibly().waitFor();
        }

        Process killed = serve(point);
        killed.destroyForcibly().waitFor();
        DiskMount.Unmounted gone = DiskMount.unmount(point, WAIT);
        assertEquals(new DiskMount.Unmounted(killed.pid(), "served", false), gone);
        assertTrue(MountTable.at(point.toRealPath()).isEmpty(), "still mounted");
    }

    /** Starts a JVM that mounts a memory disk named "served" at {@code point}; returns once it is mounted. */
    private static Process serve(Path point) throws IOException {
        Process p = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                ServingProcess.class.getName(), point.toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String line = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)).readLine();
        if (!"mounted".equals(line)) {
            p.destroyForcibly();
            throw new AssertionError("the serving process did not mount: " + line);
        }
        return p;
    }

    /** The other process: mounts, says so, and exits once the mount has ended and its disk is closed. */
    static final class ServingProcess {
        public static void main(String[] args) throws Exception {
            DiskMount m = DiskMount.mount(MemoryDisk.create("served", MIB), Path.of(args[0]), "disk", false,
                    System.err::println);
            System.out.println("mounted");
            System.out.flush();
            m.awaitClosed();
        }
    }

    /** A disk whose close fails, after closing what it wraps. */
    private static final class FailingClose extends ForwardingDisk {
        FailingClose(VirtualDisk inner) {
            super(inner);
        }

        @Override
        public String name() {
            return "failing-close";
        }

        @Override
        public void close() throws IOException {
            inner.close();
            throw new IOException("injected close failure");
        }
    }
}
