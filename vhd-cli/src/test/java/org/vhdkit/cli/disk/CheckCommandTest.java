package org.vhdkit.cli.disk;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.cli.CliRun.vhd;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.vhdkit.cli.CliRun;
import org.vhdkit.cli.OnJimfs;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.vhd.check.Faults;

/** {@code vhd check}, in process on jimfs (working directory /work): exit codes, human output, JSON. */
class CheckCommandTest extends OnJimfs {

    private Path path(String name) {
        return fs.getPath(name);
    }

    /** The field names of a JSON object, in order. */
    private static List<String> fields(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    @Test
    void aSoundImageIsCleanWithExitCode0() throws IOException {
        Faults.dynamic(path("disk.vhd"), 1);
        CliRun run = vhd(fs, "check", "disk.vhd").assertSuccess();
        assertEquals("Checked dynamic disk.vhd: clean\n", run.out());

        JsonNode json = vhd(fs, "check", "--output", "json", "disk.vhd").assertSuccess().json();
        assertEquals(List.of("file", "type", "status", "exitCode", "repairRun", "findings"), fields(json));
        assertEquals("disk.vhd", json.get("file").asText());
        assertEquals("dynamic", json.get("type").asText());
        assertEquals("clean", json.get("status").asText());
        assertEquals(0, json.get("exitCode").asInt());
        assertFalse(json.get("repairRun").asBoolean());
        assertEquals(0, json.get("findings").size());
    }

    @Test
    void aCorruptImageExitsWith2AndSaysWhatAndWhere() throws IOException {
        Faults.fixed(path("fixed.vhd"), 2);
        Faults.flipFooterChecksum(path("fixed.vhd"));
        CliRun run = vhd(fs, "check", "fixed.vhd");
        assertEquals(2, run.exitCode(), run.err());
        assertEquals("", run.err());
        String[] lines = run.out().split("\n");
        assertEquals("Checked fixed fixed.vhd: corrupt, 1 finding (1 corrupt); 1 repairable with --repair", lines[0]);
        assertTrue(lines[1].startsWith("  CORRUPT FOOTER_CHECKSUM: footer Checksum at offset 4194368 (0x400040): stored 0x"),
                lines[1]);
        assertEquals("    --repair would rewrite the checksum: every other field is valid and the Current Size"
                + " matches the file", lines[2]);
        assertEquals(3, lines.length);

        CliRun json = vhd(fs, "check", "-o", "json", "fixed.vhd");
        assertEquals(2, json.exitCode());
        JsonNode finding = json.json().get("findings").get(0);
        assertEquals(List.of("severity", "code", "message", "offset", "repairable", "repaired", "action"),
                fields(finding));
        assertEquals("corrupt", finding.get("severity").asText());
        assertEquals("FOOTER_CHECKSUM", finding.get("code").asText());
        assertEquals(4194368, finding.get("offset").asLong());
        assertTrue(finding.get("repairable").asBoolean());
        assertFalse(finding.get("repaired").asBoolean());
        assertEquals("corrupt", json.json().get("status").asText());
        assertEquals(2, json.json().get("exitCode").asInt());
    }

    @Test
    void repairFixesItAndSaysSo() throws IOException {
        Faults.fixed(path("fixed.vhd"), 3);
        byte[] sound = Files.readAllBytes(path("fixed.vhd"));
        Faults.flipFooterChecksum(path("fixed.vhd"));
        CliRun run = vhd(fs, "check", "--repair", "fixed.vhd").assertSuccess();
        String[] lines = run.out().split("\n");
        assertEquals("Repaired fixed fixed.vhd: clean, 1 finding (1 corrupt); 1 repaired", lines[0]);
        assertTrue(lines[2].startsWith("    repaired: rewrite the checksum"), lines[2]);
        assertArrayEquals(sound, Files.readAllBytes(path("fixed.vhd")));
        assertEquals("Checked fixed fixed.vhd: clean\n", vhd(fs, "check", "fixed.vhd").assertSuccess().out());
    }

    @Test
    void leakedSpaceOnlyExitsWith3AndRepairReclaimsIt() throws IOException {
        Faults.dynamic(path("disk.vhd"), 4);
        long size = Files.size(path("disk.vhd"));
        Faults.garbageBeforeFooter(path("disk.vhd"), 10_000, 1);
        CliRun run = vhd(fs, "check", "disk.vhd");
        assertEquals(3, run.exitCode(), run.out() + run.err());
        assertTrue(run.out().startsWith("Checked dynamic disk.vhd: leaked space only, 1 finding (1 leak);"
                + " 1 repairable with --repair\n  LEAK LEAKED_TAIL: file at offset "), run.out());

        JsonNode repaired = vhd(fs, "check", "--repair", "--output", "json", "disk.vhd").assertSuccess().json();
        assertEquals("clean", repaired.get("status").asText());
        assertEquals(0, repaired.get("exitCode").asInt());
        assertTrue(repaired.get("repairRun").asBoolean());
        JsonNode leak = repaired.get("findings").get(0);
        assertEquals("leak", leak.get("severity").asText());
        assertEquals("LEAKED_TAIL", leak.get("code").asText());
        assertTrue(leak.get("repaired").asBoolean());
        assertTrue(leak.get("action").asText().startsWith("move the trailing footer down to offset "),
                leak.get("action").asText());
        assertEquals(size, Files.size(path("disk.vhd")));
        vhd(fs, "check", "disk.vhd").assertSuccess();
    }

    @Test
    void whatCannotBeRepairedStaysAndTheFileIsUntouched() throws IOException {
        Faults.dynamic(path("disk.vhd"), 5);
        long entry = Faults.layout(path("disk.vhd")).tableOffset() + 12;
        Faults.pointBatEntryPastEnd(path("disk.vhd"), 3);
        byte[] before = Files.readAllBytes(path("disk.vhd"));
        CliRun run = vhd(fs, "check", "--repair", "disk.vhd");
        assertEquals(2, run.exitCode());
        assertTrue(run.out().startsWith("Repaired dynamic disk.vhd: corrupt, 2 findings (1 corrupt, 1 leak); 0 repaired\n"
                + "  CORRUPT BLOCK_PAST_END: BAT entry 3 at offset " + entry + " (0x" + Long.toHexString(entry)
                + "): block at sector "), run.out());
        assertTrue(run.out().contains("\n    not repairable: the block's data is not in the file\n"), run.out());
        assertArrayEquals(before, Files.readAllBytes(path("disk.vhd")));
    }

    @Test
    void warningsAloneAreClean() throws IOException {
        Faults.dynamic(path("disk.vhd"), 6);
        Faults.shortenFooter(path("disk.vhd"));
        CliRun run = vhd(fs, "check", "disk.vhd").assertSuccess();
        assertTrue(run.out().startsWith("Checked dynamic disk.vhd: clean, 1 finding (1 warning); 1 repairable with"
                + " --repair\n  WARNING FOOTER_SHORT: "), run.out());
    }

    @Test
    void aFileThatIsNoVhdHasNoTypeAndIsCorrupt() throws IOException {
        Files.write(path("notes.txt"), "not a disk\n".repeat(200).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        CliRun run = vhd(fs, "check", "--output", "json", "notes.txt");
        assertEquals(2, run.exitCode());
        JsonNode json = run.json();
        assertTrue(json.get("type").isNull());
        assertEquals("FOOTER_DAMAGED", json.get("findings").get(0).get("code").asText());
        Files.write(path("tiny"), new byte[10]);
        JsonNode tiny = vhd(fs, "check", "--output", "json", "tiny").json();
        assertTrue(tiny.get("findings").get(0).get("offset").isNull(), tiny.toString());
    }

    @Test
    void aMissingParentIsCorrupt() throws IOException {
        Faults.Image parent = Faults.dynamic(path("base.vhd"), 7);
        Faults.differencing(path("child.vhd"), parent, 8);
        vhd(fs, "check", "child.vhd").assertSuccess();
        Files.move(path("base.vhd"), path("moved.vhd"));
        CliRun run = vhd(fs, "check", "child.vhd");
        assertEquals(2, run.exitCode());
        assertTrue(run.out().contains("  CORRUPT PARENT_NOT_FOUND: parent 'base.vhd'"), run.out());
    }

    @Test
    void aMissingFileOrADirectoryIsAnIoError() throws IOException {
        assertEquals("vhd: missing.vhd: no such file",
                vhd(fs, "check", "missing.vhd").assertFailure(ExitCodes.IO));
        Files.createDirectory(path("dir"));
        assertTrue(vhd(fs, "check", "dir").assertFailure(ExitCodes.IO).contains("dir"));
    }

    @Test
    void usageErrors() {
        assertEquals("vhd: missing required parameter: 'FILE'; try 'vhd check --help'",
                vhd(fs, "check").assertFailure(ExitCodes.USAGE));
        assertEquals("vhd: unknown option: '--fix'; try 'vhd check --help'",
                vhd(fs, "check", "--fix", "a.vhd").assertFailure(ExitCodes.USAGE));
    }

    @Test
    void helpHasExamplesExitCodesAndSaysHowRepairIsCrashSafe() {
        String out = vhd(fs, "check", "--help").assertSuccess().out();
        assertTrue(out.contains("\nExamples:\n  vhd check disk.vhd"), out);
        assertTrue(out.contains("Crash-safe"), out);
        assertTrue(out.contains("2: corrupt; 3: leaked space only"), out);
    }
}
