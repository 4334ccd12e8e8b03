package org.vhdkit.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.cli.conventions.ExitCodes;

/**
 * The start-up cache's training run: it must really run the quick commands (a cache trained on
 * failures only speeds up the error path), leave no files behind, and fail loudly rather than
 * train on nothing.
 */
class AotTrainingTest {

    @Test
    void runsTheQuickCommandsSuccessfullyAndOnlyTheDeliberateErrorsFail(@TempDir Path parent) throws IOException {
        Path dir = Files.createDirectory(parent.resolve("training"));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int[] codes = AotTraining.train(dir, new PrintWriter(out), new PrintWriter(err));
        int ok = ExitCodes.OK;
        assertArrayEquals(new int[] {
                    ok, ok, ok, ok, // --help, --version, info --help, check --help
                    ExitCodes.USAGE, // vhd alone
                    ok, ok, // create dynamic, create fixed
                    ok, ok, ok, // info, info json, info --chain
                    ok, ok, ok, ok, ok, ok, // check, check json, map, measure, digest sha256, digest blake3
                    ok, // compare: both all zeros, identical (the larger disk's excess reads as zeros)
                    ExitCodes.IO, ExitCodes.USAGE}, // a missing file, an unknown option
                codes, () -> "stderr:\n" + err);
        assertTrue(out.toString().contains("Usage: vhd "), out::toString);
        assertTrue(out.toString().matches("(?s).*\\bvhd \\d+\\.\\d+\\.\\d+.*"), out::toString);
        assertTrue(err.toString().contains("missing.vhd"), err::toString);
        assertTrue(err.toString().contains("--no-such-option"), err::toString);
    }

    @Test
    void leavesNothingBehind(@TempDir Path parent) throws IOException {
        Path dir = Files.createDirectory(parent.resolve("training"));
        PrintWriter sink = new PrintWriter(java.io.Writer.nullWriter());
        AotTraining.train(dir, sink, sink);
        assertFalse(Files.exists(dir), "the training directory is still there");
        try (var left = Files.list(parent)) {
            assertArrayEquals(new Path[0], left.toArray(Path[]::new));
        }
    }

    /** main turns this into exit code 1 with the exception on stderr, so the launcher reports it. */
    @Test
    void aDirectoryThatCannotBeUsedFailsNamingIt(@TempDir Path parent) {
        Path dir = parent.resolve("gone");
        PrintWriter sink = new PrintWriter(java.io.Writer.nullWriter());
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> AotTraining.train(dir, sink, sink));
        assertTrue(e.getMessage().contains(dir.toString()), e::getMessage);
    }
}
