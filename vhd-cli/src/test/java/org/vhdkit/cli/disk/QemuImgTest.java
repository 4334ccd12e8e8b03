package org.vhdkit.cli.disk;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.vhdkit.cli.CliRun;
import org.vhdkit.cli.VhdCommand;
import org.vhdkit.vhd.testing.ExternalTools;

/** What {@code vhd} makes and reports agrees with qemu-img, on real files. */
class QemuImgTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    /** Per test, not in @BeforeAll: without qemu-img each test shows as skipped instead of vanishing. */
    @BeforeEach
    void needQemuImg() {
        ExternalTools.assumeAvailable("qemu-img");
    }

    private CliRun vhd(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = VhdCommand.run(new PrintWriter(out), new PrintWriter(err), args);
        return new CliRun(code, out.toString(), err.toString(), "vhd " + String.join(" ", args));
    }

    /** qemu-img's view of a VHD; told the format, as it probes a fixed VHD (no header at 0) as raw. */
    private static JsonNode qemuInfo(Path image) throws IOException {
        ExternalTools.Result result = ExternalTools.run(TIMEOUT, "qemu-img", "info", "-f", "vpc", "--output=json",
                image.toString())
                .requireSuccess();
        return JSON.readTree(result.stdout());
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"fixed, 64M, 67108864", "dynamic, 10G, 10737418240", "dynamic, 1000000K, 1024000000",
        "fixed, 1.5G, 1610612736"})
    void sameVirtualSize(String type, String size, long bytes) throws IOException {
        Path image = tmp.resolve(type + ".vhd");
        vhd("create", "--type", type, "--size", size, image.toString()).assertSuccess();
        JsonNode qemu = qemuInfo(image);
        assertEquals("vpc", qemu.get("format").asText());
        assertEquals(bytes, qemu.get("virtual-size").asLong());
        assertEquals(bytes, vhd("info", "-o", "json", image.toString()).assertSuccess().json().get("size").asLong());
    }

    @Test
    void differencingHasTheParentsSize() throws IOException {
        Path base = tmp.resolve("base.vhd");
        Path child = tmp.resolve("child.vhd");
        vhd("create", "--size", "100M", base.toString()).assertSuccess();
        vhd("create", "--parent", base.toString(), child.toString()).assertSuccess();
        assertEquals(100L << 20, qemuInfo(child).get("virtual-size").asLong());
    }

    /** qemu-img's own dynamic image (creator "qemu", a CHS-rounded size): both tools agree on its size. */
    @Test
    void infoOfAQemuImage() throws IOException {
        Path image = tmp.resolve("q.vhd");
        ExternalTools.run(TIMEOUT, "qemu-img", "create", "-q", "-f", "vpc", "-o", "subformat=dynamic",
                image.toString(), "100M").requireSuccess();
        JsonNode info = vhd("info", "--output", "json", image.toString()).assertSuccess().json();
        assertEquals(qemuInfo(image).get("virtual-size").asLong(), info.get("size").asLong());
        assertEquals("qemu", info.get("creator").get("application").asText());
        assertEquals("dynamic", info.get("type").asText());
    }

    /**
     * What the README warns of, as the installed qemu does it: a differencing VHD opens with no
     * backing file, and converting it keeps none of the parent's data; a fixed VHD probes as raw.
     */
    @Test
    void qemuDoesNotFollowVhdParentsAndProbesFixedAsRaw() throws IOException {
        Path base = tmp.resolve("base.vhd");
        Path child = tmp.resolve("child.vhd");
        vhd("create", "--size", "1M", base.toString()).assertSuccess();
        try (org.vhdkit.vhd.VhdDisk disk = org.vhdkit.vhd.Vhd.open(base, org.vhdkit.vhd.OpenOptions.READ_WRITE)) {
            byte[] data = new byte[4096];
            java.util.Arrays.fill(data, (byte) 0x5a);
            disk.write(0, data);
        }
        vhd("create", "--parent", base.toString(), child.toString()).assertSuccess();
        JsonNode info = qemuInfo(child);
        assertEquals(null, info.get("backing-filename"), info::toString);
        Path raw = tmp.resolve("child.raw");
        ExternalTools.run(TIMEOUT, "qemu-img", "convert", "-O", "raw", child.toString(), raw.toString())
                .requireSuccess();
        assertEquals(0, java.nio.file.Files.readAllBytes(raw)[0], "qemu-img convert kept the parent's data");

        Path fixed = tmp.resolve("fixed.vhd");
        vhd("create", "--type", "fixed", "--size", "1M", fixed.toString()).assertSuccess();
        JsonNode probed = JSON.readTree(ExternalTools.run(TIMEOUT, "qemu-img", "info", "--output=json",
                fixed.toString()).requireSuccess().stdout());
        assertEquals("raw", probed.get("format").asText());
        assertEquals((1 << 20) + 512, probed.get("virtual-size").asLong());
    }
}
