package org.vhdkit.cli.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.cli.CliRun;
import org.vhdkit.cli.conventions.ExitCodes;

/**
 * {@code vhd vm dvd insert|eject}: on a VM that is Off the configuration changes; on a running VM
 * (hosted on a thread here, as in another terminal) the running drive changes and the configuration
 * keeps its medium.
 */
@Timeout(60)
class VmDvdCommandTest {
    @TempDir
    Path tmp;

    private VmFolder vms;
    private Path tools;
    private Path other;

    @BeforeEach
    void vmWithADvdDrive() throws Exception {
        vms = new VmFolder(tmp.resolve("vms"));
        vms.vm("create", "--memory", "16M", "web").assertSuccess();
        tools = Files.write(tmp.resolve("tools.iso"), new byte[64 << 10]);
        other = Files.write(tmp.resolve("other.iso"), new byte[32 << 10]);
        vms.vm("attach", "web", "--controller", "ide:1:0", "--dvd").assertSuccess();
    }

    @AfterEach
    void turnOffWhatRuns() {
        if (Files.exists(vms.root().resolve(VmHost.SOCKET))) {
            vms.vm("stop", "web");
        }
    }

    private String configuredMedia() {
        for (JsonNode a : vms.vm("show", "-o", "json", "web").assertSuccess().json().get("attachments")) {
            if (a.get("slot").asText().equals("ide:1:0")) {
                return a.get("path").isNull() ? null : a.get("path").asText();
            }
        }
        throw new AssertionError("no ide:1:0");
    }

    @Test
    void offlineTheConfigurationChanges() {
        assertEquals("Inserted " + tools + " into ide:1:0 of 'web'\n",
                vms.vm("dvd", "insert", "web", "--controller", "ide:1:0", tools.toString()).assertSuccess().out());
        assertEquals(tools.toString(), configuredMedia());
        JsonNode json = vms.vm("dvd", "insert", "-o", "json", "web", "--controller", "ide:1:0", other.toString())
                .assertSuccess().json();
        assertEquals("{\"vm\":\"web\",\"slot\":\"ide:1:0\",\"media\":\"" + other + "\",\"previous\":\"" + tools
                + "\",\"running\":false}", json.toString());
        assertEquals("Ejected " + other + " from ide:1:0 of 'web'\n",
                vms.vm("dvd", "eject", "web", "--controller", "ide:1:0").assertSuccess().out());
        assertEquals(null, configuredMedia());
        assertEquals("Nothing to eject from ide:1:0 of 'web'\n",
                vms.vm("dvd", "eject", "web", "--controller", "ide:1:0").assertSuccess().out());
    }

    @Test
    void refusals() throws Exception {
        assertEquals("vhd: cannot insert " + tools + " into ide:0:0 of 'web': it has no DVD drive there; add one with"
                + " 'vhd vm attach web --controller ide:0:0 --dvd'",
                vms.vm("dvd", "insert", "web", "--controller", "ide:0:0", tools.toString())
                        .assertFailure(ExitCodes.REFUSED));
        assertEquals("vhd: scsi:0:0 is a SCSI slot; DVD drives are on IDE (--controller ide:C:D)",
                vms.vm("dvd", "eject", "web", "--controller", "scsi:0:0").assertFailure(ExitCodes.REFUSED));
        assertTrue(vms.vm("dvd", "insert", "web", "--controller", "ide:1:0", tmp.resolve("none.iso").toString())
                .assertFailure(ExitCodes.IO).contains("none.iso"));
        assertTrue(vms.vm("dvd").assertFailure(ExitCodes.USAGE).contains("no dvd command given"));
    }

    @Test
    void onARunningVmTheDriveChangesAndTheConfigurationFollows() throws Exception {
        vms.vm("dvd", "insert", "web", "--controller", "ide:1:0", tools.toString()).assertSuccess();
        CompletableFuture<CliRun> host = vms.host("start", "web");
        assertEquals("Inserted " + other + " into ide:1:0 of 'web', ejecting " + tools + "; the guest sees the medium"
                + " change\n",
                vms.vm("dvd", "insert", "web", "--controller", "ide:1:0", other.toString()).assertSuccess().out());
        assertEquals(other.toString(), configuredMedia(), "a restart or a save finds the medium the guest saw");
        JsonNode ejected = vms.vm("dvd", "eject", "-o", "json", "web", "--controller", "ide:1:0").assertSuccess()
                .json();
        assertEquals("{\"vm\":\"web\",\"slot\":\"ide:1:0\",\"media\":null,\"previous\":\"" + other
                + "\",\"running\":true}", ejected.toString());
        assertEquals(null, configuredMedia());
        assertEquals("Nothing to eject from ide:1:0 of 'web'\n",
                vms.vm("dvd", "eject", "web", "--controller", "ide:1:0").assertSuccess().out());
        vms.vm("dvd", "insert", "web", "--controller", "ide:1:0", tools.toString()).assertSuccess();
        vms.vm("stop", "web").assertSuccess();
        VmFolder.ended(host).assertSuccess();
        assertEquals(tools.toString(), configuredMedia(), "the last medium inserted, after the VM stopped");
    }
}
