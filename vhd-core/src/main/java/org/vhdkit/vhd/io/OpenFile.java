package org.vhdkit.vhd.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One open host file: its channel and its lock, shared by every read-only store of that file in
 * this process and owned alone by a writer.
 *
 * <p>Sharing matters for correctness, not only economy: on POSIX systems closing any descriptor of
 * a file drops every lock the process holds on it, so a second channel opened and closed by a
 * second reader would silently release the first reader's lock. Hence one channel per file.
 *
 * <p>Thread-safety: {@link #acquire} and {@link #release} are guarded by the registry's monitor
 * ({@code OpenFile.class}); the channel itself is safe for concurrent positional I/O.
 */
final class OpenFile {
    /** Open files by identity; guarded by {@code OpenFile.class}. */
    private static final Map<FileKey, OpenFile> OPEN = new HashMap<>();

    private final FileKey key;
    private final Path path;
    private final FileChannel channel;
    /** Releases the lock; null on a file system without locks. */
    private final AutoCloseable lock;
    private final boolean writable;
    /** Guarded by {@code OpenFile.class}. */
    private int references = 1;

    private OpenFile(FileKey key, Path path, FileChannel channel, AutoCloseable lock, boolean writable) {
        this.key = key;
        this.path = path;
        this.channel = channel;
        this.lock = lock;
        this.writable = writable;
    }

    FileChannel channel() {
        return channel;
    }

    boolean writable() {
        return writable;
    }

    /**
     * How an open file is locked, without waiting. Package-private so that tests can force the
     * JDK's lock, as a host without native access gets, or a failure.
     */
    @FunctionalInterface
    interface Locker {
        /** Locks {@code path}, shared or alone; null where the file system has no locks. */
        AutoCloseable lock(Path path, FileChannel channel, boolean shared) throws IOException;
    }

    /** qemu's byte-range protocol in OFD locks where the host has them, else the JDK's lock. */
    static final Locker QEMU_PROTOCOL = OpenFile::lock;
    /** The JDK's process-wide lock alone: what a host without native access or OFD locks gets. */
    static final Locker JDK = OpenFile::jdkLock;

    static OpenFile acquire(Path path, ByteStore.Mode mode) throws IOException {
        return acquire(path, mode, QEMU_PROTOCOL);
    }

    static OpenFile acquire(Path path, ByteStore.Mode mode, Locker locker) throws IOException {
        boolean write = mode != ByteStore.Mode.READ_ONLY;
        synchronized (OpenFile.class) {
            if (mode == ByteStore.Mode.CREATE_NEW && Files.exists(path)) {
                throw new FileAlreadyExistsException(path.toString(), null, "the file exists already; refusing to overwrite it");
            }
            if (mode != ByteStore.Mode.CREATE_NEW && !Files.exists(path)) {
                throw new NoSuchFileException(path.toString(), null, "no such file");
            }
            if (Files.isDirectory(path)) {
                throw new IOException(path + ": is a directory, not a disk image");
            }
            java.util.Optional<String> special = mode == ByteStore.Mode.CREATE_NEW ? java.util.Optional.empty()
                    : FileKind.special(path);
            if (special.isPresent() && !special.get().equals(FileKind.BLOCK_DEVICE)) {
                throw new IOException(path + ": is " + special.get() + ", not a disk image; not opened");
            }
            FileKey key = mode == ByteStore.Mode.CREATE_NEW ? null : FileKey.of(path);
            if (key != null) {
                OpenFile held = OPEN.get(key);
                if (held != null) {
                    if (write || held.writable) {
                        throw new IOException(path + ": in use by this process (already open "
                                + (held.writable ? "for writing" : "read-only") + " as " + held.path + ")");
                    }
                    held.references++;
                    return held;
                }
            }
            Set<OpenOption> options = switch (mode) {
                case READ_ONLY -> Set.of(StandardOpenOption.READ);
                case READ_WRITE -> Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE);
                case CREATE_NEW -> Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW);
            };
            FileChannel channel = FileChannel.open(path, options);
            try {
                AutoCloseable lock = locker.lock(path, channel, !write);
                if (key == null) {
                    key = FileKey.of(path);
                }
                OpenFile file = new OpenFile(key, path, channel, lock, write);
                OPEN.put(key, file);
                return file;
            } catch (IOException | RuntimeException e) {
                channel.close();
                if (mode == ByteStore.Mode.CREATE_NEW) {
                    Files.deleteIfExists(path);
                }
                throw e;
            }
        }
    }

    /**
     * Locks the whole file, shared or exclusive, without waiting: with an OFD lock where the host
     * has them (see {@link OfdLock} for why), else with the JDK's.
     */
    private static AutoCloseable lock(Path path, FileChannel channel, boolean shared) throws IOException {
        if (path.getFileSystem() == FileSystems.getDefault()) {
            switch (OfdLock.tryAcquire(path, !shared)) {
                case OfdLock.Attempt.Locked locked -> {
                    return locked.lock();
                }
                case OfdLock.Attempt.Held held -> throw heldBy(path, shared, held.pid());
                case OfdLock.Attempt.Unsupported unsupported -> {
                    // Fall back to the JDK's process-wide lock below.
                }
            }
        }
        return jdkLock(path, channel, shared);
    }

    private static AutoCloseable jdkLock(Path path, FileChannel channel, boolean shared) throws IOException {
        FileLock lock = tryJdkLock(path, channel, shared);
        return lock == null ? null : lock::release;
    }

    /** The refusal of a file someone else locks; {@code pid} is the holder's where known, else -1. */
    private static IOException heldBy(Path path, boolean shared, long pid) {
        return new IOException(path + ": in use by " + HolderLookup.describe(path, pid)
                + (shared ? " (it is open for writing)" : " (it holds a lock on the file)"));
    }

    private static FileLock tryJdkLock(Path path, FileChannel channel, boolean shared) throws IOException {
        FileLock lock;
        try {
            lock = channel.tryLock(0, Long.MAX_VALUE, shared);
        } catch (OverlappingFileLockException e) {
            // Another channel of this JVM, outside this registry, holds a lock on the file.
            throw new IOException(path + ": in use by this process through another channel", e);
        } catch (UnsupportedOperationException e) {
            return null; // a file system without locks: nothing to enforce
        }
        if (lock == null) {
            throw heldBy(path, shared, -1);
        }
        return lock;
    }

    /** Drops one reference; the last one releases the lock and closes the channel. */
    void release() throws IOException {
        synchronized (OpenFile.class) {
            if (--references > 0) {
                return;
            }
            OPEN.remove(key, this);
        }
        try {
            if (lock != null) {
                lock.close();
            }
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException(path + ": releasing the lock failed", e);
        } finally {
            channel.close();
        }
    }

    /** What identifies a file across the names it may be opened by. */
    private record FileKey(Object fileSystem, Object identity) {
        static FileKey of(Path path) throws IOException {
            Object identity = null;
            if (path.getFileSystem() == FileSystems.getDefault()) {
                identity = Files.readAttributes(path, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
            }
            if (identity == null) {
                identity = path.toRealPath().toString();
            }
            return new FileKey(path.getFileSystem(), identity);
        }

        // Written out: a record's generated ones are linked at their first call, which cost every
        // command's first open about 6 ms (BENCHMARKS.md, Start-up).
        @Override
        public boolean equals(Object o) {
            return o instanceof FileKey k && fileSystem.equals(k.fileSystem) && identity.equals(k.identity);
        }

        @Override
        public int hashCode() {
            return 31 * fileSystem.hashCode() + identity.hashCode();
        }
    }

    /**
     * Names the process that holds a lock on a file, where the host tells: Linux's /proc/locks
     * gives the holder's pid for POSIX locks; for OFD locks (qemu's, and ours) it may give -1, and
     * then the process with the file open is found among /proc/PID/fd.
     */
    private static final class HolderLookup {
        private static final String SELF = String.valueOf(ProcessHandle.current().pid());

        /** Names the holder: {@code known} where the kernel gave its pid, else found in /proc. */
        static String describe(Path path, long known) {
            try {
                // Asked by pid, not found in /proc/locks: an OFD attempt that failed has closed a
                // descriptor of the file, which dropped any POSIX lock this process held on it.
                String pid = known > 0 ? String.valueOf(known) : fromLocks(path);
                if (SELF.equals(pid)) {
                    // A lock this process took on a channel of its own, outside the registry.
                    return "this process through another channel";
                }
                if (pid == null) {
                    pid = fromOpenFiles(path);
                }
                if (pid != null) {
                    String command = commandOf(pid);
                    return "another process (pid " + pid + (command.isEmpty() ? "" : ", " + command) + ")";
                }
            } catch (IOException | RuntimeException e) {
                // Best effort only: fall through to the generic answer.
            }
            return "another process";
        }

        /**
         * A pid from /proc/locks that locks the file's inode, other than this process and -1;
         * {@link #SELF} itself when only this process's locks are there; null when none is.
         */
        private static String fromLocks(Path path) throws IOException {
            Object inode = Files.getAttribute(path, "unix:ino");
            String found = null;
            for (String line : Files.readAllLines(Path.of("/proc/locks"))) {
                // "1: POSIX  ADVISORY  WRITE 12345 08:01:1234567 0 EOF", or "-> ..." for a waiter
                String[] f = line.trim().split("\\s+");
                int at = f.length > 1 && f[1].equals("->") ? 1 : 0;
                if (f.length < 6 + at) {
                    continue;
                }
                String[] dev = f[5 + at].split(":");
                String pid = f[4 + at];
                if (dev.length == 3 && dev[2].equals(String.valueOf(inode)) && !pid.equals("-1")) {
                    if (!pid.equals(SELF)) {
                        return pid;
                    }
                    found = SELF;
                }
            }
            return found;
        }

        /** A process other than this one with the file open, from /proc/PID/fd. */
        private static String fromOpenFiles(Path path) throws IOException {
            Path real = path.toRealPath();
            try (var processes = Files.newDirectoryStream(Path.of("/proc"), p -> p.getFileName().toString().matches("\\d+"))) {
                for (Path process : processes) {
                    String pid = process.getFileName().toString();
                    if (pid.equals(SELF)) {
                        continue;
                    }
                    try (var fds = Files.newDirectoryStream(process.resolve("fd"))) {
                        for (Path fd : fds) {
                            if (real.equals(Files.readSymbolicLink(fd))) {
                                return pid;
                            }
                        }
                    } catch (IOException | RuntimeException e) {
                        // Gone, or not ours to look at.
                    }
                }
            }
            return null;
        }

        private static String commandOf(String pid) {
            try {
                byte[] raw = Files.readAllBytes(Path.of("/proc", pid, "cmdline"));
                String command = new String(raw, java.nio.charset.StandardCharsets.UTF_8).replace('\0', ' ').trim();
                return command.length() > 120 ? command.substring(0, 117) + "..." : command;
            } catch (IOException | RuntimeException e) {
                return "";
            }
        }
    }
}
