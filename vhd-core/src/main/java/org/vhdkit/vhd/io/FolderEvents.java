package org.vhdkit.vhd.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Objects;

/**
 * What happens to the names in a folder, beside the bytes of its files: a file written whole
 * (the temporary file of an atomic replacement, written and forced), a rename, a deletion, and the
 * folder forced (which makes the names' changes before it durable). Code that changes names
 * reports it here, and {@link #force} does the forcing; a test that records a folder (as it
 * records stores through {@link StoreInterception}) listens for the duration of {@link #call}, to
 * build the states a power cut can leave the folder in.
 *
 * <p>The listener is bound to the calling thread, as {@link StoreInterception}'s wrapper is; with
 * none bound, reporting costs a thread-local read.
 *
 * <p>Thread-safety: safe for any number of threads, each with its own binding.
 */
public final class FolderEvents {
    private static final ThreadLocal<Listener> LISTENER = new ThreadLocal<>();

    private FolderEvents() {
    }

    /** What a recording test hears. Called on the thread that changed the names. */
    public interface Listener {
        /** {@code file} was written whole and forced (not through a store). */
        void written(Path file);

        /** {@code from} was renamed to {@code to}, replacing what {@code to} named. */
        void renamed(Path from, Path to);

        /** {@code file} is about to be deleted. */
        void deleting(Path file);

        /** {@code folder} was forced: every change of its names before is durable. */
        void forced(Path folder);
    }

    /** Runs {@code operation} with {@code listener} hearing what the calling thread reports meanwhile. */
    public static <T, X extends Throwable> T call(Listener listener, StoreInterception.Operation<? extends T, X> operation)
            throws X {
        Objects.requireNonNull(listener, "listener");
        Listener outer = LISTENER.get();
        LISTENER.set(listener);
        try {
            return operation.run();
        } finally {
            if (outer == null) {
                LISTENER.remove();
            } else {
                LISTENER.set(outer);
            }
        }
    }

    /**
     * Forces {@code folder} to disk (fsync of the directory), so that files created, renamed or
     * deleted in it keep their names through a power cut, where the platform can open a folder
     * (Linux can; elsewhere the platform orders names itself). Thread-safe.
     *
     * @throws IOException naming the folder when the force fails
     */
    public static void force(Path folder) throws IOException {
        FileChannel channel;
        try {
            channel = FileChannel.open(folder, StandardOpenOption.READ);
        } catch (IOException | UnsupportedOperationException e) {
            return; // a platform that cannot open a folder (Windows) orders names itself
        }
        try (channel) {
            channel.force(true);
        } catch (IOException e) {
            throw new IOException(folder + ": forcing the folder to disk failed: " + e.getMessage(), e);
        }
        Listener l = LISTENER.get();
        if (l != null) {
            l.forced(folder);
        }
    }

    /** Reports {@code file} written whole and forced. Thread-safe. */
    public static void written(Path file) {
        Listener l = LISTENER.get();
        if (l != null) {
            l.written(file);
        }
    }

    /** Reports {@code from} renamed to {@code to}. Thread-safe. */
    public static void renamed(Path from, Path to) {
        Listener l = LISTENER.get();
        if (l != null) {
            l.renamed(from, to);
        }
    }

    /** Reports that {@code file} is about to be deleted. Thread-safe. */
    public static void deleting(Path file) {
        Listener l = LISTENER.get();
        if (l != null) {
            l.deleting(file);
        }
    }
}
