package org.vhdkit.cli.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.vhdkit.cli.CliRun;
import org.vhdkit.cli.conventions.ExitCodes;

/**
 * {@code vhd vm create, list, show, set, delete}: each run opens the folder afresh (a new
 * hypervisor over the same root), as separate processes do.
 */
@Timeout(60)
class VmConfigCommandsTest {
    @TempDir
    Path tmp;

    private VmFolder vms;

    @BeforeEach
    void folder() {
        vms = new VmFolder(tmp.resolve("vms"));
    }

    @Test
    void createListShowSetDeleteRoundTrip() throws Exception {
        CliRun created = vms.vm("create", "--memory", "64M", "--processors", "2", "web").assertSuccess();
        assertTrue(created.out().matches("Created VM 'web': 64 MiB, 2 processors, integration components on;"
                + " folder " + vms.root() + "/[0-9a-f-]{36}\n"), created.out());
        vms.vm("create", "--no-integration", "legacy").assertSuccess();

        assertEquals("""
                NAME    STATE         MEMORY  CPUS  ATTACHED
                legacy  Off          512 MiB     1         0
                web     Off           64 MiB     2         0
                """, vms.vm("list").assertSuccess().out());

        JsonNode web = vms.vm("show", "--output", "json", "web").assertSuccess().json();
        assertEquals(List.of("name", "id", "state", "memory", "processors", "integrationComponents", "attachments",
                "bootOrder", "folder", "lastStopReason", "hostPid", "engine"), fields(web));
        assertEquals("programs", web.get("engine").get("kind").asText(), "a VM is run by the guest programs by default");
        assertEquals("web", web.get("name").asText());
        assertEquals("Off", web.get("state").asText());
        assertEquals(64L << 20, web.get("memory").asLong());
        assertEquals(2, web.get("processors").asInt());
        assertTrue(web.get("integrationComponents").asBoolean());
        assertEquals(0, web.get("attachments").size());
        assertTrue(web.get("lastStopReason").isNull());
        assertTrue(web.get("hostPid").isNull());
        Path folder = Path.of(web.get("folder").asText());
        assertEquals(vms.root().resolve(web.get("id").asText()), folder);
        assertTrue(Files.isRegularFile(folder.resolve("config.json")));

        CliRun set = vms.vm("set", "--memory", "1G", "--processors", "4", "--integration", "off", "web")
                .assertSuccess();
        assertEquals("Set memory 64 MiB -> 1 GiB, processors 2 -> 4, integration components off of 'web'\n",
                set.out());
        assertEquals("""
                Name:        web
                Id:          %s
                State:       Off
                Memory:      1 GiB (1073741824 bytes)
                Processors:  4
                Integration: off
                Engine:      programs
                Boot order:  (none)
                Folder:      %s
                Attachments: none
                """.formatted(web.get("id").asText(), folder), vms.vm("show", "web").assertSuccess().out());

        JsonNode renamed = vms.vm("set", "--output", "json", "--rename", "www", "WEB").assertSuccess().json();
        assertEquals(List.of("name", "changed", "before", "after"), fields(renamed));
        assertEquals("www", renamed.get("name").asText());
        assertEquals("[\"name\"]", renamed.get("changed").toString());
        assertEquals("web", renamed.get("before").get("name").asText());
        assertEquals("www", renamed.get("after").get("name").asText());
        assertEquals("'www' already has these settings; nothing changed\n",
                vms.vm("set", "--processors", "4", "www").assertSuccess().out());

        JsonNode listing = vms.vm("list", "--output", "json").assertSuccess().json();
        assertEquals(List.of("root", "vms", "problems"), fields(listing));
        assertEquals(vms.root().toString(), listing.get("root").asText());
        assertEquals(List.of("legacy", "www"), StreamSupport.stream(listing.get("vms").spliterator(), false)
                .map(v -> v.get("name").asText()).toList());
        assertEquals(0, listing.get("problems").size());

        CliRun deleted = vms.vm("delete", "www").assertSuccess();
        assertEquals("Deleted VM 'www' (" + folder + ")\n", deleted.out());
        assertFalse(Files.exists(folder));
        JsonNode gone = vms.vm("delete", "--output", "json", "legacy").assertSuccess().json();
        assertEquals(List.of("name", "id", "folder", "savedStateDiscarded", "kept"), fields(gone));
        assertEquals("No VMs in " + vms.root() + "\n", vms.vm("list").assertSuccess().out());
    }

    @Test
    void deleteKeepsTheDisksAndSaysSo() throws Exception {
        Path disk = VmFolder.dynamicVhd(tmp, "d.vhd", 8 << 20);
        vms.vm("create", "--memory", "16M", "web").assertSuccess();
        vms.vm("attach", "web", "--controller", "scsi:0", "--lun", "0", disk.toString()).assertSuccess();
        CliRun deleted = vms.vm("delete", "web").assertSuccess();
        assertTrue(deleted.out().endsWith("; its files are kept: " + disk + "\n"), deleted.out());
        assertTrue(Files.isRegularFile(disk));
        assertEquals(0, CliRun.vhd(java.nio.file.FileSystems.getDefault(), "check", "-q", disk.toString()).exitCode());
    }

    @Test
    void createRefusals() {
        vms.vm("create", "web").assertSuccess();
        assertEquals("vhd: cannot create 'WEB': a VM named 'WEB' already exists",
                vms.vm("create", "WEB").assertFailure(ExitCodes.REFUSED));
        assertEquals("vhd: cannot create 'x': 1 MiB is below the minimum of 8 MiB a VM needs",
                vms.vm("create", "--memory", "1M", "x").assertFailure(ExitCodes.REFUSED));
        assertEquals("vhd: cannot create 'x': 128 GiB is above the maximum of 64 GiB a VM may have",
                vms.vm("create", "--memory", "128G", "x").assertFailure(ExitCodes.REFUSED));
        assertEquals("vhd: cannot create 'x': 8389632 bytes is not a whole number of 4 KiB pages",
                vms.vm("create", "--memory", "8389632", "x").assertFailure(ExitCodes.REFUSED));
        assertEquals("vhd: cannot create 'x': 5 is more than the 4 virtual processors a VM may have",
                vms.vm("create", "--processors", "5", "x").assertFailure(ExitCodes.REFUSED));
        assertEquals("vhd: cannot create ' x': ' x' begins or ends with white space",
                vms.vm("create", " x").assertFailure(ExitCodes.REFUSED));
        assertTrue(vms.vm("create", "--memory", "lots", "x").assertFailure(ExitCodes.USAGE)
                .startsWith("vhd: invalid value for option '--memory': 'lots' is not a size"));
        assertEquals("vhd: missing required parameter: 'NAME'; try 'vhd vm create --help'",
                vms.vm("create").assertFailure(ExitCodes.USAGE));
    }

    @Test
    void unknownVmIsRefusedNamingTheFolder() {
        for (String command : new String[] {"show", "delete", "start", "stop", "shutdown", "pause", "resume", "save",
                "run"}) {
            assertEquals("vhd: no VM is named 'ghost' in " + vms.root(),
                    vms.vm(command, "ghost").assertFailure(ExitCodes.REFUSED), command);
        }
        assertEquals("vhd: no VM is named 'ghost' in " + vms.root(),
                vms.vm("set", "--memory", "1G", "ghost").assertFailure(ExitCodes.REFUSED));
    }

    @Test
    void engineOptionsAreStoredShownAndChecked() {
        vms.vm("create", "--engine", "qemu", "--kernel", "/boot/k", "--initrd", "/boot/i", "--append", "console=ttyS0",
                "--accel", "tcg", "tiny").assertSuccess();
        JsonNode engine = vms.vm("show", "--output", "json", "tiny").assertSuccess().json().get("engine");
        assertEquals("qemu", engine.get("kind").asText());
        assertEquals("tcg", engine.get("accel").asText());
        assertEquals("/boot/k", engine.get("kernel").asText());
        assertEquals("/boot/i", engine.get("initrd").asText());
        assertEquals("console=ttyS0", engine.get("append").asText());
        assertTrue(vms.vm("show", "tiny").assertSuccess().out().contains(
                "qemu, accel tcg, kernel /boot/k, initrd /boot/i, append 'console=ttyS0'"));

        vms.vm("set", "--kernel", "none", "tiny").assertSuccess();
        engine = vms.vm("show", "--output", "json", "tiny").assertSuccess().json().get("engine");
        assertEquals("qemu", engine.get("kind").asText());
        assertTrue(engine.get("kernel").isNull() && engine.get("initrd").isNull() && engine.get("append").isNull(),
                "back to the BIOS: the kernel's initrd and command line go too: " + engine);

        assertTrue(vms.vm("create", "--kernel", "/boot/k", "plain").assertFailure(ExitCodes.USAGE)
                .contains("add --engine qemu"));
        assertEquals("vhd: cannot set initrd of 'tiny': an initrd needs a kernel to boot with it",
                vms.vm("set", "--initrd", "/boot/i", "tiny").assertFailure(ExitCodes.REFUSED));
        assertTrue(vms.vm("set", "--accel", "fast", "tiny").assertFailure(ExitCodes.USAGE)
                .contains("'fast' is not an accelerator"));
        vms.vm("set", "--engine", "programs", "tiny").assertSuccess();
        assertEquals("programs", vms.vm("show", "--output", "json", "tiny").assertSuccess().json().get("engine")
                .get("kind").asText());
    }

    @Test
    void setRefusals() {
        vms.vm("create", "web").assertSuccess();
        vms.vm("create", "db").assertSuccess();
        assertEquals("vhd: nothing to set; give --memory, --processors, --integration, --boot, --rename, --engine,"
                + " --kernel, --initrd, --append or --accel; try 'vhd vm set --help'", vms.vm("set", "web").assertFailure(ExitCodes.USAGE));
        assertEquals("vhd: cannot set name of 'web': a VM named 'DB' already exists",
                vms.vm("set", "--rename", "DB", "web").assertFailure(ExitCodes.REFUSED));
        assertEquals("vhd: cannot set processors of 'web': a VM needs at least 1 virtual processor, not 0",
                vms.vm("set", "--processors", "0", "web").assertFailure(ExitCodes.REFUSED));
        assertTrue(vms.vm("set", "--integration", "maybe", "web").assertFailure(ExitCodes.USAGE)
                .contains("'maybe' is neither on nor off"));
        assertEquals("vhd: cannot set bootOrder of 'web': nothing is attached at ide:0:0",
                vms.vm("set", "--boot", "ide:0:0", "web").assertFailure(ExitCodes.REFUSED));
        assertEquals("vhd: cannot set bootOrder of 'web': scsi:0:0 is on SCSI; the BIOS of a generation-1 VM boots"
                + " only from IDE, so put the boot disk on IDE",
                vms.vm("set", "--boot", "scsi:0:0", "web").assertFailure(ExitCodes.REFUSED));
        assertEquals("vhd: --boot: 'disk1' is not a slot; write ide:CONTROLLER:DEVICE or scsi:CONTROLLER:LUN",
                vms.vm("set", "--boot", "disk1", "web").assertFailure(ExitCodes.REFUSED));
    }

    @Test
    void bootOrder() throws Exception {
        Path disk = VmFolder.dynamicVhd(tmp, "boot.vhd", 8 << 20);
        vms.vm("create", "web").assertSuccess();
        vms.vm("attach", "web", "--controller", "ide:0:0", disk.toString()).assertSuccess();
        vms.vm("attach", "web", "--controller", "ide:1:0", "--dvd").assertSuccess();
        assertEquals("Set boot order ide:1:0, ide:0:0 of 'web'\n",
                vms.vm("set", "--boot", "ide:1:0,ide:0:0", "web").assertSuccess().out());
        assertEquals("[\"ide:1:0\",\"ide:0:0\"]",
                vms.vm("show", "-o", "json", "web").assertSuccess().json().get("bootOrder").toString());
        assertEquals("Detached an empty DVD drive from 'web' at ide:1:0; it is no longer in the boot order\n",
                vms.vm("detach", "web", "--controller", "ide:1:0").assertSuccess().out());
        assertEquals("Set boot order none of 'web'\n", vms.vm("set", "--boot", "none", "web").assertSuccess().out());
    }

    @Test
    void aDamagedVmFolderIsReportedAndTheOthersListed() throws Exception {
        vms.vm("create", "web").assertSuccess();
        vms.vm("create", "db").assertSuccess();
        String id = vms.vm("show", "-o", "json", "db").assertSuccess().json().get("id").asText();
        Files.writeString(vms.root().resolve(id).resolve("config.json"), "{ not json");
        CliRun list = vms.vm("list");
        assertEquals(0, list.exitCode(), list.err());
        assertTrue(list.out().contains("web ") && !list.out().contains("db "), list.out());
        assertTrue(list.err().startsWith("vhd: warning: " + vms.root().resolve(id).resolve("config.json")), list.err());
        JsonNode json = vms.vm("list", "-o", "json").assertSuccess().json();
        assertEquals(1, json.get("problems").size());
        // Other commands still work, and warn once.
        CliRun show = vms.vm("show", "web");
        assertEquals(0, show.exitCode());
        assertTrue(show.err().startsWith("vhd: warning: "), show.err());
    }

    @ParameterizedTest
    @ValueSource(strings = {"create", "list", "show", "set", "delete", "attach", "detach", "start", "run", "stop",
            "shutdown", "pause", "resume", "save"})
    void everyCommandHasHelpWithExamples(String command) {
        String out = vms.vm(command, "--help").assertSuccess().out();
        assertTrue(out.startsWith("Usage: vhd vm " + command), out);
        assertTrue(out.contains("--vm-root=DIR"), out);
        assertTrue(out.contains("\nExamples:\n  vhd vm " + command), out);
    }

    @Test
    void vmHelpDescribesTheProcessModel() {
        String out = CliRun.vhd(java.nio.file.FileSystems.getDefault(), "vm", "--help").assertSuccess().out();
        assertTrue(out.contains("A VM runs only while a vhd process hosts it."), out);
        assertTrue(out.contains("Ctrl-C"), out);
        assertTrue(out.contains("Exit codes:"), out);
        assertEquals("vhd: no command given; try 'vhd vm --help'",
                CliRun.vhd(java.nio.file.FileSystems.getDefault(), "vm").assertFailure(ExitCodes.USAGE));
        assertTrue(CliRun.vhd(java.nio.file.FileSystems.getDefault(), "--help").assertSuccess().out()
                .contains("  vm "));
    }

    private static List<String> fields(JsonNode node) {
        return StreamSupport.stream(((Iterable<String>) node::fieldNames).spliterator(), false).toList();
    }
}
