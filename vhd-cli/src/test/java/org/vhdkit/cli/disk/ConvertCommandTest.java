package org.vhdkit.cli.disk;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.cli.CliRun.vhd;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.vhdkit.cli.CliRun;
import org.vhdkit.cli.OnJimfs;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.format.DiskType;
import org.vhdkit.vhd.transform.Conversion;

/** {@code vhd convert}, in process on jimfs (working directory /work). */
class ConvertCommandTest extends OnJimfs {
    private static final int MIB = 1 << 20;


    /** A dynamic disk of {@code size} bytes with random data in some of its blocks; returns its contents. */
    private byte[] dynamicDisk(String name, int size, long seed) throws IOException {
        byte[] model = new byte[size];
        Random random = new Random(seed);
        try (VhdDisk disk = Vhd.create(fs.getPath(name), CreateOptions.dynamic(size))) {
            for (int at = 0; at < size; at += 2 * MIB) {
                if (random.nextBoolean()) {
                    byte[] data = new byte[Math.min(300_000, size - at)];
                    random.nextBytes(data);
                    disk.write(at, data);
                    System.arraycopy(data, 0, model, at, data.length);
                }
            }
        }
        return model;
    }

    private byte[] contents(String name) throws IOException {
        try (VirtualDisk disk = Conversion.openSource(fs.getPath(name))) {
            byte[] all = new byte[(int) disk.size()];
            disk.read(0, all);
            return all;
        }
    }

    @Test
    void aDynamicDiskBecomesARawImageByItsName() throws IOException {
        byte[] model = dynamicDisk("disk.vhd", 9 * MIB, 1);
        CliRun run = vhd(fs, "convert", "disk.vhd", "disk.img").assertSuccess();
        assertEquals("Converted disk.vhd (dynamic) to raw disk.img: 9 MiB (9437184 bytes); file 9 MiB (9437184 bytes)\n",
                run.out());
        assertArrayEquals(model, Files.readAllBytes(fs.getPath("disk.img")));
    }

    @Test
    void aRawImageBecomesADynamicDiskByItsNameAndBackToFixed() throws IOException {
        byte[] model = dynamicDisk("disk.vhd", 5 * MIB, 2);
        vhd(fs, "convert", "disk.vhd", "disk.raw").assertSuccess();
        CliRun run = vhd(fs, "convert", "--block-size", "1M", "disk.raw", "again.vhd").assertSuccess();
        assertTrue(run.out().startsWith("Converted disk.raw (raw) to dynamic again.vhd: 5 MiB (5242880 bytes),"
                + " 1 MiB blocks; file "), run.out());
        vhd(fs, "convert", "--type", "FIXED", "again.vhd", "fixed.vhd").assertSuccess();
        try (VhdDisk disk = Vhd.openReadOnly(fs.getPath("again.vhd"))) {
            assertEquals(1 << 20, disk.dynamicHeader().orElseThrow().blockSize());
        }
        try (VhdDisk disk = Vhd.openReadOnly(fs.getPath("fixed.vhd"))) {
            assertEquals(DiskType.FIXED, disk.type());
        }
        assertArrayEquals(model, contents("again.vhd"));
        assertArrayEquals(model, contents("fixed.vhd"));
    }

    @Test
    void aChainIsFlattenedAndJsonSaysWhatWasWritten() throws IOException {
        byte[] model = dynamicDisk("base.vhd", 6 * MIB, 3);
        try (VhdDisk child = Vhd.create(fs.getPath("child.vhd"), CreateOptions.differencing(fs.getPath("base.vhd")))) {
            byte[] data = new byte[5000];
            new Random(4).nextBytes(data);
            child.write(MIB + 100, data);
            System.arraycopy(data, 0, model, MIB + 100, data.length);
        }
        JsonNode json = vhd(fs, "convert", "-q", "--output", "json", "child.vhd", "flat.vhd").assertSuccess().json();
        assertEquals("child.vhd", json.get("source").asText());
        assertEquals("differencing", json.get("sourceType").asText());
        assertEquals("flat.vhd", json.get("target").asText());
        assertEquals("dynamic", json.get("type").asText());
        assertEquals(6 * MIB, json.get("size").asLong());
        assertEquals(2 * MIB, json.get("blockSize").asInt());
        assertEquals(Files.size(fs.getPath("flat.vhd")), json.get("fileSize").asLong());
        assertTrue(json.get("dataBytes").asLong() > 0);
        assertEquals(0, json.get("warnings").size());
        try (VhdDisk flat = Vhd.openReadOnly(fs.getPath("flat.vhd"))) {
            assertTrue(flat.parent().isEmpty());
        }
        assertArrayEquals(model, contents("flat.vhd"));
        JsonNode raw = vhd(fs, "convert", "-o", "json", "child.vhd", "flat.img").assertSuccess().json();
        assertTrue(raw.get("blockSize").isNull());
    }

    @Test
    void anExistingTargetNeedsForce() throws IOException {
        byte[] model = dynamicDisk("disk.vhd", 2 * MIB, 5);
        Files.writeString(fs.getPath("disk.img"), "keep me");
        assertEquals("vhd: disk.img: the file exists already; give --force to replace it",
                vhd(fs, "convert", "disk.vhd", "disk.img").assertFailure(ExitCodes.IO));
        assertEquals("keep me", Files.readString(fs.getPath("disk.img")));
        vhd(fs, "convert", "--force", "disk.vhd", "disk.img").assertSuccess();
        assertArrayEquals(model, Files.readAllBytes(fs.getPath("disk.img")));
        try (Stream<Path> files = Files.list(fs.getPath("/work"))) {
            assertEquals(List.of("disk.img", "disk.vhd"),
                    files.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    void usageErrors() throws IOException {
        dynamicDisk("disk.vhd", MIB, 6);
        assertEquals("vhd: cannot tell the target's type from its name 'disk.bin'; give --type fixed, dynamic or raw;"
                + " try 'vhd convert --help'", vhd(fs, "convert", "disk.vhd", "disk.bin").assertFailure(ExitCodes.USAGE));
        assertEquals("vhd: a raw image named 'x.vhd' would be taken for a VHD; give it another extension, e.g. .img;"
                        + " try 'vhd convert --help'",
                vhd(fs, "convert", "--type", "raw", "disk.vhd", "x.vhd").assertFailure(ExitCodes.USAGE));
        assertEquals("vhd: --block-size applies to a dynamic target only, not to a fixed one; try 'vhd convert --help'",
                vhd(fs, "convert", "--type", "fixed", "--block-size", "1M", "disk.vhd", "f.vhd")
                        .assertFailure(ExitCodes.USAGE));
        assertTrue(vhd(fs, "convert", "--type", "qcow2", "disk.vhd", "f.vhd").assertFailure(ExitCodes.USAGE)
                .contains("'qcow2' is not an image type; use fixed, dynamic or raw"));
        assertTrue(vhd(fs, "convert", "disk.vhd").assertFailure(ExitCodes.USAGE).contains("TARGET"));
    }

    @Test
    void refusedInput() throws IOException {
        dynamicDisk("disk.vhd", MIB, 7);
        assertEquals("vhd: the block size must be a power of two from 512 bytes to 256 MiB; 3072 is not",
                vhd(fs, "convert", "--block-size", "3K", "disk.vhd", "d2.vhd").assertFailure(ExitCodes.REFUSED));
        Files.write(fs.getPath("odd.img"), new byte[1000]);
        assertEquals("vhd: odd.img: raw image size: 1000 bytes is not a whole number of 512-byte sectors (488 bytes"
                        + " too many), so the file is not a raw disk image, and it is not a VHD either",
                vhd(fs, "convert", "odd.img", "d3.vhd").assertFailure(ExitCodes.REFUSED));
        Files.write(fs.getPath("broken.vhd"), new byte[4096]);
        assertTrue(vhd(fs, "convert", "broken.vhd", "d4.img").assertFailure(ExitCodes.REFUSED)
                .startsWith("vhd: broken.vhd: footer Cookie at offset 3584"));
        try (Stream<Path> files = Files.list(fs.getPath("/work"))) {
            assertEquals(3, files.count(), "no target and nothing staged is left behind");
        }
    }

    @Test
    void missingFilesAndFolders() throws IOException {
        assertEquals("vhd: nothing.vhd: no such file", vhd(fs, "convert", "nothing.vhd", "x.img")
                .assertFailure(ExitCodes.IO));
        dynamicDisk("disk.vhd", MIB, 8);
        assertEquals("vhd: /nowhere: no such folder to write x.img in",
                vhd(fs, "convert", "disk.vhd", "/nowhere/x.img").assertFailure(ExitCodes.IO));
        assertTrue(vhd(fs, "convert", "disk.vhd", "disk.vhd").assertFailure(ExitCodes.IO)
                .contains("being converted"));
    }

    @Test
    void helpHasExamplesAndSaysHowItIsCrashSafe() {
        String out = vhd(fs, "convert", "--help").assertSuccess().out();
        assertTrue(out.startsWith("Usage: vhd convert"), out);
        assertTrue(out.contains("\nExamples:\n  vhd convert"), out);
        assertTrue(out.contains("Crash-safe"), out);
    }
}
