package org.vhdkit.cli.disk;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.cli.CliRun.vhd;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.nio.file.Files;
import org.junit.jupiter.api.Test;
import org.vhdkit.cli.CliRun;
import org.vhdkit.cli.OnJimfs;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.VhdDisk;

/** {@code vhd map}, in process on jimfs (working directory /work). */
class MapCommandTest extends OnJimfs {
    private static final int MIB = 1 << 20;


    /**
     * base.vhd (dynamic, 8 MiB): blocks 0 and 3 (a dynamic block holds all its sectors). middle.vhd:
     * [4 KiB, 12 KiB) and block 2's first 4 KiB. top.vhd: [8 KiB, 12 KiB) and the last 4 KiB. Each
     * write a different byte value, so that a wrong file offset shows. (Whole 4 KiB pieces: a
     * differencing disk takes its parent's sectors in groups of eight. The children are written
     * opened without their parents, so that they hold only what they write, as other tools' disks
     * may: opened with it, a child takes a whole block over its parent's data.)
     */
    private void chain() throws IOException {
        try (VhdDisk disk = org.vhdkit.vhd.Vhd.create(fs.getPath("base.vhd"), CreateOptions.dynamic(8 * MIB))) {
            disk.write(0, filled(4096, 0x11));
            disk.write(6L * MIB, filled(512, 0x12));
        }
        org.vhdkit.vhd.Vhd.create(fs.getPath("middle.vhd"), CreateOptions.differencing(fs.getPath("base.vhd"))).close();
        try (VhdDisk disk = org.vhdkit.vhd.Vhd.open(fs.getPath("middle.vhd"), OpenOptions.READ_WRITE.withoutParent())) {
            disk.write(4096, filled(8192, 0x21));
            disk.write(4L * MIB, filled(4096, 0x22));
        }
        org.vhdkit.vhd.Vhd.create(fs.getPath("top.vhd"), CreateOptions.differencing(fs.getPath("middle.vhd"))).close();
        try (VhdDisk disk = org.vhdkit.vhd.Vhd.open(fs.getPath("top.vhd"), OpenOptions.READ_WRITE.withoutParent())) {
            disk.write(8192, filled(4096, 0x31));
            disk.write(8L * MIB - 4096, filled(4096, 0x32));
        }
    }

    private static byte[] filled(int length, int value) {
        byte[] bytes = new byte[length];
        Arrays.fill(bytes, (byte) value);
        return bytes;
    }

    /** The columns of a line of human output, the numbers parsed: offset, length, mapped to, layer, file. */
    private static String[] columns(String line) {
        String[] c = {line.substring(0, 16).strip(), line.substring(16, 32).strip(), line.substring(32, 48).strip(),
            line.substring(48, 55).strip(), line.substring(55)};
        return c;
    }

    private static long number(String column) {
        return column.equals("0") ? 0 : Long.parseLong(column.substring(2), 16);
    }

    /** Each line's bytes, read from its file at "Mapped to", are the disk's bytes at "Offset". */
    private void assertLinesPointAtTheirBytes(String out, String disk) throws IOException {
        String[] lines = out.split("\n");
        assertEquals("Offset          Length          Mapped to       Layer  File", lines[0]);
        try (VhdDisk vhd = org.vhdkit.vhd.Vhd.openReadOnly(fs.getPath(disk))) {
            for (int i = 1; i < lines.length; i++) {
                String[] c = columns(lines[i]);
                byte[] expected = new byte[(int) number(c[1])];
                vhd.read(number(c[0]), expected);
                byte[] inFile = new byte[expected.length];
                try (SeekableByteChannel channel = Files.newByteChannel(fs.getPath(c[4]))) {
                    channel.position(number(c[2]));
                    ByteBuffer buffer = ByteBuffer.wrap(inFile);
                    while (buffer.hasRemaining() && channel.read(buffer) > 0) {
                        // read on
                    }
                }
                assertArrayEquals(expected, inFile, lines[i]);
            }
        }
    }

    @Test
    void aChainShowsEachRangesLayerAndFileOffset() throws IOException {
        chain();
        CliRun run = vhd(fs, "map", "top.vhd").assertSuccess();
        List<String> rows = new ArrayList<>();
        for (String line : run.out().split("\n")) {
            String[] c = columns(line);
            rows.add(String.join(" ", c[0], c[1], c[3], c[4]));
        }
        assertEquals(List.of(
                "Offset Length Layer File",
                "0 0x1000 2 /work/base.vhd",
                "0x1000 0x1000 1 /work/middle.vhd",
                "0x2000 0x1000 0 top.vhd",
                "0x3000 0x1fd000 2 /work/base.vhd",
                "0x400000 0x1000 1 /work/middle.vhd",
                "0x600000 0x1ff000 2 /work/base.vhd",
                "0x7ff000 0x1000 0 top.vhd"), rows);
        assertLinesPointAtTheirBytes(run.out(), "top.vhd");
    }

    @Test
    void json() throws IOException {
        chain();
        JsonNode json = vhd(fs, "map", "--output", "json", "top.vhd").assertSuccess().json();
        assertEquals("top.vhd", json.get("file").asText());
        assertEquals("differencing", json.get("type").asText());
        assertEquals(8 * MIB, json.get("size").asLong());
        assertEquals(3, json.get("layers").size());
        assertEquals("/work/base.vhd", json.get("layers").get(2).get("file").asText());
        assertEquals(2, json.get("layers").get(2).get("layer").asInt());
        long at = 0;
        int zeros = 0;
        for (JsonNode range : json.get("ranges")) {
            assertEquals(at, range.get("offset").asLong());
            at += range.get("length").asLong();
            if (!range.get("data").asBoolean()) {
                zeros++;
                assertTrue(range.get("layer").isNull() && range.get("file").isNull()
                        && range.get("fileOffset").isNull(), range.toString());
            }
        }
        assertEquals(8 * MIB, at, "the ranges cover the disk");
        assertEquals(2, zeros, "[2 MiB, 4 MiB) and [4 MiB + 4 KiB, 6 MiB) are held by no layer");
        JsonNode first = json.get("ranges").get(0);
        assertEquals(2, first.get("layer").asInt());
        assertEquals("/work/base.vhd", first.get("file").asText());
        assertEquals(json.get("ranges").get(0).get("fileOffset").asLong() + 0x3000,
                json.get("ranges").get(3).get("fileOffset").asLong(), "block 0 of base.vhd is one run in its file");
    }

    @Test
    void aRangeOfTheDisk() throws IOException {
        chain();
        CliRun run = vhd(fs, "map", "--start-offset", "6144", "--max-length", "4K", "top.vhd").assertSuccess();
        String[] lines = run.out().split("\n");
        assertEquals(3, lines.length, run.out());
        assertEquals("0x1800 0x800 1 /work/middle.vhd", String.join(" ", columns(lines[1])[0], columns(lines[1])[1],
                columns(lines[1])[3], columns(lines[1])[4]));
        assertEquals("0x2000 0x800 0 top.vhd", String.join(" ", columns(lines[2])[0], columns(lines[2])[1],
                columns(lines[2])[3], columns(lines[2])[4]));
        assertLinesPointAtTheirBytes(run.out(), "top.vhd");
        // Past the end: cut at the end, as qemu-img map does; beyond it: refused.
        assertEquals(2, vhd(fs, "map", "--start-offset", "8388096", "--max-length", "1G", "top.vhd")
                .assertSuccess().out().split("\n").length);
        assertEquals("vhd: --start-offset 8389120 is beyond the end of top.vhd (8 MiB (8388608 bytes))",
                vhd(fs, "map", "--start-offset", "8389120", "top.vhd").assertFailure(65));
    }

    @Test
    void aRawImageIsOneRange() throws IOException {
        Files.write(fs.getPath("disk.img"), new byte[MIB]);
        assertEquals("""
                Offset          Length          Mapped to       Layer  File
                0               0x100000        0               0      disk.img
                """, vhd(fs, "map", "disk.img").assertSuccess().out());
    }

    @Test
    void anEmptyDynamicDiskHasNoDataLines() throws IOException {
        vhd(fs, "create", "--size", "1G", "empty.vhd").assertSuccess();
        assertEquals("Offset          Length          Mapped to       Layer  File\n",
                vhd(fs, "map", "empty.vhd").assertSuccess().out());
        JsonNode json = vhd(fs, "map", "-o", "json", "empty.vhd").assertSuccess().json();
        assertEquals(1, json.get("ranges").size());
        assertEquals(false, json.get("ranges").get(0).get("data").asBoolean());
    }

    @Test
    void errors() {
        assertEquals("vhd: nothing.vhd: no such file", vhd(fs, "map", "nothing.vhd").assertFailure(74));
        assertTrue(vhd(fs, "map", "--start-offset", "x", "a.vhd").assertFailure(64).contains("'x' is not a size"));
    }

    @Test
    void helpHasAnExample() {
        CliRun run = vhd(fs, "map", "--help");
        assertEquals(0, run.exitCode());
        assertTrue(run.out().contains("Examples:") && run.out().contains("vhd map child.vhd"), run.out());
    }
}
