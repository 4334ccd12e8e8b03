package org.vhdkit.cli.disk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.cli.CliRun.vhd;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.cli.CliRun;
import org.vhdkit.cli.OnJimfs;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.testing.ExternalTools;

/** {@code vhd compare}, in process on jimfs (working directory /work), and its exit status against qemu-img compare. */
class CompareCommandTest extends OnJimfs {
    private static final int MIB = 1 << 20;

    private byte[] bytes;

    @TempDir
    Path tmp;

    @BeforeEach
    void openFileSystem() {
        bytes = new byte[3 * MIB];
        byte[] data = new byte[100_000];
        new Random(2).nextBytes(data);
        System.arraycopy(data, 0, bytes, 2 * MIB + 5, data.length);
    }

    /** {@code content} as a dynamic VHD holding only its non-zero 2 MiB blocks. */
    private static Path dynamic(Path path, byte[] content) throws IOException {
        try (VhdDisk disk = org.vhdkit.vhd.Vhd.create(path, CreateOptions.dynamic(content.length))) {
            for (int at = 0; at < content.length; at += 2 * MIB) {
                byte[] block = Arrays.copyOfRange(content, at, Math.min(content.length, at + 2 * MIB));
                if (!Arrays.equals(block, new byte[block.length])) {
                    disk.write(at, block);
                }
            }
        }
        return path;
    }

    private byte[] changed(int offset) {
        byte[] copy = bytes.clone();
        copy[offset] ^= 0x40;
        return copy;
    }

    @Test
    void identicalDisksExitZero() throws IOException {
        dynamic(fs.getPath("a.vhd"), bytes);
        Files.write(fs.getPath("b.img"), bytes);
        CliRun run = vhd(fs, "compare", "a.vhd", "b.img").assertSuccess();
        assertEquals("Identical: a.vhd and b.img hold the same 3 MiB (3145728 bytes)\n", run.out());
    }

    @Test
    void differentDisksExitOneNamingTheFirstDifferingByte() throws IOException {
        dynamic(fs.getPath("a.vhd"), bytes);
        byte[] other = changed(2 * MIB + 777);
        other[2 * MIB + 778] ^= 1;     // the same sector
        other[3 * MIB - 1] ^= 1;       // the last byte
        Files.write(fs.getPath("b.img"), other);
        CliRun run = vhd(fs, "compare", "a.vhd", "b.img");
        assertEquals(1, run.exitCode(), run.err());
        assertEquals("", run.err());
        assertEquals("Different: a.vhd and b.img first differ at offset 2097929 (0x200309, in sector 4097)\n", run.out());
        CliRun counted = vhd(fs, "compare", "--count", "b.img", "a.vhd");
        assertEquals(1, counted.exitCode());
        assertEquals("Different: b.img and a.vhd first differ at offset 2097929 (0x200309, in sector 4097);"
                + " 2 sectors differ\n", counted.out());
    }

    @Test
    void json() throws IOException {
        dynamic(fs.getPath("a.vhd"), bytes);
        Files.write(fs.getPath("b.img"), changed(12345));
        CliRun run = vhd(fs, "compare", "--output", "json", "--count", "a.vhd", "b.img");
        assertEquals(1, run.exitCode());
        JsonNode json = run.json();
        assertEquals(false, json.get("identical").asBoolean());
        assertEquals(12345, json.get("firstDifference").asLong());
        assertEquals(1, json.get("differingSectors").asLong());
        assertEquals(false, json.get("strict").asBoolean());
        assertEquals(true, json.get("sameSize").asBoolean());
        assertEquals("a.vhd", json.get("a").get("file").asText());
        assertEquals("dynamic", json.get("a").get("type").asText());
        assertEquals("raw", json.get("b").get("type").asText());
        assertEquals(bytes.length, json.get("b").get("size").asLong());
        assertEquals(0, json.get("warnings").size());
        JsonNode same = vhd(fs, "compare", "-o", "json", "a.vhd", "a.vhd").assertSuccess().json();
        assertTrue(same.get("identical").asBoolean());
        assertTrue(same.get("firstDifference").isNull());
        assertTrue(same.get("differingSectors").isNull());
    }

    @Test
    void disksOfDifferentSizes() throws IOException {
        Files.write(fs.getPath("small.img"), bytes);
        dynamic(fs.getPath("large.vhd"), Arrays.copyOf(bytes, bytes.length + MIB));
        CliRun loose = vhd(fs, "compare", "small.img", "large.vhd").assertSuccess();
        assertEquals("Sizes differ: small.img is 3 MiB (3145728 bytes), large.vhd is 4 MiB (4194304 bytes);"
                + " large.vhd's last 1 MiB (1048576 bytes) must read as zeros\n"
                + "Identical: small.img and large.vhd hold the same contents\n", loose.out());
        CliRun strict = vhd(fs, "compare", "--strict", "small.img", "large.vhd");
        assertEquals(1, strict.exitCode());
        assertEquals("Sizes differ: small.img is 3 MiB (3145728 bytes), large.vhd is 4 MiB (4194304 bytes);"
                + " --strict counts that as a difference\n"
                + "Different: small.img and large.vhd first differ at offset 3145728 (0x300000, in sector 6144),"
                + " the end of the smaller disk\n", strict.out());
        byte[] larger = Arrays.copyOf(bytes, bytes.length + MIB);
        larger[bytes.length + 4096] = 7;
        Files.write(fs.getPath("larger.img"), larger);
        CliRun excess = vhd(fs, "compare", "larger.img", "small.img");
        assertEquals(1, excess.exitCode());
        assertTrue(excess.out().endsWith("Different: larger.img and small.img first differ at offset 3149824"
                + " (0x301000, in sector 6152)\n"), excess.out());
    }

    @Test
    void errors() throws IOException {
        Files.write(fs.getPath("b.img"), bytes);
        assertEquals("vhd: a.vhd: no such file", vhd(fs, "compare", "a.vhd", "b.img").assertFailure(74));
        assertTrue(vhd(fs, "compare", "b.img").assertFailure(64).contains("B"));
        assertTrue(vhd(fs, "compare", "b.img", "b.img", "b.img").assertFailure(64).contains("b.img"));
    }

    /** The exit status of qemu-img compare for VHD/raw pairs, on the default file system. */
    @Test
    void exitStatusAgreesWithQemuImgCompare() throws IOException {
        ExternalTools.assumeAvailable("qemu-img");
        Path vhd = dynamic(tmp.resolve("a.vhd"), bytes);
        List<byte[]> raws = List.of(bytes, changed(0), changed(2 * MIB + 6), changed(3 * MIB - 1),
                Arrays.copyOf(bytes, bytes.length + MIB), Arrays.copyOf(bytes, bytes.length - 512));
        int i = 0;
        for (byte[] content : raws) {
            Path raw = Files.write(tmp.resolve("b" + i++ + ".img"), content);
            ExternalTools.Result qemu = ExternalTools.run(Duration.ofSeconds(60), "qemu-img", "compare", "-f", "vpc",
                    "-F", "raw", vhd.toString(), raw.toString());
            CliRun ours = vhd(FileSystems.getDefault(), "compare", "-q", vhd.toString(), raw.toString());
            assertEquals(qemu.exitCode(), ours.exitCode(), "qemu said " + qemu.stdout() + "; we said " + ours.out());
        }
    }

    @Test
    void helpHasAnExampleAndTheExitCodes() {
        CliRun run = vhd(fs, "compare", "--help");
        assertEquals(0, run.exitCode());
        assertTrue(run.out().contains("Examples:") && run.out().contains("vhd compare child.vhd flat.img"), run.out());
        assertTrue(run.out().contains("Exit code 0: identical; 1: different."), run.out());
    }
}
