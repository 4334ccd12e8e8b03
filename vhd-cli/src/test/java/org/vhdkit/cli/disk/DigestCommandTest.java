package org.vhdkit.cli.disk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.cli.CliRun.vhd;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.cli.CliRun;
import org.vhdkit.cli.OnJimfs;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.testing.ExternalTools;

/** {@code vhd digest}, in process on jimfs (working directory /work), and once against sha256sum. */
class DigestCommandTest extends OnJimfs {
    private static final int MIB = 1 << 20;

    private byte[] bytes;

    @TempDir
    Path tmp;

    @BeforeEach
    void openFileSystem() {
        bytes = new byte[5 * MIB + 1024];
        Random random = new Random(1);
        byte[] data = new byte[300_000];
        random.nextBytes(data);
        System.arraycopy(data, 0, bytes, 1000, data.length);
        System.arraycopy(data, 0, bytes, 4 * MIB + 17, data.length);
    }

    /** {@link #bytes} as raw.img, fixed.vhd, dynamic.vhd and a chain base.vhd, child.vhd in {@code dir}. */
    private static void writeCopies(Path dir, byte[] bytes) throws IOException {
        Files.write(dir.resolve("raw.img"), bytes);
        try (VhdDisk disk = org.vhdkit.vhd.Vhd.create(dir.resolve("fixed.vhd"), CreateOptions.fixed(bytes.length))) {
            disk.write(0, bytes);
        }
        try (VhdDisk disk = org.vhdkit.vhd.Vhd.create(dir.resolve("dynamic.vhd"), CreateOptions.dynamic(bytes.length))) {
            disk.write(0, MemorySegment.ofArray(bytes), 0, 2 * MIB);
            disk.write(4L * MIB, MemorySegment.ofArray(bytes), 4L * MIB, bytes.length - 4L * MIB);
        }
        try (VhdDisk disk = org.vhdkit.vhd.Vhd.create(dir.resolve("base.vhd"), CreateOptions.dynamic(bytes.length))) {
            disk.write(0, MemorySegment.ofArray(bytes), 0, 100_000);
        }
        try (VhdDisk disk = org.vhdkit.vhd.Vhd.create(dir.resolve("child.vhd"),
                CreateOptions.differencing(dir.resolve("base.vhd")))) {
            disk.write(100_000, MemorySegment.ofArray(bytes), 100_000, bytes.length - 100_000);
        }
    }

    private static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    @Test
    void everyCopyHasTheDigestOfItsBytesOneLineEachAsSha256sumPrintsThem() throws Exception {
        writeCopies(fs.getPath("/work"), bytes);
        CliRun run = vhd(fs, "digest", "raw.img", "fixed.vhd", "dynamic.vhd", "child.vhd").assertSuccess();
        String hex = sha256(bytes);
        assertEquals(hex + "  raw.img\n" + hex + "  fixed.vhd\n" + hex + "  dynamic.vhd\n" + hex + "  child.vhd\n",
                run.out());
    }

    @Test
    void blake3OfTheOfficialTestVectorInput() throws IOException {
        byte[] input = new byte[102400];
        for (int i = 0; i < input.length; i++) {
            input[i] = (byte) (i % 251);
        }
        Files.write(fs.getPath("vector.img"), input);
        CliRun run = vhd(fs, "digest", "--algorithm", "BLAKE3", "vector.img").assertSuccess();
        // BLAKE3-team/BLAKE3 test_vectors.json, input_len 102400.
        assertEquals("bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085  vector.img\n", run.out());
        assertEquals(run.out(), vhd(fs, "digest", "-a", "blake3", "-q", "vector.img").assertSuccess().out());
    }

    @Test
    void json() throws Exception {
        writeCopies(fs.getPath("/work"), bytes);
        JsonNode json = vhd(fs, "digest", "--output", "json", "child.vhd", "raw.img").assertSuccess().json();
        assertEquals("sha256", json.get("algorithm").asText());
        assertEquals(2, json.get("disks").size());
        JsonNode child = json.get("disks").get(0);
        assertEquals("child.vhd", child.get("file").asText());
        assertEquals("differencing", child.get("type").asText());
        assertEquals(bytes.length, child.get("size").asLong());
        assertEquals(sha256(bytes), child.get("digest").asText());
        assertEquals("raw", json.get("disks").get(1).get("type").asText());
        assertEquals(0, json.get("warnings").size());
    }

    @Test
    void aRawImageGetsExactlyTheLineOfSha256sum() throws IOException {
        ExternalTools.assumeAvailable("sha256sum");
        Path raw = Files.write(tmp.resolve("disk.img"), bytes);
        String expected = ExternalTools.run(Duration.ofSeconds(30), "sha256sum", raw.toString()).requireSuccess().stdout();
        CliRun run = vhd(FileSystems.getDefault(), "digest", raw.toString()).assertSuccess();
        assertEquals(expected, run.out());
        writeCopies(tmp, bytes);
        String hex = expected.split(" ")[0];
        for (String vhd : new String[] {"fixed.vhd", "dynamic.vhd", "child.vhd"}) {
            assertTrue(vhd(FileSystems.getDefault(), "digest", tmp.resolve(vhd).toString()).assertSuccess().out()
                    .startsWith(hex + "  "), vhd);
        }
    }

    @Test
    void errors() throws IOException {
        assertEquals("vhd: missing.vhd: no such file", vhd(fs, "digest", "missing.vhd").assertFailure(74));
        Files.write(fs.getPath("odd.img"), new byte[1000]);
        assertEquals("vhd: odd.img: raw image size: 1000 bytes is not a whole number of 512-byte sectors (488 bytes"
                + " too many), so the file is not a raw disk image, and it is not a VHD either",
                vhd(fs, "digest", "odd.img").assertFailure(65));
        String usage = vhd(fs, "digest", "--algorithm", "md5", "x").assertFailure(64);
        assertTrue(usage.contains("'md5' is not a digest algorithm; use sha256 or blake3"), usage);
        assertTrue(vhd(fs, "digest").assertFailure(64).contains("FILE"));
        Files.createDirectory(fs.getPath("dir"));
        assertTrue(vhd(fs, "digest", "dir").assertFailure(74).contains("dir: is a directory"));
    }

    @Test
    void aDamagedVhdIsRefusedNotReadAsRaw() throws IOException {
        try (VhdDisk disk = org.vhdkit.vhd.Vhd.create(fs.getPath("d.vhd"), CreateOptions.fixed(MIB))) {
            disk.write(0, new byte[] {1});
        }
        byte[] file = Files.readAllBytes(fs.getPath("d.vhd"));
        file[file.length - 512 + 64] ^= 1; // the footer's checksum
        Files.write(fs.getPath("d.vhd"), file);
        String line = vhd(fs, "digest", "d.vhd").assertFailure(65);
        assertTrue(line.contains("d.vhd") && line.toLowerCase().contains("checksum"), line);
    }

    @Test
    void aDifferencingDiskWithoutItsParentIsRefused() throws IOException {
        writeCopies(fs.getPath("/work"), bytes);
        Files.delete(fs.getPath("base.vhd"));
        String line = vhd(fs, "digest", "child.vhd").assertFailure(65);
        assertTrue(line.contains("base.vhd"), line);
    }

    @Test
    void helpHasAnExample() {
        CliRun run = vhd(fs, "digest", "--help");
        assertEquals(0, run.exitCode());
        assertTrue(run.out().contains("Examples:") && run.out().contains("vhd digest disk.vhd"), run.out());
    }
}
