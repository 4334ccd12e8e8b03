package org.vhdkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import org.junit.jupiter.api.Test;
import org.vhdkit.cli.conventions.ExitCodes;

/**
 * What {@code vhd} does as a program ({@link VhdCommand#main} less its System.exit), and an
 * argument refused before any command runs.
 */
class VhdMainTest {
    private final ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    private final ByteArrayOutputStream stderr = new ByteArrayOutputStream();

    private int vhd(String... args) {
        return VhdCommand.runOn(new PrintStream(stdout, false, StandardCharsets.UTF_8),
                new PrintStream(stderr, false, StandardCharsets.UTF_8), args);
    }

    /** Everything written reaches the streams before main exits: nothing is left in a buffer. */
    @Test
    void versionReachesStdoutBeforeExit() {
        assertEquals(ExitCodes.OK, vhd("--version"));
        assertTrue(stdout.toString(StandardCharsets.UTF_8).matches("vhd \\d+\\.\\d+\\.\\d+\\S*\n"), stdout::toString);
        assertEquals("", stderr.toString(StandardCharsets.UTF_8));
    }

    @Test
    void anUnknownCommandIsAUsageErrorNamingItOnStderr() {
        assertEquals(ExitCodes.USAGE, vhd("frobnicate", "d.vhd"));
        assertEquals("", stdout.toString(StandardCharsets.UTF_8));
        String err = stderr.toString(StandardCharsets.UTF_8);
        assertTrue(err.startsWith("vhd: ") && err.contains("'frobnicate'") && err.endsWith("\n"), err);
    }

    /** A file argument the operating system cannot name (a NUL byte) is the user's error, not a crash. */
    @Test
    void aFileArgumentThatIsNotAPathIsAUsageErrorNamingIt() {
        String line = CliRun.vhd(FileSystems.getDefault(), "info", "a\0b.vhd").assertFailure(ExitCodes.USAGE);
        assertTrue(line.startsWith("vhd: ") && line.contains("'a\0b.vhd' is not a path"), line);
    }
}
