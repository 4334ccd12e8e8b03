package org.vhdkit.vhd.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Optional;

/**
 * What kind of file a path names, when it is not a regular file or a directory, read from its
 * attributes without opening it (opening a FIFO blocks).
 *
 * <p>Stateless; safe from any thread.
 */
final class FileKind {
    /** The words for a block device, which may hold a disk. */
    static final String BLOCK_DEVICE = "a block device";

    private FileKind() {
    }

    /** See {@link ByteStore#specialKind}. */
    static Optional<String> special(Path path) throws IOException {
        BasicFileAttributes attributes = Files.readAttributes(path, BasicFileAttributes.class);
        if (attributes.isRegularFile() || attributes.isDirectory()) {
            return Optional.empty();
        }
        int mode;
        try {
            mode = (Integer) Files.getAttribute(path, "unix:mode");
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
            return attributes.isOther() ? Optional.of("a special file") : Optional.empty();
        }
        return Optional.of(switch (mode & 0170000) {
            case 0010000 -> "a FIFO (named pipe)";
            case 0020000 -> "a character device";
            case 0060000 -> BLOCK_DEVICE;
            case 0140000 -> "a socket";
            default -> "a special file";
        });
    }
}
