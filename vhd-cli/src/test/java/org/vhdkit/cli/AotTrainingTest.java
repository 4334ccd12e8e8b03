package org.vhdkit.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
import org.vhdkit.vhd.DiskImage;
import org.vhdkit.vhd.disk.VirtualDisk;

/**
 * The start-up cache's training run: it must really run the quick commands (a cache trained on
 * failures only speeds up the error path), leave no files behind, and fail loudly rather than
 * train on nothing.
 */
class AotTrainingTest {

    /** What both kinds run first: the quick commands, two of them failing on purpose. */
    private static final int[] QUICK = {
        ExitCodes.OK, ExitCodes.OK, ExitCodes.OK, ExitCodes.OK, // --help, --version, info --help, check --help
        ExitCodes.USAGE, // vhd alone
        ExitCodes.OK, ExitCodes.OK, // create dynamic, create fixed
        ExitCodes.OK, ExitCodes.OK, ExitCodes.OK, // info, info json, info --chain
        ExitCodes.OK, ExitCodes.OK, ExitCodes.OK, ExitCodes.OK, // check, check json, map, measure
        ExitCodes.IO, ExitCodes.USAGE}; // a missing file, an unknown option

    @Test
    void runsTheQuickCommandsSuccessfullyAndOnlyTheDeliberateErrorsFail(@TempDir Path parent) throws IOException {
        Path dir = Files.createDirectory(parent.resolve("training"));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int[] codes = AotTraining.train(dir, AotTraining.Kind.QUICK, new PrintWriter(out), new PrintWriter(err));
        assertArrayEquals(QUICK, codes, () -> "stderr:\n" + err);
        assertTrue(out.toString().contains("Usage: vhd "), out::toString);
        assertTrue(out.toString().matches("(?s).*\\bvhd \\d+\\.\\d+\\.\\d+.*"), out::toString);
        assertTrue(out.toString().contains("\"allocatedBlocks\" : 0"), out::toString); // info and check in JSON
        assertTrue(err.toString().contains("missing.vhd"), err::toString);
        assertTrue(err.toString().contains("--no-such-option"), err::toString);
    }

    @Test
    void theFullTrainingAlsoRunsTheLongCommandsAndAnNbdSession(@TempDir Path parent) throws IOException {
        Path dir = Files.createDirectory(parent.resolve("training"));
        StringWriter err = new StringWriter();
        int[] codes = AotTraining.train(dir, AotTraining.Kind.FULL, new PrintWriter(java.io.Writer.nullWriter()),
                new PrintWriter(err));
        int ok = ExitCodes.OK;
        int[] longCommands = {
            ok, ok, // digest sha256, digest blake3
            ok, ok, // create a 16 MiB fixed disk, digest it with blake3
            ok, // compare: both all zeros, identical (the larger disk's excess reads as zeros)
            ok, ok, ok, // create, bench -w, bench
            ok, ok, // convert raw to dynamic, dynamic to raw
            ok, // serve --help
            ok}; // the NBD session: every request answered without error
        int[] expected = java.util.stream.IntStream.concat(java.util.Arrays.stream(QUICK), java.util.Arrays.stream(longCommands))
                .toArray();
        assertArrayEquals(expected, codes, () -> "stderr:\n" + err);
        assertFalse(err.toString().contains("NBD session failed"), err::toString);
    }

    /** The session really serves the disk: what its client wrote is in the image afterwards. */
    @Test
    void theNbdSessionWritesThroughTheServerAndReadsBack(@TempDir Path dir) throws IOException {
        Path image = dir.resolve("d.vhd");
        PrintWriter sink = new PrintWriter(java.io.Writer.nullWriter());
        assertEquals(ExitCodes.OK, VhdCommand.run(sink, sink, new String[] {"create", "--size", "64M", image.toString()}));
        int answered = NbdTraining.run(dir, image);
        assertTrue(answered > 10_000, "requests answered: " + answered);
        assertFalse(Files.exists(dir.resolve("nbd.sock")), "the socket file is left behind");
        try (VirtualDisk disk = DiskImage.openReadOnly(image)) {
            byte[] b = new byte[4096];
            disk.read((16 << 20) - 4096, b);
            assertEquals((byte) (4095 * 31 + 7), b[4095], "the last byte written");
            disk.read(16 << 20, b);
            assertEquals(0, b[0], "beyond the data area");
        }
    }

    @Test
    void leavesNothingBehind(@TempDir Path parent) throws IOException {
        Path dir = Files.createDirectory(parent.resolve("training"));
        PrintWriter sink = new PrintWriter(java.io.Writer.nullWriter());
        AotTraining.train(dir, AotTraining.Kind.FULL, sink, sink);
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
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> AotTraining.train(dir, AotTraining.Kind.QUICK, sink, sink));
        assertTrue(e.getMessage().contains(dir.toString()), e::getMessage);
    }
}
