package org.vhdkit.cli.disk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.cli.CliRun.vhd;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.vhdkit.cli.CliRun;
import org.vhdkit.cli.OnJimfs;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.VhdDisk;

/** {@code vhd info}, in process on jimfs (working directory /work). */
class InfoCommandTest extends OnJimfs {
    private static final String ID = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";
    private static final Pattern LINE = Pattern.compile("([A-Za-z ()]+): +(.*)");


    /** Writes a byte at each offset, allocating the blocks there. */
    private void write(String name, long... offsets) throws IOException {
        try (VhdDisk disk = org.vhdkit.vhd.Vhd.open(fs.getPath(name), OpenOptions.READ_WRITE)) {
            for (long offset : offsets) {
                disk.write(offset, new byte[] {1});
            }
        }
    }

    /** The "key: value" lines of human output, in order, checking that the values line up. */
    private static List<String[]> lines(String out) {
        List<String[]> lines = new ArrayList<>();
        int column = -1;
        for (String line : out.split("\n")) {
            if (line.isEmpty()) {
                continue;
            }
            Matcher m = LINE.matcher(line);
            assertTrue(m.matches(), () -> "not a 'key: value' line: " + line);
            if (column < 0) {
                column = m.start(2);
            }
            assertEquals(column, m.start(2), () -> "value out of line: " + line);
            lines.add(new String[] {m.group(1), m.group(2)});
        }
        return lines;
    }

    private static String value(List<String[]> lines, String key) {
        return lines.stream().filter(l -> l[0].equals(key)).map(l -> l[1]).findFirst()
                .orElseThrow(() -> new AssertionError("no line '" + key + "'"));
    }

    @Test
    void humanDynamic() throws IOException {
        vhd(fs, "create", "--size", "10G", "--uuid", ID, "disk.vhd").assertSuccess();
        write("disk.vhd", 0, 5L << 20);
        List<String[]> lines = lines(vhd(fs, "info", "disk.vhd").assertSuccess().out());
        assertEquals("file", lines.getFirst()[0]);
        assertEquals("disk.vhd", value(lines, "file"));
        assertEquals("dynamic", value(lines, "type"));
        assertEquals("10 GiB (10737418240 bytes)", value(lines, "size"));
        assertEquals("20805/16/63, covers 9.99 GiB (10737377280 bytes)", value(lines, "geometry (CHS)"));
        assertEquals("2 MiB", value(lines, "block size"));
        assertEquals("2 of 5120", value(lines, "blocks allocated"));
        assertTrue(value(lines, "file size").endsWith(" (" + Files.size(fs.getPath("disk.vhd")) + " bytes)"));
        assertEquals("win 10.0 (host OS Wi2k)", value(lines, "creator"));
        assertEquals(ID, value(lines, "uuid"));
        Instant created = Instant.parse(value(lines, "created"));
        assertTrue(Math.abs(ChronoUnit.SECONDS.between(created, Instant.now())) < 600, created::toString);
        assertEquals("no", value(lines, "saved state"));
        assertEquals("0x00000002", value(lines, "features"));
        assertTrue(lines.stream().noneMatch(l -> l[0].startsWith("parent")));
    }

    @Test
    void jsonDynamic() throws IOException {
        vhd(fs, "create", "--size", "64M", "--block-size", "1M", "--uuid", ID, "disk.vhd").assertSuccess();
        write("disk.vhd", 0, 1, 3L << 20, (64L << 20) - 1);
        JsonNode json = vhd(fs, "info", "--output", "json", "disk.vhd").assertSuccess().json();
        assertEquals("disk.vhd", json.get("file").asText());
        assertEquals("dynamic", json.get("type").asText());
        assertEquals(64L << 20, json.get("size").asLong());
        assertEquals(64L << 20, json.get("originalSize").asLong());
        assertEquals(1 << 20, json.get("blockSize").asInt());
        assertEquals(64, json.get("totalBlocks").asInt());
        assertEquals(3, json.get("allocatedBlocks").asInt());
        assertEquals(Files.size(fs.getPath("disk.vhd")), json.get("fileSize").asLong());
        JsonNode geometry = json.get("geometry");
        assertEquals(963, geometry.get("cylinders").asInt());
        assertEquals(8, geometry.get("heads").asInt());
        assertEquals(17, geometry.get("sectorsPerTrack").asInt());
        assertEquals(963L * 8 * 17 * 512, geometry.get("capacity").asLong());
        assertEquals("win", json.get("creator").get("application").asText());
        assertEquals("10.0", json.get("creator").get("version").asText());
        assertEquals("Wi2k", json.get("creator").get("hostOs").asText());
        assertEquals(ID, json.get("uuid").asText());
        Instant.parse(json.get("timestamp").asText());
        assertFalse(json.get("savedState").asBoolean());
        assertEquals(2, json.get("features").asInt());
        assertFalse(json.get("temporary").asBoolean());
        assertEquals("1.0", json.get("formatVersion").asText());
        assertTrue(json.get("parent").isNull());
        assertTrue(json.get("chain").isNull());
        assertEquals(0, json.get("warnings").size());
    }

    /** The documented field order: the JSON is read by people too. */
    @Test
    void jsonFieldOrder() {
        vhd(fs, "create", "--size", "1M", "disk.vhd").assertSuccess();
        List<String> names = new ArrayList<>();
        vhd(fs, "info", "-o", "json", "disk.vhd").assertSuccess().json().fieldNames().forEachRemaining(names::add);
        assertEquals(List.of("file", "type", "size", "originalSize", "geometry", "blockSize", "totalBlocks",
                "allocatedBlocks", "fileSize", "creator", "uuid", "timestamp", "savedState", "features", "temporary",
                "formatVersion", "parent", "chain", "warnings"), names);
    }

    @Test
    void jsonFixed() {
        vhd(fs, "create", "--type", "fixed", "--size", "1M", "f.vhd").assertSuccess();
        JsonNode json = vhd(fs, "info", "--output", "json", "f.vhd").assertSuccess().json();
        assertEquals("fixed", json.get("type").asText());
        assertEquals(1 << 20, json.get("size").asLong());
        assertEquals((1 << 20) + 512, json.get("fileSize").asLong());
        assertTrue(json.get("blockSize").isNull());
        assertTrue(json.get("totalBlocks").isNull());
        assertTrue(json.get("allocatedBlocks").isNull());
    }

    @Test
    void jsonChain() throws IOException {
        vhd(fs, "create", "--size", "64M", "--uuid", ID, "base.vhd").assertSuccess();
        vhd(fs, "create", "--parent", "base.vhd", "middle.vhd").assertSuccess();
        vhd(fs, "create", "--parent", "middle.vhd", "top.vhd").assertSuccess();
        write("top.vhd", 0);
        JsonNode json = vhd(fs, "info", "--chain", "--output", "json", "top.vhd").assertSuccess().json();
        assertEquals("differencing", json.get("type").asText());
        assertEquals(1, json.get("allocatedBlocks").asInt());
        JsonNode parent = json.get("parent");
        assertEquals("middle.vhd", parent.get("name").asText());
        assertEquals("/work/middle.vhd", parent.get("path").asText());
        Instant.parse(parent.get("timestamp").asText());
        JsonNode locators = parent.get("locators");
        assertEquals(2, locators.size());
        assertEquals("W2ku", locators.get(0).get("platform").asText());
        assertEquals("\\work\\middle.vhd", locators.get(0).get("path").asText());
        assertEquals("W2ru", locators.get(1).get("platform").asText());
        assertEquals(".\\middle.vhd", locators.get(1).get("path").asText());
        assertEquals(24, locators.get(1).get("length").asInt()); // 12 UTF-16 code units
        assertTrue(locators.get(1).get("offset").asLong() >= 1536);

        JsonNode chain = json.get("chain");
        assertEquals(2, chain.size());
        JsonNode middle = chain.get(0);
        assertEquals("/work/middle.vhd", middle.get("file").asText());
        assertEquals(middle.get("uuid").asText(), parent.get("uuid").asText());
        assertEquals("/work/base.vhd", middle.get("parent").get("path").asText());
        assertFalse(middle.has("chain"));
        assertFalse(middle.has("warnings"));
        JsonNode base = chain.get(1);
        assertEquals("dynamic", base.get("type").asText());
        assertEquals(ID, base.get("uuid").asText());
        assertEquals(ID, middle.get("parent").get("uuid").asText());
        assertTrue(base.get("parent").isNull());

        // Without --chain: the parent is named, the chain is not listed.
        assertTrue(vhd(fs, "info", "-o", "json", "top.vhd").assertSuccess().json().get("chain").isNull());
        // A dynamic disk has an empty chain.
        assertEquals(0, vhd(fs, "info", "--chain", "-o", "json", "base.vhd").assertSuccess().json().get("chain").size());
    }

    @Test
    void humanChain() {
        vhd(fs, "create", "--size", "64M", "base.vhd").assertSuccess();
        vhd(fs, "create", "--parent", "base.vhd", "child.vhd").assertSuccess();
        String out = vhd(fs, "info", "--chain", "child.vhd").assertSuccess().out();
        String[] layers = out.split("\n\n");
        assertEquals(2, layers.length, out);
        List<String[]> child = lines(layers[0]);
        assertEquals("child.vhd", value(child, "file"));
        assertEquals("differencing", value(child, "type"));
        assertEquals("base.vhd", value(child, "parent name"));
        assertEquals("/work/base.vhd", value(child, "parent path"));
        List<String> locators = child.stream().filter(l -> l[0].equals("parent locator")).map(l -> l[1]).toList();
        assertEquals(2, locators.size());
        assertTrue(locators.get(0).matches("W2ku at offset \\d+, 28 bytes: \\\\work\\\\base\\.vhd"), locators::toString);
        assertTrue(locators.get(1).matches("W2ru at offset \\d+, 20 bytes: \\.\\\\base\\.vhd"), locators::toString);
        List<String[]> base = lines(layers[1]);
        assertEquals("/work/base.vhd", value(base, "file"));
        assertEquals("dynamic", value(base, "type"));
        assertEquals(value(child, "parent uuid"), value(base, "uuid"));
        lines(out); // and the two layers line up with each other
    }

    @Test
    void warningsGoToStderrOrIntoTheJson() throws IOException {
        vhd(fs, "create", "--size", "1M", "base.vhd").assertSuccess();
        vhd(fs, "create", "--parent", "base.vhd", "child.vhd").assertSuccess();
        Files.setLastModifiedTime(fs.getPath("base.vhd"), FileTime.from(Instant.now().plusSeconds(3600)));

        CliRun human = vhd(fs, "info", "child.vhd");
        assertEquals(0, human.exitCode());
        assertEquals("differencing", value(lines(human.out()), "type"));
        String warning = human.assertOneErrorLine();
        assertTrue(warning.startsWith("vhd: warning: child.vhd: parent /work/base.vhd was modified at "), warning);

        CliRun json = vhd(fs, "info", "--output", "json", "child.vhd").assertSuccess();
        JsonNode warnings = json.json().get("warnings");
        assertEquals(1, warnings.size());
        assertEquals(warning.substring("vhd: warning: ".length()), warnings.get(0).asText());
    }

    @Test
    void missingFile() {
        assertEquals("vhd: nope.vhd: no such file", vhd(fs, "info", "nope.vhd").assertFailure(ExitCodes.IO));
        assertEquals("vhd: nope.vhd: no such file",
                vhd(fs, "info", "--output", "json", "nope.vhd").assertFailure(ExitCodes.IO));
    }

    @Test
    void directory() throws IOException {
        Files.createDirectory(fs.getPath("images"));
        assertEquals("vhd: images: is a directory, not a VHD file", vhd(fs, "info", "images").assertFailure(ExitCodes.IO));
    }

    @Test
    void notAVhd() throws IOException {
        byte[] noise = new byte[1 << 20];
        new Random(42).nextBytes(noise);
        Files.write(fs.getPath("noise.vhd"), noise);
        String line = vhd(fs, "info", "noise.vhd").assertFailure(ExitCodes.REFUSED);
        assertTrue(line.startsWith("vhd: noise.vhd: footer Cookie at offset 1048064 (0xffe00): "), line);
        assertTrue(line.endsWith(", expected \"conectix\""), line);
    }

    @Test
    void emptyFile() throws IOException {
        Files.write(fs.getPath("empty.vhd"), new byte[0]);
        assertEquals("vhd: empty.vhd: footer at offset 0 (0x0): the file is 0 bytes long, too short to be a VHD"
                + " (its footer alone is 512 bytes)", vhd(fs, "info", "empty.vhd").assertFailure(ExitCodes.REFUSED));
    }

    @Test
    void inUse() throws IOException {
        vhd(fs, "create", "--size", "1M", "disk.vhd").assertSuccess();
        try (VhdDisk writer = org.vhdkit.vhd.Vhd.open(fs.getPath("disk.vhd"), OpenOptions.READ_WRITE)) {
            assertEquals(1 << 20, writer.size());
            String line = vhd(fs, "info", "disk.vhd").assertFailure(ExitCodes.IO);
            assertTrue(line.startsWith("vhd: disk.vhd: in use by this process"), line);
        }
    }

    /** The child's own facts are still shown; the error names what was tried; exit 65. */
    @Test
    void parentMissing() throws IOException {
        vhd(fs, "create", "--size", "1M", "--uuid", ID, "base.vhd").assertSuccess();
        vhd(fs, "create", "--parent", "base.vhd", "child.vhd").assertSuccess();
        Files.delete(fs.getPath("base.vhd"));

        CliRun human = vhd(fs, "info", "child.vhd");
        assertEquals(ExitCodes.REFUSED, human.exitCode());
        List<String[]> lines = lines(human.out());
        assertEquals("differencing", value(lines, "type"));
        assertEquals(ID, value(lines, "parent uuid"));
        assertEquals("(unresolved)", value(lines, "parent path"));
        String error = human.assertOneErrorLine();
        assertTrue(error.startsWith("vhd: child.vhd: parent 'base.vhd' (UUID " + ID + ") not found; tried "), error);

        CliRun json = vhd(fs, "info", "--chain", "--output", "json", "child.vhd");
        assertEquals(ExitCodes.REFUSED, json.exitCode());
        assertEquals(error, json.assertOneErrorLine());
        JsonNode child = json.json();
        assertEquals(1 << 20, child.get("size").asLong());
        assertTrue(child.get("parent").get("path").isNull());
        assertEquals(ID, child.get("parent").get("uuid").asText());
        assertTrue(child.get("chain").isNull());
        assertEquals(1, child.get("warnings").size(), child::toString);
        assertEquals(error.substring("vhd: ".length()), child.get("warnings").get(0).asText());
    }

    @Test
    void usageErrors() {
        assertEquals("vhd: unknown option: '--bogus'; try 'vhd info --help'",
                vhd(fs, "info", "--bogus", "disk.vhd").assertFailure(ExitCodes.USAGE));
        assertEquals("vhd: missing required parameter: 'FILE'; try 'vhd info --help'",
                vhd(fs, "info").assertFailure(ExitCodes.USAGE));
        assertEquals("vhd: unmatched argument at index 2: 'b.vhd'; try 'vhd info --help'",
                vhd(fs, "info", "a.vhd", "b.vhd").assertFailure(ExitCodes.USAGE));
    }
}
