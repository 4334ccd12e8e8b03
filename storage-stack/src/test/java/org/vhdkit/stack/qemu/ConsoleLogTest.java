package org.vhdkit.stack.qemu;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A guest that prints without end: its console log stays within the limit, and the writer goes on at the new end. */
class ConsoleLogTest {
    @TempDir
    Path dir;

    @Test
    void aLogPastTheLimitMovesAsideAndTheAppendingWriterGoesOnAtTheStart() throws IOException {
        Path log = dir.resolve("console.log");
        // As qemu holds it with logappend=on: O_APPEND, so each write lands at the file's end.
        try (FileChannel qemu = FileChannel.open(log, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND)) {
            qemu.write(ByteBuffer.wrap("a".repeat(1000).getBytes(US_ASCII)));
            assertFalse(ConsoleLog.trim(log, 1000), "at the limit: kept");
            qemu.write(ByteBuffer.wrap("b".getBytes(US_ASCII)));
            assertTrue(ConsoleLog.trim(log, 1000));
            assertEquals(0, Files.size(log));
            assertEquals("a".repeat(1000) + "b", Files.readString(dir.resolve("console.log.1"), US_ASCII));

            qemu.write(ByteBuffer.wrap("after".getBytes(US_ASCII)));
            assertEquals("after", Files.readString(log, US_ASCII), "written at the new end, with no hole before it");
        }
    }

    @Test
    void aMissingLogOrALinkInItsPlaceIsLeftAlone() throws IOException {
        Path log = dir.resolve("console.log");
        assertFalse(ConsoleLog.trim(log, 0));
        Path elsewhere = Files.writeString(dir.resolve("elsewhere"), "x".repeat(100));
        Files.createSymbolicLink(log, elsewhere);
        assertFalse(ConsoleLog.trim(log, 10), "a link is not the log qemu writes: never followed");
        assertEquals(100, Files.size(elsewhere));
    }
}
