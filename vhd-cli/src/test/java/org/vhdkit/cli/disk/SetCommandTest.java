package org.vhdkit.cli.disk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.cli.CliRun.vhd;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.vhdkit.cli.CliRun;
import org.vhdkit.cli.OnJimfs;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.vhd.format.Footer;

/** {@code vhd set}, in process on jimfs (working directory /work). */
class SetCommandTest extends OnJimfs {
    private static final String OLD = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";
    private static final String NEW = "0123abcd-4567-89ef-0123-456789abcdef";

    @BeforeEach
    void createADisk() {
        vhd(fs, "create", "--size", "4M", "--uuid", OLD, "disk.vhd").assertSuccess();
    }

    /** Both footers of disk.vhd, the copy at 0 first. */
    private Footer[] footers() throws IOException {
        byte[] file = Files.readAllBytes(fs.getPath("disk.vhd"));
        return new Footer[] {Footer.decode("disk.vhd", file, 0, 0),
            Footer.decode("disk.vhd", file, file.length - 512, file.length - 512)};
    }

    @Test
    void aGivenUuid() throws IOException {
        CliRun run = vhd(fs, "set", "--uuid", NEW, "disk.vhd");
        assertEquals(0, run.exitCode(), run::err);
        assertEquals("Set disk.vhd: uuid " + OLD + " -> " + NEW + "\n", run.out());
        assertTrue(run.err().startsWith("vhd: warning: disk.vhd: differencing disks made on this disk are linked to its"
                + " old UUID " + OLD), run.err());
        for (Footer footer : footers()) {
            assertEquals(UUID.fromString(NEW), footer.uniqueId());
        }
        assertTrue(vhd(fs, "info", "disk.vhd").assertSuccess().out().contains(NEW));
    }

    @Test
    void aNewRandomUuidAsJson() throws IOException {
        JsonNode json = vhd(fs, "set", "--output", "json", "--new-uuid", "disk.vhd").assertSuccess().json();
        assertEquals("disk.vhd", json.get("file").asText());
        assertTrue(json.get("changed").asBoolean());
        assertEquals(OLD, json.get("before").get("uuid").asText());
        assertNotEquals(OLD, json.get("after").get("uuid").asText());
        assertEquals("win", json.get("after").get("creator").get("application").asText());
        assertEquals(1, json.get("warnings").size());
        assertEquals(json.get("after").get("uuid").asText(), footers()[0].uniqueId().toString());
    }

    @Test
    void creatorFields() throws IOException {
        CliRun run = vhd(fs, "set", "--creator-app", "vpc", "--creator-version", "5.3", "--creator-host", "mac",
                "disk.vhd").assertSuccess();
        assertEquals("Set disk.vhd: creator application 'win' -> 'vpc'; creator version 10.0 -> 5.3;"
                + " creator host OS Wi2k -> Mac\n", run.out());
        for (Footer footer : footers()) {
            assertEquals("vpc ", footer.creatorApplication());
            assertEquals(0x00050003, footer.creatorVersion());
            assertEquals(Footer.HOST_MACINTOSH, footer.creatorHostOs());
            assertEquals(UUID.fromString(OLD), footer.uniqueId());
        }
        assertEquals("disk.vhd: nothing changed, the fields hold these values already\n",
                vhd(fs, "set", "--creator-app", "vpc", "disk.vhd").assertSuccess().out());
    }

    @Test
    void usageErrors() {
        String[][] cases = {
            {"disk.vhd"}, {"--uuid", NEW, "--new-uuid", "disk.vhd"}, {"--uuid", "nope", "disk.vhd"},
            {"--creator-version", "10", "disk.vhd"}, {"--creator-app", "toolong", "disk.vhd"},
            {"--creator-host", "", "disk.vhd"}};
        String[] expected = {
            "vhd: nothing to set; give --uuid, --new-uuid, --creator-app, --creator-version or --creator-host;"
                    + " try 'vhd set --help'",
            "vhd: error: --uuid=UUID, --new-uuid are mutually exclusive (specify only one); try 'vhd set --help'",
            "vhd: invalid value for option '--uuid': 'nope' is not a UUID; give 32 hex digits as 8-4-4-4-12, e.g."
                    + " 3f2504e0-4f89-11d3-9a0c-0305e82c3301; try 'vhd set --help'",
            "vhd: --creator-version: '10' is not MAJOR.MINOR with each part from 0 to 65535, e.g. 10.0;"
                    + " try 'vhd set --help'",
            "vhd: --creator-app: 'toolong' is not one to four printable ASCII characters; try 'vhd set --help'",
            "vhd: --creator-host: '' is not one to four printable ASCII characters; try 'vhd set --help'"};
        for (int i = 0; i < cases.length; i++) {
            String[] args = new String[cases[i].length + 1];
            args[0] = "set";
            System.arraycopy(cases[i], 0, args, 1, cases[i].length);
            assertEquals(expected[i], vhd(fs, args).assertFailure(ExitCodes.USAGE));
        }
    }

    /** A value that parses but is out of range is refused (65); one that does not parse is a usage error. */
    @Test
    void aCreatorVersionOutOfRangeIsRefused() {
        assertEquals("vhd: --creator-version: 10.70000 has a part above 65535", vhd(fs, "set", "--creator-version",
                "10.70000", "disk.vhd").assertFailure(ExitCodes.REFUSED));
    }

    @Test
    void aMissingFileIsAnIoError() {
        assertEquals("vhd: nothing.vhd: no such file", vhd(fs, "set", "--new-uuid", "nothing.vhd")
                .assertFailure(ExitCodes.IO));
    }

    @Test
    void helpHasExamplesAndSaysHowItIsCrashSafe() {
        String out = vhd(fs, "set", "--help").assertSuccess().out();
        assertTrue(out.startsWith("Usage: vhd set"), out);
        assertTrue(out.contains("\nExamples:\n  vhd set"), out);
        assertTrue(out.contains("Crash-safe"), out);
    }
}
