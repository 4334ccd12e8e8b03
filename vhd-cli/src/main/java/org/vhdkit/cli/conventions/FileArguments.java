package org.vhdkit.cli.conventions;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.vhdkit.vhd.ParentNotFoundException;
import org.vhdkit.vhd.format.VhdFormatException;

/**
 * Checks and messages for the files named on the command line.
 *
 * <p>Thread-safety: stateless; every method may be called from any thread.
 */
public final class FileArguments {
    private FileArguments() {
    }

    /**
     * Refuses a directory up front: the library would map it and fail with the system's bare
     * "No such device".
     */
    public static void checkNotDirectory(Path file) throws FileSystemException {
        if (Files.isDirectory(file)) {
            throw new FileSystemException(file.toString(), null, "is a directory, not a VHD file");
        }
    }

    /**
     * {@code e}, or an IOException whose message names {@code file} when {@code e}'s does not (the
     * JDK's bare "No such device", "No space left on device"). File system exceptions and the
     * library's refusals name their own file, which may be another one (a parent), and are kept.
     */
    public static IOException naming(Path file, IOException e) {
        String message = e.getMessage();
        if (e instanceof FileSystemException || e instanceof VhdFormatException || e instanceof ParentNotFoundException
                || (message != null && message.contains(file.toString()))) {
            return e;
        }
        return new IOException(file + ": " + (message != null ? message : e.getClass().getSimpleName()), e);
    }
}
