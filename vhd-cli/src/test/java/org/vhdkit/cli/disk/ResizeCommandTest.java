package org.vhdkit.cli.disk;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.cli.CliRun.vhd;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.vhdkit.cli.CliRun;
import org.vhdkit.cli.OnJimfs;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;

/** {@code vhd resize}, in process on jimfs (working directory /work). */
class ResizeCommandTest extends OnJimfs {
    private static final int MIB = 1 << 20;

    private byte[] model;

    @BeforeEach
    void openFileSystem() throws IOException {
        model = new byte[8 * MIB];
        byte[] data = new byte[3 * MIB];
        new Random(1).nextBytes(data);
        System.arraycopy(data, 0, model, MIB + 17, data.length);
        try (VhdDisk disk = Vhd.create(fs.getPath("disk.vhd"), CreateOptions.dynamic(model.length))) {
            disk.write(0, model);
        }
    }

    private byte[] contents() throws IOException {
        try (VhdDisk disk = Vhd.openReadOnly(fs.getPath("disk.vhd"))) {
            byte[] all = new byte[(int) disk.size()];
            disk.read(0, all);
            return all;
        }
    }

    @Test
    void growing() throws IOException {
        CliRun run = vhd(fs, "resize", "--size", "20M", "disk.vhd").assertSuccess();
        assertEquals("Resized dynamic disk.vhd: 8 MiB (8388608 bytes) -> 20 MiB (20971520 bytes)\n", run.out());
        assertArrayEquals(Arrays.copyOf(model, 20 * MIB), contents());
    }

    @Test
    void growingByAnAmount() throws IOException {
        vhd(fs, "resize", "--size", "+4M", "disk.vhd").assertSuccess();
        assertArrayEquals(Arrays.copyOf(model, 12 * MIB), contents());
    }

    /** Blocks cut off by a shrink leave no leaked space behind: the image checks clean afterwards. */
    @Test
    void aShrinkThatDropsDataLeavesACleanImage() throws IOException {
        try (VhdDisk disk = Vhd.open(fs.getPath("disk.vhd"), OpenOptions.READ_WRITE)) {
            disk.write(7 * MIB, new byte[] {9}); // block 3, allocated after blocks 0 and 1
            disk.write(5 * MIB, new byte[] {8}); // block 2, last in the file
        }
        CliRun shrink = vhd(fs, "resize", "--size", "2M", "--allow-shrink", "disk.vhd");
        assertEquals(0, shrink.exitCode(), shrink::err);
        JsonNode check = vhd(fs, "check", "-o", "json", "disk.vhd").assertSuccess().json();
        assertEquals("clean", check.get("status").asText(), check::toString);
        assertEquals(0, check.get("findings").size(), check::toString);
        assertArrayEquals(Arrays.copyOf(model, 2 * MIB), contents());
    }

    @Test
    void shrinkingByAnAmountIsNotSupportedAndTheMessageSaysWhatToType() throws IOException {
        String message = vhd(fs, "resize", "--size", "-2M", "disk.vhd").assertFailure(ExitCodes.USAGE);
        assertTrue(message.contains("shrinking by an amount is not supported"), message);
        assertTrue(message.contains("give the new size itself"), message);
        assertArrayEquals(model, contents());
    }

    @Test
    void json() {
        JsonNode json = vhd(fs, "resize", "--output", "json", "--size", "8G", "disk.vhd").assertSuccess().json();
        assertEquals("disk.vhd", json.get("file").asText());
        assertEquals("dynamic", json.get("type").asText());
        assertEquals(8 * MIB, json.get("oldSize").asLong());
        assertEquals(8L << 30, json.get("newSize").asLong());
        assertTrue(json.get("changed").asBoolean());
        assertTrue(json.get("tableMoved").asBoolean());
        assertEquals(0, json.get("warnings").size());
    }

    @Test
    void theSameSizeChangesNothing() {
        assertEquals("disk.vhd is already 8 MiB (8388608 bytes); nothing to do\n",
                vhd(fs, "resize", "--size", "8M", "disk.vhd").assertSuccess().out());
    }

    @Test
    void shrinkingOverDataIsRefusedUnlessAllowed() throws IOException {
        byte[] file = Files.readAllBytes(fs.getPath("disk.vhd"));
        String error = vhd(fs, "resize", "--size", "2M", "disk.vhd").assertFailure(ExitCodes.REFUSED);
        assertEquals("vhd: disk.vhd: data beyond the new size: the 6291456 bytes that shrinking to 2097152 bytes"
                + " would cut off hold data (the first non-zero byte is at offset 2097152); nothing was changed;"
                + " --allow-shrink discards it", error);
        assertArrayEquals(file, Files.readAllBytes(fs.getPath("disk.vhd")));

        CliRun run = vhd(fs, "resize", "--size", "2M", "--allow-shrink", "disk.vhd");
        assertEquals(0, run.exitCode(), run::err);
        assertEquals("vhd: warning: disk.vhd: whatever the last 6291456 bytes held was discarded\n", run.err());
        assertArrayEquals(Arrays.copyOf(model, 2 * MIB), contents());
    }

    @Test
    void shrinkingAnEmptyTailNeedsNoFlag() throws IOException {
        vhd(fs, "resize", "--size", "5M", "disk.vhd").assertSuccess();
        assertArrayEquals(Arrays.copyOf(model, 5 * MIB), contents());
    }

    @Test
    void aDifferencingDiskGrowsAndStillReadsThroughItsParent() throws IOException {
        try (VhdDisk child = Vhd.create(fs.getPath("child.vhd"), CreateOptions.differencing(fs.getPath("disk.vhd")))) {
            child.write(0, new byte[] {1, 2, 3});
        }
        System.arraycopy(new byte[] {1, 2, 3}, 0, model, 0, 3);
        vhd(fs, "resize", "--size", "10M", "child.vhd").assertSuccess();
        try (VhdDisk disk = Vhd.openReadOnly(fs.getPath("child.vhd"))) {
            byte[] all = new byte[(int) disk.size()];
            disk.read(0, all);
            assertArrayEquals(Arrays.copyOf(model, 10 * MIB), all);
        }
        assertTrue(vhd(fs, "resize", "--size", "4M", "--allow-shrink", "child.vhd").assertFailure(ExitCodes.REFUSED)
                .contains("cannot be smaller than its parent"));
    }

    @Test
    void badSizesAreRefused() {
        assertEquals("vhd: the size 10000000 bytes is not a multiple of 512; the nearest valid size is 9999872 bytes"
                + " (--size 9999872)", vhd(fs, "resize", "--size", "10000000", "disk.vhd").assertFailure(ExitCodes.REFUSED));
        assertEquals("vhd: the size 3 TiB (3298534883328 bytes) is larger than a VHD can be (at most 2040 GiB)",
                vhd(fs, "resize", "--size", "3T", "disk.vhd").assertFailure(ExitCodes.REFUSED));
        assertEquals("vhd: missing required option: '--size=SIZE'; try 'vhd resize --help'",
                vhd(fs, "resize", "disk.vhd").assertFailure(ExitCodes.USAGE));
        assertTrue(vhd(fs, "resize", "--size", "lots", "disk.vhd").assertFailure(ExitCodes.USAGE)
                .contains("'lots' is not a size"));
    }

    @Test
    void aMissingFileIsAnIoError() {
        assertEquals("vhd: nothing.vhd: no such file",
                vhd(fs, "resize", "--size", "1G", "nothing.vhd").assertFailure(ExitCodes.IO));
    }

    @Test
    void aDiskInUseIsRefused() throws IOException {
        try (VhdDisk open = Vhd.open(fs.getPath("disk.vhd"), OpenOptions.READ_WRITE)) {
            assertFalse(vhd(fs, "resize", "--size", "1G", "disk.vhd").assertFailure(ExitCodes.IO).isEmpty());
        }
    }

    @Test
    void helpHasExamplesAndSaysHowItIsCrashSafe() {
        String out = vhd(fs, "resize", "--help").assertSuccess().out();
        assertTrue(out.startsWith("Usage: vhd resize"), out);
        assertTrue(out.contains("\nExamples:\n  vhd resize"), out);
        assertTrue(out.contains("Crash-safe"), out);
    }
}
