package org.vhdkit.cli.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.cli.CliRun;
import org.vhdkit.cli.conventions.ExitCodes;

/**
 * {@code vhd vm snapshot} and {@code vhd vm check}: the snapshot tree from the command line, each
 * step a separate run (the folder opened afresh, as separate processes would), with the disk's
 * content checked by the guest workload's verify after every apply.
 */
@Timeout(120)
class VmSnapshotCommandTest {
    private static final long DISK = 2 << 20;

    @TempDir
    Path tmp;

    private VmFolder vms;
    private Path disk;

    @BeforeEach
    void vmWithADisk() throws Exception {
        vms = new VmFolder(tmp.resolve("vms"));
        vms.vm("create", "--memory", "16M", "web").assertSuccess();
        disk = VmFolder.dynamicVhd(tmp, "d.vhd", DISK);
        vms.vm("attach", "web", "--controller", "scsi:0", "--lun", "0", disk.toString()).assertSuccess();
    }

    /** Whatever a failed test left running is turned off, so that its host ends. */
    @AfterEach
    void turnOffWhatRuns() {
        if (Files.exists(vms.root().resolve(VmHost.SOCKET))) {
            vms.vm("stop", "web");
        }
    }

    private CliRun pattern(long seed) {
        return vms.vm("run", "web", "--workload", "pattern", "--seed", Long.toString(seed)).assertSuccess();
    }

    private CliRun verify(long seed) {
        return vms.vm("run", "web", "--workload", "verify", "--seed", Long.toString(seed));
    }

    private JsonNode tree() {
        return vms.vm("snapshot", "list", "--output", "json", "web").assertSuccess().json();
    }

    private static List<String> names(JsonNode tree) {
        return StreamSupport.stream(tree.get("snapshots").spliterator(), false).map(s -> s.get("name").asText())
                .toList();
    }

    private static JsonNode node(JsonNode tree, String name) {
        return StreamSupport.stream(tree.get("snapshots").spliterator(), false)
                .filter(s -> s.get("name").asText().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void createApplyRevertDeleteRenameExportAcrossSeparateRuns() throws Exception {
        pattern(1);
        String took = vms.vm("snapshot", "create", "web", "s1").assertSuccess().out();
        assertTrue(took.matches("Took snapshot 's1' \\([0-9a-f-]{36}\\) of 'web'\n"), took);
        pattern(2);
        JsonNode s2 = vms.vm("snapshot", "create", "--output", "json", "web", "s2").assertSuccess().json();
        assertEquals("web", s2.get("vm").asText());
        assertEquals("s2", s2.get("snapshot").get("name").asText());
        assertEquals(0, s2.get("warnings").size());

        JsonNode tree = tree();
        assertEquals(List.of("s1", "s2"), names(tree));
        assertEquals(s2.get("snapshot").get("id").asText(), tree.get("now").asText());
        assertEquals(node(tree, "s1").get("id").asText(), node(tree, "s2").get("parent").asText());
        String human = vms.vm("snapshot", "list", "web").assertSuccess().out();
        assertTrue(human.contains("s1") && human.contains("s2") && human.contains("Now"), human);
        assertTrue(human.indexOf("s1") < human.indexOf("s2"), human);

        CliRun applied = vms.vm("snapshot", "apply", "web", "s1").assertSuccess();
        assertTrue(applied.out().startsWith("Applied snapshot 's1' ("), applied.out());
        assertTrue(applied.out().endsWith(" to 'web'; it is Off\n"), applied.out());
        assertEquals(0, verify(1).exitCode(), "s1 holds pattern 1");
        assertEquals(ExitCodes.DIFFERENT, verify(2).exitCode(), "s1 does not hold pattern 2");

        vms.vm("snapshot", "apply", "web", "s2").assertSuccess();
        assertEquals(0, verify(2).exitCode(), "s2 holds pattern 2");

        // Revert throws away what was written since the apply.
        pattern(3);
        assertTrue(vms.vm("snapshot", "revert", "web").assertSuccess().out().startsWith("Reverted 'web' to 's2' ("));
        assertEquals(0, verify(2).exitCode(), "reverted to s2");

        String deleted = vms.vm("snapshot", "delete", "web", "s1").assertSuccess().out();
        assertTrue(deleted.matches("Deleted snapshot 's1' \\([0-9a-f-]{36}\\) of 'web'\n"), deleted);
        assertEquals(List.of("s2"), names(tree()));
        assertEquals(0, verify(2).exitCode(), "s1's layer merged: s2 still holds pattern 2");

        assertTrue(vms.vm("snapshot", "rename", "web", "s2", "base").assertSuccess().out()
                .startsWith("Renamed snapshot 's2' ("));
        assertEquals(List.of("base"), names(tree()));

        // Every file of the tree is sound.
        CliRun check = vms.vm("check", "web").assertSuccess();
        assertTrue(check.out().startsWith("Snapshot tree of 'web': consistent\n"), check.out());
        JsonNode checked = vms.vm("check", "--output", "json", "web").assertSuccess().json();
        assertEquals(0, checked.get("exitCode").asInt());
        List<Path> files = vhdFiles();
        assertTrue(files.size() >= 3, "the base disk and at least two AVHDs: " + files);
        assertEquals(files.size(), checked.get("files").size(), checked.toString());
        for (Path f : files) {
            CliRun.vhd(FileSystems.getDefault(), "check", f.toString()).assertSuccess();
        }

        // Export: a standalone VHD with the node's content.
        Path backup = Files.createDirectory(tmp.resolve("backup"));
        CliRun exported = vms.vm("snapshot", "export", "web", "base", backup.toString()).assertSuccess();
        List<String> lines = exported.out().lines().toList();
        assertTrue(lines.get(0).matches("Exported snapshot 'base' \\(.*\\) of 'web': 1 disk"), exported.out());
        Path vhd = Path.of(lines.get(1).strip().split(" +", 2)[1]);
        assertTrue(Files.exists(vhd) && vhd.startsWith(backup), exported.out());
        String layer = node(tree(), "base").get("layers").get(0).get("path").asText();
        CliRun.vhd(FileSystems.getDefault(), "compare", vhd.toString(), layer).assertSuccess();
        CliRun.vhd(FileSystems.getDefault(), "check", vhd.toString()).assertSuccess();
        try (var d = org.vhdkit.vhd.Vhd.openReadOnly(vhd)) {
            assertTrue(d.parent().isEmpty(), "standalone");
        }
        assertTrue(vms.vm("snapshot", "export", "web", "base", backup.toString()).assertFailure(ExitCodes.IO)
                .contains(vhd + ": the file exists already"), "an export does not overwrite");
    }

    @Test
    void snapshotFirstSubtreeDeleteAndRefusals() {
        pattern(1);
        vms.vm("snapshot", "create", "web", "a").assertSuccess();
        pattern(2);
        vms.vm("snapshot", "create", "web", "b").assertSuccess();
        pattern(3);
        vms.vm("snapshot", "apply", "--snapshot-first", "web", "a").assertSuccess();
        JsonNode tree = tree();
        assertEquals(3, tree.get("snapshots").size(), "--snapshot-first took one of the VM as it was: " + tree);
        String first = names(tree).stream().filter(n -> !n.equals("a") && !n.equals("b")).findFirst().orElseThrow();
        assertTrue(first.startsWith("web - ("), first);
        vms.vm("snapshot", "apply", "web", first).assertSuccess();
        assertEquals(0, verify(3).exitCode(), "the snapshot taken first holds pattern 3");

        JsonNode deleted = vms.vm("snapshot", "delete", "--delete-subtree", "--output", "json", "web", "b")
                .assertSuccess().json();
        assertEquals("b", deleted.get("snapshot").get("name").asText());
        assertEquals(List.of("a"), names(tree()), "b and the one under it are gone");
        assertEquals(0, verify(3).exitCode(), "the VM keeps what it shows");
        vms.vm("check", "web").assertSuccess();

        assertEquals("vhd: no VM is named 'nope' in " + vms.root(),
                vms.vm("snapshot", "list", "nope").assertFailure(ExitCodes.REFUSED));
        assertTrue(vms.vm("snapshot", "apply", "web", "zzz").assertFailure(ExitCodes.REFUSED).contains("zzz"));
        assertTrue(vms.vm("snapshot").assertFailure(ExitCodes.USAGE).contains("no snapshot command given"));
    }

    /** A disk deleted under the VM (e.g. merged away): a finding of 'vm check', and start says how to fix it. */
    @Test
    void aMissingDiskIsAFindingAndStartNamesSlotAndPath() throws Exception {
        Files.delete(disk);
        CliRun check = vms.vm("check", "web");
        assertEquals(ExitCodes.CORRUPT, check.exitCode(), check.err());
        assertEquals("", check.err());
        assertTrue(check.out().contains("missing  scsi:0:0  " + disk + ": no such file"), check.out());
        JsonNode json = vms.vm("check", "--output", "json", "web").json();
        assertEquals(ExitCodes.CORRUPT, json.get("exitCode").asInt());
        assertEquals("scsi:0:0", json.get("missing").get(0).get("slot").asText(), json.toString());
        assertEquals(disk.toString(), json.get("missing").get(0).get("path").asText());

        String expected = "vhd: cannot start 'web': its disk at scsi:0:0, " + disk + ", is missing (no such file);"
                + " put the file back, or detach it with 'vhd vm detach web --controller scsi:0:0'";
        assertEquals(expected, vms.vm("start", "web").assertFailure(ExitCodes.IO));
        assertEquals(expected.replace("cannot start", "cannot run the workload on"),
                vms.vm("run", "web").assertFailure(ExitCodes.IO));
    }

    @Test
    void passThroughDisksAreSkippedWithAWarning() throws Exception {
        Path raw = Files.write(tmp.resolve("raw.img"), new byte[1 << 20]);
        vms.vm("attach", "web", "--controller", "scsi:1:0", "--passthrough", raw.toString()).assertSuccess();
        CliRun run = vms.vm("snapshot", "create", "web", "s");
        assertEquals(0, run.exitCode(), run.err());
        assertFalse(run.err().isEmpty(), "a warning");
        for (String line : run.err().lines().toList()) {
            assertTrue(line.startsWith("vhd: warning: ") && line.contains(raw.toString()), run.err());
        }
    }

    @Test
    void aRunningVmIsSnapshottedThroughItsHost() throws Exception {
        CompletableFuture<CliRun> host = vms.host("start", "web");
        vms.vm("snapshot", "create", "web", "live").assertSuccess();
        assertTrue(vms.vm("list").out().contains("Running"), "started again after the snapshot");
        assertTrue(node(tree(), "live").get("savedState").asBoolean(), "with its saved state");
        vms.vm("stop", "web").assertSuccess();
        VmFolder.ended(host).assertSuccess();
        vms.vm("snapshot", "apply", "web", "live").assertSuccess();
        assertTrue(vms.vm("show", "web").out().contains("Saved"), vms.vm("show", "web").out());
    }

    @Test
    void checkFindsAnOrphanAvhdAndRepairRemovesIt() throws Exception {
        pattern(1);
        vms.vm("snapshot", "create", "web", "s").assertSuccess();
        Path avhd = vhdFiles().stream().filter(p -> p.toString().endsWith(".avhd")).findFirst().orElseThrow();
        Path orphan = avhd.resolveSibling("d_00000000-0000-4000-8000-000000000000.avhd");
        Files.copy(avhd, orphan);

        CliRun check = vms.vm("check", "web");
        assertEquals(ExitCodes.CORRUPT, check.exitCode(), check.out() + check.err());
        assertTrue(check.out().contains(orphan.getFileName().toString()), check.out());

        CliRun repaired = vms.vm("check", "--repair", "web").assertSuccess();
        assertTrue(repaired.out().contains("repaired: "), repaired.out());
        assertFalse(Files.exists(orphan), "the orphan is deleted");
        vms.vm("check", "web").assertSuccess();
        assertEquals(0, verify(1).exitCode());
    }

    /** Every VHD and AVHD file under the temp folder. */
    private List<Path> vhdFiles() throws Exception {
        List<Path> files = new ArrayList<>();
        try (Stream<Path> all = Files.walk(tmp)) {
            all.filter(p -> p.toString().endsWith(".vhd") || p.toString().endsWith(".avhd"))
                    .filter(p -> !p.startsWith(tmp.resolve("backup"))).forEach(files::add);
        }
        return files;
    }
}
