package org.vhdkit.cli.disk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.cli.CliRun.vhd;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.vhdkit.cli.CliRun;
import org.vhdkit.cli.OnJimfs;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;

/** {@code vhd measure}, in process on jimfs (working directory /work), against what create and convert write. */
class MeasureCommandTest extends OnJimfs {
    private static final int MIB = 1 << 20;


    @Test
    void aNewDynamicDisk() {
        CliRun run = vhd(fs, "measure", "--type", "dynamic", "--size", "10M").assertSuccess();
        assertEquals("""
                Type:                 dynamic, 2 MiB blocks
                Virtual size:         10 MiB (10485760 bytes)
                Blocks:               0 of 5 (new)
                Required size:        4 KiB (4096 bytes)
                Fully allocated size: 10.02 MiB (10506752 bytes)
                """, run.out());
    }

    @ParameterizedTest
    @CsvSource({"dynamic, 64M, ''", "dynamic, 1G, 512K", "fixed, 3M, ''"})
    void aNewImageMeasuresAsCreateMakesIt(String type, String size, String blockSize) throws IOException {
        String[] blockOption = blockSize.isEmpty() ? new String[0] : new String[] {"--block-size", blockSize};
        String[] measure = concat(new String[] {"measure", "-o", "json", "--type", type, "--size", size}, blockOption);
        JsonNode json = vhd(fs, measure).assertSuccess().json();
        vhd(fs, concat(new String[] {"create", "--type", type, "--size", size, "new.vhd"}, blockOption)).assertSuccess();
        assertEquals(Files.size(fs.getPath("new.vhd")), json.get("requiredSize").asLong());
        assertTrue(json.get("source").isNull());
        assertEquals(type, json.get("type").asText());
    }

    @ParameterizedTest
    @CsvSource({"dynamic, d.vhd", "fixed, f.vhd", "raw, r.img"})
    void aConversionMeasuresAsConvertMakesIt(String type, String target) throws IOException {
        try (VhdDisk disk = Vhd.create(fs.getPath("disk.vhd"), CreateOptions.dynamic(20 * MIB))) {
            byte[] data = new byte[50_000];
            new Random(1).nextBytes(data);
            disk.write(3 * MIB, data);
            disk.write(17 * MIB, data);
            disk.write(9 * MIB, new byte[2 * MIB]); // zeros take no block in the result
        }
        JsonNode json = vhd(fs, "measure", "--output", "json", "--type", type, "disk.vhd").assertSuccess().json();
        vhd(fs, "convert", "--type", type, "disk.vhd", target).assertSuccess();
        assertEquals(Files.size(fs.getPath(target)), json.get("requiredSize").asLong());
        assertEquals("disk.vhd", json.get("source").asText());
        assertEquals(20 * MIB, json.get("size").asLong());
        if (type.equals("dynamic")) {
            assertEquals(2, json.get("blocks").asInt());
            assertEquals(10, json.get("totalBlocks").asInt());
            assertEquals(2 * MIB, json.get("blockSize").asInt());
        } else {
            assertTrue(json.get("blocks").isNull());
            assertTrue(json.get("blockSize").isNull());
        }
        String human = vhd(fs, "measure", "--type", type, "disk.vhd").assertSuccess().out();
        assertTrue(human.startsWith("Source:"), human);
        assertTrue(human.contains("(" + Files.size(fs.getPath(target)) + " bytes)"), human);
    }

    @Test
    void usageErrors() throws IOException {
        assertEquals("vhd: give --size SIZE for a new image, or a SOURCE disk to measure its conversion;"
                + " try 'vhd measure --help'", vhd(fs, "measure", "--type", "dynamic").assertFailure(ExitCodes.USAGE));
        Files.write(fs.getPath("disk.img"), new byte[4096]);
        assertEquals("vhd: give either --size or a SOURCE disk, not both; try 'vhd measure --help'",
                vhd(fs, "measure", "--type", "dynamic", "--size", "1G", "disk.img").assertFailure(ExitCodes.USAGE));
        assertTrue(vhd(fs, "measure", "--size", "1G").assertFailure(ExitCodes.USAGE).contains("--type"));
        assertEquals("vhd: --block-size applies to a dynamic image only, not to a raw one; try 'vhd measure --help'",
                vhd(fs, "measure", "--type", "raw", "--block-size", "1M", "--size", "1G").assertFailure(ExitCodes.USAGE));
    }

    @Test
    void refusedValues() {
        assertEquals("vhd: the size 1000 bytes is not a multiple of 512; the nearest valid size is 1024 bytes"
                + " (--size 1K)", vhd(fs, "measure", "--type", "dynamic", "--size", "1000").assertFailure(ExitCodes.REFUSED));
        assertEquals("vhd: the size 2041 GiB (2191507062784 bytes) is larger than a VHD can be (at most 2040 GiB)",
                vhd(fs, "measure", "--type", "fixed", "--size", "2041G").assertFailure(ExitCodes.REFUSED));
        assertEquals("vhd: the block size must be a power of two from 512 bytes to 256 MiB; 3072 is not",
                vhd(fs, "measure", "--type", "dynamic", "--block-size", "3K", "--size", "1G")
                        .assertFailure(ExitCodes.REFUSED));
        assertEquals("{", vhd(fs, "measure", "--type", "raw", "--size", "3T", "-o", "json").assertSuccess().out()
                .substring(0, 1), "a raw image may be larger than a VHD");
    }

    @Test
    void helpHasExamples() {
        String out = vhd(fs, "measure", "--help").assertSuccess().out();
        assertTrue(out.startsWith("Usage: vhd measure"), out);
        assertTrue(out.contains("\nExamples:\n  vhd measure"), out);
    }

    private static String[] concat(String[] a, String[] b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
