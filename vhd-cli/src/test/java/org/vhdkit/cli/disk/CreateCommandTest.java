package org.vhdkit.cli.disk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.cli.CliRun.vhd;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.vhdkit.cli.CliRun;
import org.vhdkit.cli.OnJimfs;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.format.DiskType;

/** {@code vhd create}, in process on jimfs (working directory /work). */
class CreateCommandTest extends OnJimfs {

    private VhdDisk open(String name) throws IOException {
        return org.vhdkit.vhd.Vhd.openReadOnly(fs.getPath(name));
    }

    @Test
    void dynamicByDefault() throws IOException {
        CliRun run = vhd(fs, "create", "--size", "10G", "disk.vhd").assertSuccess();
        assertEquals("Created dynamic disk.vhd: 10 GiB (10737418240 bytes), 2 MiB blocks\n", run.out());
        try (VhdDisk disk = open("disk.vhd")) {
            assertEquals(DiskType.DYNAMIC, disk.type());
            assertEquals(10L << 30, disk.size());
            assertEquals(2 << 20, disk.dynamicHeader().orElseThrow().blockSize());
        }
    }

    @Test
    void dynamicWithBlockSizeAndUuid() throws IOException {
        UUID id = UUID.fromString("3f2504e0-4f89-11d3-9a0c-0305e82c3301");
        CliRun run = vhd(fs, "create", "--type", "Dynamic", "--size", "1.5G", "--block-size", "512K",
                "--uuid", id.toString(), "d.vhd").assertSuccess();
        assertEquals("Created dynamic d.vhd: 1.5 GiB (1610612736 bytes), 512 KiB blocks\n", run.out());
        try (VhdDisk disk = open("d.vhd")) {
            assertEquals(1536L << 20, disk.size());
            assertEquals(512 << 10, disk.dynamicHeader().orElseThrow().blockSize());
            assertEquals(id, disk.footer().uniqueId());
        }
    }

    @Test
    void fixedZeroFilled() throws IOException {
        CliRun run = vhd(fs, "create", "--type", "fixed", "--size", "1M", "--zero-fill", "f.vhd").assertSuccess();
        assertEquals("Created fixed f.vhd: 1 MiB (1048576 bytes), zero-filled\n", run.out());
        assertEquals((1 << 20) + 512, Files.size(fs.getPath("f.vhd")));
        try (VhdDisk disk = open("f.vhd")) {
            assertEquals(DiskType.FIXED, disk.type());
            assertTrue(disk.dynamicHeader().isEmpty());
        }
    }

    @Test
    void differencingFromParent() throws IOException {
        vhd(fs, "create", "--size", "64M", "base.vhd").assertSuccess();
        CliRun run = vhd(fs, "create", "--parent", "base.vhd", "child.vhd").assertSuccess();
        assertEquals("Created differencing child.vhd: 64 MiB (67108864 bytes), 2 MiB blocks, parent base.vhd\n",
                run.out());
        try (VhdDisk child = open("child.vhd")) {
            assertEquals(DiskType.DIFFERENCING, child.type());
            VhdDisk parent = child.parent().orElseThrow();
            assertEquals(fs.getPath("/work/base.vhd"), parent.path());
            assertEquals(parent.footer().uniqueId(), child.dynamicHeader().orElseThrow().parentUuid());
        }
    }

    @Test
    void differencingLargerThanItsParent() throws IOException {
        vhd(fs, "create", "--size", "64M", "base.vhd").assertSuccess();
        vhd(fs, "create", "--type", "differencing", "--parent", "base.vhd", "--size", "128M", "child.vhd")
                .assertSuccess();
        try (VhdDisk child = open("child.vhd")) {
            assertEquals(128L << 20, child.size());
        }
    }

    @Test
    void json() {
        CliRun run = vhd(fs, "create", "--output", "json", "--size", "64M", "--uuid",
                "3f2504e0-4f89-11d3-9a0c-0305e82c3301", "disk.vhd").assertSuccess();
        JsonNode json = run.json();
        assertEquals("disk.vhd", json.get("file").asText());
        assertEquals("dynamic", json.get("type").asText());
        assertEquals(64L << 20, json.get("size").asLong());
        assertEquals(2 << 20, json.get("blockSize").asInt());
        assertTrue(json.get("parent").isNull());
        assertEquals("3f2504e0-4f89-11d3-9a0c-0305e82c3301", json.get("uuid").asText());
        assertFalse(json.get("zeroFill").asBoolean());
    }

    @Test
    void jsonOfFixed() {
        JsonNode json = vhd(fs, "create", "-o", "JSON", "--type", "fixed", "--size", "1M", "f.vhd")
                .assertSuccess().json();
        assertEquals("fixed", json.get("type").asText());
        assertTrue(json.get("blockSize").isNull());
    }

    /** Exit 65: the value is understood but refused, with the size to use instead. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            1000         | vhd: the size 1000 bytes is not a multiple of 512; the nearest valid size is 1024 bytes (--size 1K)
            1            | vhd: the size 1 byte is not a multiple of 512; the nearest valid size is 512 bytes (--size 512)
            1300         | vhd: the size 1300 bytes is not a multiple of 512; the nearest valid size is 1536 bytes (--size 1536)
            10737418241  | vhd: the size 10737418241 bytes is not a multiple of 512; the nearest valid size is 10737418240 bytes (--size 10G)
            1.75K        | vhd: the size 1792 bytes is not a multiple of 512; the nearest valid size is 2048 bytes (--size 2K)
            """)
    void sizeNotAMultipleOf512(String size, String message) {
        CliRun run = vhd(fs, "create", "--size", size, "disk.vhd");
        assertEquals(message, run.assertFailure(ExitCodes.REFUSED));
        assertFalse(Files.exists(fs.getPath("disk.vhd")));
    }

    @Test
    void sizeBeyondTheFormat() {
        CliRun run = vhd(fs, "create", "--size", "2041G", "disk.vhd");
        assertEquals("vhd: the size 2041 GiB (2191507062784 bytes) is larger than a VHD can be (at most 2040 GiB)",
                run.assertFailure(ExitCodes.REFUSED));
        assertFalse(Files.exists(fs.getPath("disk.vhd")));
        assertEquals("vhd: the size 3 TiB (3298534883328 bytes) is larger than a VHD can be (at most 2040 GiB)",
                vhd(fs, "create", "--type", "fixed", "--size", "3T", "disk.vhd").assertFailure(ExitCodes.REFUSED));
    }

    @Test
    void zeroSize() {
        assertEquals("vhd: the size must be a positive multiple of 512 bytes; 0 is not",
                vhd(fs, "create", "--size", "0", "disk.vhd").assertFailure(ExitCodes.REFUSED));
    }

    @Test
    void blockSizeNotAPowerOfTwo() {
        assertEquals("vhd: the block size must be a power of two from 512 bytes to 256 MiB; 3072 is not",
                vhd(fs, "create", "--size", "1G", "--block-size", "3K", "disk.vhd").assertFailure(ExitCodes.REFUSED));
        assertEquals("vhd: the block size must be a power of two from 512 bytes to 256 MiB; 4398046511104 is not",
                vhd(fs, "create", "--size", "1G", "--block-size", "4T", "disk.vhd").assertFailure(ExitCodes.REFUSED));
    }

    @Test
    void differencingSmallerThanItsParent() {
        vhd(fs, "create", "--size", "64M", "base.vhd").assertSuccess();
        assertEquals("vhd: a differencing disk cannot be smaller than its parent (67108864 bytes); asked for 33554432",
                vhd(fs, "create", "--parent", "base.vhd", "--size", "32M", "c.vhd").assertFailure(ExitCodes.REFUSED));
    }

    @Test
    void parentNotAVhd() throws IOException {
        Files.write(fs.getPath("junk"), new byte[4096]);
        String line = vhd(fs, "create", "--parent", "junk", "c.vhd").assertFailure(ExitCodes.REFUSED);
        assertTrue(line.startsWith("vhd: junk: footer Cookie at offset 3584 (0xe00): "), line);
        assertFalse(Files.exists(fs.getPath("c.vhd")));
    }

    /** Exit 74: the file system's state, not the values, stands in the way. */
    @Test
    void fileExists() throws IOException {
        Files.writeString(fs.getPath("disk.vhd"), "precious");
        assertEquals("vhd: disk.vhd: the file exists already; refusing to overwrite it",
                vhd(fs, "create", "--size", "10G", "disk.vhd").assertFailure(ExitCodes.IO));
        assertEquals("precious", Files.readString(fs.getPath("disk.vhd")));
    }

    /** A name that ends in '/' names a folder: refused, not taken as the file 's'. */
    @Test
    void fileNamedAsAFolder() throws IOException {
        assertEquals("vhd: 's/' ends in '/', so it names a folder, not the new VHD file; give the file's name, e.g."
                + " s/disk.vhd; try 'vhd create --help'", vhd(fs, "create", "--size", "1G", "s/").assertFailure(ExitCodes.USAGE));
        assertFalse(Files.exists(fs.getPath("s")));
        Files.createDirectory(fs.getPath("images"));
        assertEquals("vhd: images: is a directory, not a VHD file; give the new file's name, e.g. images/disk.vhd",
                vhd(fs, "create", "--size", "1G", "images").assertFailure(ExitCodes.IO));
        assertTrue(Files.isDirectory(fs.getPath("images")));
    }

    @Test
    void parentMissing() {
        assertEquals("vhd: base.vhd: no such file",
                vhd(fs, "create", "--parent", "base.vhd", "c.vhd").assertFailure(ExitCodes.IO));
    }

    @Test
    void folderMissing() {
        assertEquals("vhd: /nowhere/disk.vhd: no such file or directory",
                vhd(fs, "create", "--size", "1M", "/nowhere/disk.vhd").assertFailure(ExitCodes.IO));
    }

    @Test
    void parentIsADirectory() throws IOException {
        Files.createDirectory(fs.getPath("images"));
        assertEquals("vhd: images: is a directory, not a VHD file",
                vhd(fs, "create", "--parent", "images", "c.vhd").assertFailure(ExitCodes.IO));
    }

    /** Exit 64: the command line is not understood, or its options do not go together. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', textBlock = """
            --bogus --size 1G d.vhd              | vhd: unknown option: '--bogus'; try 'vhd create --help'
            d.vhd                                | vhd: a dynamic disk needs --size SIZE, e.g. --size 10G; try 'vhd create --help'
            --type fixed d.vhd                   | vhd: a fixed disk needs --size SIZE, e.g. --size 10G; try 'vhd create --help'
            --size 1G                            | vhd: missing required parameter: 'FILE'; try 'vhd create --help'
            --size 10X d.vhd                     | vhd: invalid value for option '--size': '10X' is not a size; give bytes, or a number with K, M, G or T (1K = 1024), e.g. 10G, 512MiB or 1.5G; try 'vhd create --help'
            --size 0.3K d.vhd                    | vhd: invalid value for option '--size': '0.3K' is 307.2 bytes, not a whole number of bytes; try 'vhd create --help'
            --type sparse --size 1G d.vhd        | vhd: invalid value for option '--type': 'sparse' is not a disk type; use fixed, dynamic or differencing; try 'vhd create --help'
            --type differencing d.vhd            | vhd: a differencing disk needs --parent PATH; try 'vhd create --help'
            --type fixed --parent b.vhd --size 1G d.vhd | vhd: --parent does not apply to a fixed disk; try 'vhd create --help'
            --type dynamic --parent b.vhd --size 1G d.vhd | vhd: --parent does not apply to a dynamic disk; try 'vhd create --help'
            --type fixed --block-size 1M --size 1G d.vhd | vhd: --block-size does not apply to a fixed disk; try 'vhd create --help'
            --zero-fill --size 1G d.vhd          | vhd: --zero-fill does not apply to a dynamic disk; try 'vhd create --help'
            --uuid 1-2-3-4-5 --size 1G d.vhd     | vhd: invalid value for option '--uuid': '1-2-3-4-5' is not a UUID; give 32 hex digits as 8-4-4-4-12, e.g. 3f2504e0-4f89-11d3-9a0c-0305e82c3301; try 'vhd create --help'
            --output xml --size 1G d.vhd         | vhd: invalid value for option '--output': 'xml' is not an output format; use human or json; try 'vhd create --help'
            """)
    void usageErrors(String args, String message) {
        String[] argv = ("create " + args).split(" ");
        assertEquals(message, vhd(fs, argv).assertFailure(ExitCodes.USAGE));
        assertFalse(Files.exists(fs.getPath("d.vhd")));
    }

    @Test
    void parentInAnotherFolder() throws IOException {
        Files.createDirectories(fs.getPath("/images/base"));
        vhd(fs, "create", "--size", "1M", "/images/base/b.vhd").assertSuccess();
        vhd(fs, "create", "--parent", "/images/base/b.vhd", "/images/c.vhd").assertSuccess();
        try (VhdDisk child = org.vhdkit.vhd.Vhd.openReadOnly(fs.getPath("/images/c.vhd"))) {
            assertEquals(fs.getPath("/images/base/b.vhd"), child.parent().orElseThrow().path());
        }
    }
}
