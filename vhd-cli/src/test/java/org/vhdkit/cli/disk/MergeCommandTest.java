package org.vhdkit.cli.disk;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.cli.CliRun.vhd;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.vhdkit.cli.CliRun;
import org.vhdkit.cli.OnJimfs;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;

/** {@code vhd merge} and its alias {@code vhd commit}, in process on jimfs (working directory /work). */
class MergeCommandTest extends OnJimfs {
    private static final int MIB = 1 << 20;

    /** What base.vhd, mid.vhd and top.vhd show. */
    private final byte[][] models = new byte[3][];

    @BeforeEach
    void writeAChain() throws IOException {
        byte[] model = new byte[6 * MIB];
        Random random = new Random(1);
        String[] names = {"base.vhd", "mid.vhd", "top.vhd"};
        for (int level = 0; level < 3; level++) {
            Path path = fs.getPath(names[level]);
            CreateOptions options = level == 0 ? CreateOptions.dynamic(model.length)
                    : CreateOptions.differencing(fs.getPath(names[level - 1]));
            try (VhdDisk disk = Vhd.create(path, options)) {
                for (int i = 0; i < 10; i++) {
                    byte[] data = new byte[1 + random.nextInt(200_000)];
                    random.nextBytes(data);
                    int at = random.nextInt(model.length - data.length);
                    disk.write(at, data);
                    System.arraycopy(data, 0, model, at, data.length);
                }
            }
            models[level] = model.clone();
        }
    }

    private byte[] contents(String name) throws IOException {
        try (VhdDisk disk = Vhd.openReadOnly(fs.getPath(name))) {
            byte[] all = new byte[(int) disk.size()];
            disk.read(0, all);
            return all;
        }
    }

    @Test
    void intoTheParent() throws IOException {
        CliRun run = vhd(fs, "merge", "top.vhd");
        assertEquals(0, run.exitCode(), run::err);
        assertTrue(run.out().startsWith("Merged top.vhd into /work/mid.vhd: "), run.out());
        assertTrue(run.out().endsWith(" written; deleted top.vhd\n"), run.out());
        assertTrue(run.err().startsWith("vhd: warning: /work/mid.vhd now holds the merged content: any other"
                + " differencing disk made on it shows other content"), run.err());
        assertFalse(Files.exists(fs.getPath("top.vhd")));
        assertArrayEquals(models[2], contents("mid.vhd"));
        assertArrayEquals(models[0], contents("base.vhd"));
    }

    @Test
    void commitTheWholeChainKeepingTheFiles() throws IOException {
        JsonNode json = vhd(fs, "commit", "-q", "--output", "json", "--keep", "--into", "base.vhd", "top.vhd")
                .assertSuccess().json();
        assertEquals("top.vhd", json.get("file").asText());
        assertEquals("/work/base.vhd", json.get("target").asText());
        assertEquals(2, json.get("merged").size());
        assertEquals("top.vhd", json.get("merged").get(0).asText());
        assertEquals(0, json.get("removed").size());
        assertTrue(json.get("bytesWritten").asLong() > 0);
        assertFalse(json.get("targetGrown").asBoolean());
        assertEquals(2, json.get("warnings").size());
        assertArrayEquals(models[2], contents("base.vhd"));
        assertArrayEquals(models[2], contents("top.vhd"), "the top kept reads the same");
    }

    @Test
    void refusals() throws IOException {
        byte[] base = Files.readAllBytes(fs.getPath("base.vhd"));
        assertEquals("vhd: base.vhd: footer Disk Type at offset " + (Files.size(fs.getPath("base.vhd")) - 512 + 60)
                        + " (0x" + Long.toHexString(Files.size(fs.getPath("base.vhd")) - 512 + 60) + "): a dynamic disk has"
                        + " no parent to merge into; only a differencing disk can be merged",
                vhd(fs, "merge", "base.vhd").assertFailure(ExitCodes.REFUSED));
        vhd(fs, "create", "--size", "6M", "other.vhd").assertSuccess();
        assertTrue(vhd(fs, "merge", "--into", "other.vhd", "top.vhd").assertFailure(ExitCodes.REFUSED)
                .contains("other.vhd is not in this disk's parent chain"));
        assertEquals("vhd: nothing.vhd: no such file", vhd(fs, "merge", "nothing.vhd").assertFailure(ExitCodes.IO));
        assertArrayEquals(base, Files.readAllBytes(fs.getPath("base.vhd")));
        assertTrue(Files.exists(fs.getPath("top.vhd")));
    }

    @Test
    void helpHasExamplesAndSaysHowItIsCrashSafe() {
        for (String name : new String[] {"merge", "commit"}) {
            String out = vhd(fs, name, "--help").assertSuccess().out();
            assertTrue(out.startsWith("Usage: vhd merge"), out);
            assertTrue(out.contains("\nExamples:\n  vhd merge"), out);
            assertTrue(out.contains("Crash-safe"), out);
        }
    }
}
