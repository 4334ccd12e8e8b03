package org.vhdkit.vhd.transform;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A new file written beside its target and renamed over it only when complete: the crash safety of
 * conversion and compaction (see the package comment).
 *
 * <p>The staged file is in the target's folder, so the rename never crosses file systems, and has a
 * hidden name ending in {@code .partial} that no one takes for a finished image. {@link #close()}
 * deletes it unless {@link #commit} moved it into place, and so does a shutdown hook when the JVM
 * exits first (Ctrl-C during a long conversion); only a crash of the JVM or host leaves one behind.
 *
 * <p>Thread-safety: an instance is not thread-safe (one per operation); the set of live staged
 * files the shutdown hook deletes is a concurrent set.
 */
final class StagedFile implements AutoCloseable {
    private static final SecureRandom RANDOM = new SecureRandom();
    /** Staged files not yet committed or deleted: the shutdown hook deletes them. */
    private static final Set<Path> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (Path path : LIVE) {
                try {
                    Files.deleteIfExists(path);
                } catch (IOException | RuntimeException e) {
                    // Exiting anyway; a leftover .partial file is harmless and says what it is.
                }
            }
        }, "vhdkit-staged-file-cleanup"));
    }

    private final Path target;
    private final Path path;
    private boolean committed;

    private StagedFile(Path target, Path path) {
        this.target = target;
        this.path = path;
    }

    /**
     * A staged file for {@code target} (not created yet: the caller creates it, exclusively, at
     * {@link #path()}). A target that is a symbolic link is followed, so that the file it names is
     * replaced, not the link.
     */
    static StagedFile beside(Path target) throws IOException {
        Path real = Files.isSymbolicLink(target) && Files.exists(target) ? target.toRealPath() : target;
        byte[] nonce = new byte[6];
        RANDOM.nextBytes(nonce);
        Path name = real.getFileName();
        if (name == null) {
            throw new IOException(target + ": not a file name");
        }
        Path folder = real.toAbsolutePath().getParent();
        if (folder != null && !Files.isDirectory(folder)) {
            throw new NoSuchFileException(folder.toString(), null, "no such folder to write " + name + " in");
        }
        Path staged = real.resolveSibling("." + name + "." + HexFormat.of().formatHex(nonce) + ".partial");
        LIVE.add(staged);
        return new StagedFile(real, staged);
    }

    /** Where to write the new file. */
    Path path() {
        return path;
    }

    /** The file the staged one will replace (a symbolic link's target, when it was one). */
    Path target() {
        return target;
    }

    /**
     * Moves the staged file, which the caller has written completely and forced, over the target in
     * one atomic rename, then forces the folder so that the rename itself survives a crash (where the
     * platform allows it).
     *
     * @param replace whether an existing target may be replaced; without it an existing target is
     *                refused with {@link FileAlreadyExistsException} and the staged file is kept for
     *                {@link #close()} to delete
     */
    void commit(boolean replace) throws IOException {
        if (replace) {
            Files.move(path, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } else {
            if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
                throw new FileAlreadyExistsException(target.toString(), null,
                        "the file exists already; refusing to overwrite it");
            }
            // A rename within one folder (no copy fallback can happen), refused if the target appeared meanwhile.
            Files.move(path, target);
        }
        committed = true;
        LIVE.remove(path);
        forceFolder(target.toAbsolutePath().getParent());
    }

    /** Forces a folder's entries to stable storage; a no-op where folders cannot be opened (Windows, jimfs). */
    private static void forceFolder(Path folder) {
        if (folder == null) {
            return;
        }
        try (FileChannel channel = FileChannel.open(folder, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // Best effort: the rename is atomic either way; only its durability waits for the system.
        }
    }

    /** Deletes the staged file unless it was committed. */
    @Override
    public void close() throws IOException {
        if (!committed) {
            Files.deleteIfExists(path);
            LIVE.remove(path);
        }
    }
}
