package org.vhdkit.stack.qemu;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.function.BooleanSupplier;

/**
 * Keeps a VM's console log ({@code console.log} in its folder, which qemu appends to) within a
 * limit, so that a guest printing without end cannot fill the host's disk. When the log passes the
 * limit it is copied aside to {@code console.log.1} (replacing the one before) and the live file cut
 * to nothing; qemu opened it for appending ({@code logappend=on}, so {@code O_APPEND}), and goes on
 * writing at the new end rather than at its old offset. What the guest prints between the copy and
 * the cut is lost: a log, not a record.
 *
 * <p>Thread-safety: stateless; {@link #watch} runs on a thread of its own per VM.
 */
final class ConsoleLog {
    private static final System.Logger LOG = System.getLogger(ConsoleLog.class.getName());
    /** The size past which the live log is moved aside: the folder holds at most about twice this. */
    static final long LIMIT = 16L << 20;
    private static final Duration INTERVAL = Duration.ofSeconds(2);

    private ConsoleLog() {
    }

    /** Moves {@code log} aside when it is larger than {@code limit}; returns whether it did. */
    static boolean trim(Path log, long limit) throws IOException {
        if (!Files.isRegularFile(log, LinkOption.NOFOLLOW_LINKS) || Files.size(log) <= limit) {
            return false;
        }
        Path previous = log.resolveSibling(log.getFileName() + ".1");
        Files.copy(log, previous, StandardCopyOption.REPLACE_EXISTING, LinkOption.NOFOLLOW_LINKS);
        try (FileChannel channel = FileChannel.open(log, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
            channel.truncate(0);
        }
        return true;
    }

    /** Trims {@code log} every few seconds while {@code running}, on a virtual thread named after the VM. */
    static void watch(String vm, Path log, BooleanSupplier running) {
        Thread.ofVirtual().name(vm + "/console-log").start(() -> {
            while (running.getAsBoolean()) {
                try {
                    Thread.sleep(INTERVAL);
                    if (trim(log, LIMIT)) {
                        LOG.log(Level.INFO, "''{0}'': the console log passed {1} bytes; the earlier part is in {2}",
                                vm, LIMIT, log.getFileName() + ".1");
                    }
                } catch (InterruptedException e) {
                    return;
                } catch (IOException e) {
                    LOG.log(Level.WARNING, "''{0}'': cannot keep the console log {1} small: {2}", vm, log, e.getMessage());
                }
            }
        });
    }
}
