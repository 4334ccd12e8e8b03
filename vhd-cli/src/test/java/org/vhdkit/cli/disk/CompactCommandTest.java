package org.vhdkit.cli.disk;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.cli.CliRun.vhd;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.vhdkit.cli.CliRun;
import org.vhdkit.cli.OnJimfs;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;

/** {@code vhd compact}, in process on jimfs (working directory /work). */
class CompactCommandTest extends OnJimfs {
    private static final int MIB = 1 << 20;
    private static final UUID ID = UUID.fromString("3f2504e0-4f89-11d3-9a0c-0305e82c3301");


    /** An 8 MiB dynamic disk: block 1 holds data, blocks 0, 2 and 3 were written with zeros. */
    private byte[] diskWithZeroedBlocks() throws IOException {
        byte[] model = new byte[8 * MIB];
        byte[] data = new byte[100_000];
        new Random(1).nextBytes(data);
        try (VhdDisk disk = Vhd.create(fs.getPath("disk.vhd"), CreateOptions.dynamic(model.length).withUniqueId(ID))) {
            disk.write(0, new byte[2 * MIB]);
            disk.write(2 * MIB + 512, data);
            disk.write(4 * MIB, new byte[4 * MIB]);
        }
        System.arraycopy(data, 0, model, 2 * MIB + 512, data.length);
        return model;
    }

    private byte[] contents() throws IOException {
        try (VhdDisk disk = Vhd.openReadOnly(fs.getPath("disk.vhd"))) {
            byte[] all = new byte[(int) disk.size()];
            disk.read(0, all);
            return all;
        }
    }

    @Test
    void zeroedBlocksAreReleased() throws IOException {
        byte[] model = diskWithZeroedBlocks();
        long before = Files.size(fs.getPath("disk.vhd"));
        CliRun run = vhd(fs, "compact", "disk.vhd").assertSuccess();
        long after = Files.size(fs.getPath("disk.vhd"));
        assertEquals(before - 3 * (2 * MIB + 4096), after);
        assertEquals("Compacted dynamic disk.vhd: 8.01 MiB (" + before + " bytes) -> 2 MiB (" + after
                + " bytes), released 3 of 4 blocks\n", run.out());
        assertArrayEquals(model, contents());
        try (VhdDisk disk = Vhd.openReadOnly(fs.getPath("disk.vhd"))) {
            assertEquals(ID, disk.footer().uniqueId());
        }
    }

    @Test
    void json() throws IOException {
        diskWithZeroedBlocks();
        long before = Files.size(fs.getPath("disk.vhd"));
        JsonNode json = vhd(fs, "compact", "-q", "--output", "json", "disk.vhd").assertSuccess().json();
        assertEquals("disk.vhd", json.get("file").asText());
        assertEquals("dynamic", json.get("type").asText());
        assertEquals(before, json.get("fileSizeBefore").asLong());
        assertEquals(Files.size(fs.getPath("disk.vhd")), json.get("fileSizeAfter").asLong());
        assertEquals(4, json.get("blocksBefore").asInt());
        assertEquals(1, json.get("blocksAfter").asInt());
        assertEquals(3, json.get("releasedBlocks").asInt());
    }

    @Test
    void aDifferencingDiskReleasesWhatItsParentHolds() throws IOException {
        byte[] model = diskWithZeroedBlocks();
        try (VhdDisk child = Vhd.create(fs.getPath("child.vhd"), CreateOptions.differencing(fs.getPath("disk.vhd")))) {
            child.write(2 * MIB, java.util.Arrays.copyOfRange(model, 2 * MIB, 3 * MIB)); // the parent's own bytes
        }
        assertTrue(vhd(fs, "compact", "child.vhd").assertSuccess().out()
                .endsWith(", released 1 of 1 block\n"));
    }

    @Test
    void fixedDisksAndRawImagesAreRefused() throws IOException {
        vhd(fs, "create", "--type", "fixed", "--size", "1M", "f.vhd").assertSuccess();
        assertEquals("vhd: f.vhd: footer Disk Type at offset 1048636 (0x10003c): a fixed disk has no blocks to release;"
                        + " only dynamic and differencing disks can be compacted (convert it to a dynamic disk instead)",
                vhd(fs, "compact", "f.vhd").assertFailure(ExitCodes.REFUSED));
        Files.write(fs.getPath("disk.img"), new byte[MIB]);
        assertTrue(vhd(fs, "compact", "disk.img").assertFailure(ExitCodes.REFUSED)
                .endsWith("the file is not a VHD (a raw image?), and only dynamic and differencing VHDs can be compacted"));
    }

    @Test
    void aMissingFileIsAnIoError() {
        assertEquals("vhd: nothing.vhd: no such file", vhd(fs, "compact", "nothing.vhd").assertFailure(ExitCodes.IO));
    }

    @Test
    void helpHasExamplesAndSaysHowItIsCrashSafe() {
        String out = vhd(fs, "compact", "--help").assertSuccess().out();
        assertTrue(out.startsWith("Usage: vhd compact"), out);
        assertTrue(out.contains("\nExamples:\n  vhd compact"), out);
        assertTrue(out.contains("Crash-safe"), out);
    }
}
