package org.vhdkit.stack.vm;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import org.vhdkit.vhd.io.FolderEvents;

/**
 * Replaces a file so that a crash at any moment leaves either the old file or the new one, whole:
 * the bytes go to a temporary file beside the target, which is forced to disk, renamed over the
 * target with an atomic move, and the folder is forced so the rename itself is durable.
 *
 * <p>A crash before the rename leaves the temporary file ({@code .NAME.tmp}) behind; {@link
 * #removeLeftovers} deletes such files when a folder is next opened.
 *
 * <p>Thread-safety: stateless; two writers of the same target must be serialized by the caller.
 */
final class AtomicFile {
    static final String TEMP_SUFFIX = ".tmp";

    /** Writes the new contents to the open temporary file. */
    @FunctionalInterface
    interface Contents {
        void writeTo(FileChannel channel) throws IOException;
    }

    /** Called between the forced temporary file and the rename: where tests simulate a crash. */
    @FunctionalInterface
    interface BeforeRename {
        BeforeRename NONE = (temp, target) -> { };

        void reached(Path temp, Path target) throws IOException;
    }

    private AtomicFile() {
    }

    static void write(Path target, byte[] bytes) throws IOException {
        write(target, channel -> writeFully(channel, ByteBuffer.wrap(bytes)), BeforeRename.NONE);
    }

    static void write(Path target, Contents contents, BeforeRename hook) throws IOException {
        Path folder = target.toAbsolutePath().getParent();
        Path temp = folder.resolve("." + target.getFileName() + TEMP_SUFFIX);
        try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            contents.writeTo(channel);
            channel.force(true);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(temp);
            throw e;
        }
        FolderEvents.written(temp);
        hook.reached(temp, target);
        Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        FolderEvents.renamed(temp, target);
        forceFolder(folder);
    }

    static void writeFully(FileChannel channel, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }

    /** Makes a rename or deletion in {@code folder} durable, where the platform allows it. */
    static void forceFolder(Path folder) throws IOException {
        FolderEvents.force(folder);
    }

    /** Deletes temporary files a crash left in {@code folder}. */
    static void removeLeftovers(Path folder) throws IOException {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(folder, "." + "*" + TEMP_SUFFIX)) {
            for (Path f : files) {
                Files.deleteIfExists(f);
            }
        }
    }
}
