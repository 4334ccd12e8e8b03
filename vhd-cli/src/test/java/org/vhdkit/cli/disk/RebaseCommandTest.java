package org.vhdkit.cli.disk;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.cli.CliRun.vhd;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.vhdkit.cli.CliRun;
import org.vhdkit.cli.OnJimfs;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;

/** {@code vhd rebase} and its alias {@code vhd set-parent}, in process on jimfs (working directory /work). */
class RebaseCommandTest extends OnJimfs {
    private static final int MIB = 1 << 20;

    /** What child.vhd shows. */
    private byte[] model;

    @BeforeEach
    void writeAChain() throws IOException {
        Files.createDirectories(fs.getPath("old"));
        model = new byte[4 * MIB];
        Random random = new Random(1);
        random.nextBytes(model);
        try (VhdDisk disk = Vhd.create(fs.getPath("old/base.vhd"), CreateOptions.dynamic(model.length))) {
            disk.write(0, model);
        }
        byte[] data = new byte[300_000];
        random.nextBytes(data);
        try (VhdDisk disk = Vhd.create(fs.getPath("child.vhd"), CreateOptions.differencing(fs.getPath("old/base.vhd")))) {
            disk.write(MIB + 3, data);
        }
        System.arraycopy(data, 0, model, MIB + 3, data.length);
    }

    private byte[] contents(String name) throws IOException {
        try (VhdDisk disk = Vhd.openReadOnly(fs.getPath(name))) {
            byte[] all = new byte[(int) disk.size()];
            disk.read(0, all);
            return all;
        }
    }

    @Test
    void unsafeOntoAMovedParent() throws IOException {
        Files.createDirectories(fs.getPath("new"));
        Files.move(fs.getPath("old/base.vhd"), fs.getPath("new/base.vhd"));
        assertTrue(vhd(fs, "info", "child.vhd").exitCode() != 0, "the parent is lost");
        CliRun run = vhd(fs, "rebase", "--unsafe", "--parent", "new/base.vhd", "child.vhd").assertSuccess();
        assertEquals("Rebased child.vhd onto new/base.vhd (unsafe): link rewritten only\n", run.out());
        assertArrayEquals(model, contents("child.vhd"));
    }

    @Test
    void safeOntoAnotherDiskKeepsWhatTheChildShows() throws IOException {
        byte[] other = new byte[4 * MIB];
        new Random(2).nextBytes(other);
        try (VhdDisk disk = Vhd.create(fs.getPath("other.vhd"), CreateOptions.dynamic(other.length))) {
            disk.write(0, other);
        }
        JsonNode json = vhd(fs, "set-parent", "--output", "json", "--parent", "other.vhd", "child.vhd")
                .assertSuccess().json();
        assertEquals("child.vhd", json.get("file").asText());
        assertEquals("other.vhd", json.get("parent").asText());
        assertEquals("safe", json.get("mode").asText());
        // The child holds block 0 whole (its first write copied the base's data in); block 1, all of
        // which differs from other.vhd, is copied.
        assertEquals(2 * MIB, json.get("bytesCopied").asLong(), json::toString);
        assertTrue(!json.get("oldParentUuid").asText().equals(json.get("newParentUuid").asText()));
        assertEquals(0, json.get("warnings").size());
        Files.delete(fs.getPath("old/base.vhd"));
        assertArrayEquals(model, contents("child.vhd"));
    }

    @Test
    void aSafeRebaseNeedsTheOldParent() throws IOException {
        Files.copy(fs.getPath("old/base.vhd"), fs.getPath("copy.vhd"));
        Files.delete(fs.getPath("old/base.vhd"));
        String error = vhd(fs, "rebase", "--parent", "copy.vhd", "child.vhd").assertFailure(ExitCodes.REFUSED);
        assertTrue(error.startsWith("vhd: child.vhd: parent 'base.vhd' (UUID "), error);
        assertTrue(error.endsWith("; a safe rebase reads the old parent to keep what child.vhd shows: restore it,"
                + " or give --unsafe if copy.vhd is a copy of it"), error);
        vhd(fs, "rebase", "-u", "--parent", "copy.vhd", "child.vhd").assertSuccess();
        assertArrayEquals(model, contents("child.vhd"));
    }

    @Test
    void refusals() throws IOException {
        vhd(fs, "create", "--size", "8M", "larger.vhd").assertSuccess();
        assertTrue(vhd(fs, "rebase", "--parent", "larger.vhd", "child.vhd").assertFailure(ExitCodes.REFUSED)
                .endsWith("the new parent larger.vhd (8388608 bytes) is larger than this disk (4194304 bytes)"));
        assertTrue(vhd(fs, "rebase", "--unsafe", "--parent", "child.vhd", "old/base.vhd")
                .assertFailure(ExitCodes.REFUSED).contains("only a differencing disk can be given another"));
        assertEquals("vhd: missing required option: '--parent=NEW'; try 'vhd rebase --help'",
                vhd(fs, "rebase", "child.vhd").assertFailure(ExitCodes.USAGE));
        assertEquals("vhd: nothing.vhd: no such file",
                vhd(fs, "rebase", "--parent", "nothing.vhd", "child.vhd").assertFailure(ExitCodes.IO));
        assertArrayEquals(model, contents("child.vhd"));
    }

    @Test
    void helpHasExamplesAndSaysHowItIsCrashSafe() {
        for (String name : new String[] {"rebase", "set-parent"}) {
            String out = vhd(fs, name, "--help").assertSuccess().out();
            assertTrue(out.startsWith("Usage: vhd rebase"), out);
            assertTrue(out.contains("\nExamples:\n  vhd rebase"), out);
            assertTrue(out.contains("Crash-safe"), out);
        }
    }
}
