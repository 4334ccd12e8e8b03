package org.vhdkit.export.nbd;

import java.io.EOFException;
import java.io.IOException;
import java.nio.file.FileSystemException;
import java.util.Locale;
import org.vhdkit.export.nbd.protocol.ErrorCode;

/**
 * Which NBD error value a failed disk operation gets. A range outside the disk is refused before the
 * disk is asked, so here {@link EOFException} is only a race or a bug.
 */
@FunctionalInterface
interface ErrorMapping {
    int of(IOException e);

    /** For operations that write: a full file system is {@code ENOSPC}, the rest {@code EIO}. */
    ErrorMapping WRITE = e -> noSpace(e) ? ErrorCode.ENOSPC : e instanceof EOFException ? ErrorCode.ENOSPC : ErrorCode.EIO;

    /** For operations that only read: {@code EIO}, or {@code EINVAL} for a range outside the disk. */
    ErrorMapping READ = e -> e instanceof EOFException ? ErrorCode.EINVAL : ErrorCode.EIO;

    private static boolean noSpace(IOException e) {
        String reason = e instanceof FileSystemException fs && fs.getReason() != null ? fs.getReason() : e.getMessage();
        return reason != null && (reason.toLowerCase(Locale.ROOT).contains("no space left")
                || reason.toLowerCase(Locale.ROOT).contains("quota"));
    }
}
