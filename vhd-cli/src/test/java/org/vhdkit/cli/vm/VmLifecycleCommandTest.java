package org.vhdkit.cli.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
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
 * The lifecycle commands: refused by state without a host, and carried out by the hosting
 * {@code vhd vm start} (on a thread of its own here, as in another terminal) when sent to it
 * through the folder's socket.
 */
@Timeout(60)
class VmLifecycleCommandTest {
    @TempDir
    Path tmp;

    private VmFolder vms;

    @BeforeEach
    void folder() {
        vms = new VmFolder(tmp.resolve("vms"));
        vms.vm("create", "--memory", "16M", "web").assertSuccess();
    }

    /** Whatever a failed test left running is turned off, so that its host ends. */
    @AfterEach
    void turnOffWhatRuns() {
        if (!Files.exists(vms.root().resolve(VmHost.SOCKET))) {
            return;
        }
        for (JsonNode vm : vms.vm("list", "-o", "json").json().get("vms")) {
            if (vm.get("state").asText().equals("Running") || vm.get("state").asText().equals("Paused")) {
                vms.vm("stop", vm.get("name").asText());
            }
        }
    }

    @Test
    void withoutAHostEveryVmIsOffAndStateChangesAreRefusedWithItsState() {
        assertEquals("vhd: cannot turn off 'web': it is Off", vms.vm("stop", "web").assertFailure(ExitCodes.REFUSED));
        assertEquals("vhd: cannot shut down 'web': it is Off",
                vms.vm("shutdown", "web").assertFailure(ExitCodes.REFUSED));
        assertEquals("vhd: cannot pause 'web': it is Off", vms.vm("pause", "web").assertFailure(ExitCodes.REFUSED));
        assertEquals("vhd: cannot resume 'web': it is Off", vms.vm("resume", "web").assertFailure(ExitCodes.REFUSED));
        assertEquals("vhd: cannot save 'web': it is Off", vms.vm("save", "web").assertFailure(ExitCodes.REFUSED));
        assertEquals("vhd: cannot delete the saved state of 'web': it is Off",
                vms.vm("stop", "--discard-saved-state", "web").assertFailure(ExitCodes.REFUSED));
        assertTrue(vms.vm("shutdown", "--timeout", "soon", "web").assertFailure(ExitCodes.USAGE)
                .contains("'soon' is not a duration"));
    }

    @Test
    void pauseResumeSaveAndStartAgainFromAnotherTerminal() throws Exception {
        CompletableFuture<CliRun> host = vms.host("start", "web");
        JsonNode shown = vms.vm("show", "-o", "json", "web").assertSuccess().json();
        assertEquals("Running", shown.get("state").asText());
        long pid = ProcessHandle.current().pid();
        assertEquals(pid, shown.get("hostPid").asLong());

        assertEquals("Paused 'web'\n", vms.vm("pause", "web").assertSuccess().out());
        assertEquals("vhd: cannot pause 'web': it is Paused", vms.vm("pause", "web").assertFailure(ExitCodes.REFUSED));
        assertEquals("{\"name\":\"web\",\"state\":\"Running\"}",
                vms.vm("resume", "-o", "json", "web").assertSuccess().json().toString());
        assertEquals("vhd: cannot resume 'web': it is Running",
                vms.vm("resume", "web").assertFailure(ExitCodes.REFUSED));
        assertEquals("vhd: cannot start 'web': it is Running", vms.vm("start", "web").assertFailure(ExitCodes.REFUSED));
        assertEquals("vhd: cannot reconfigure 'web': it is Running",
                vms.vm("set", "--memory", "32M", "web").assertFailure(ExitCodes.REFUSED));
        assertEquals("vhd: cannot delete 'web': it is Running", vms.vm("delete", "web").assertFailure(ExitCodes.REFUSED));
        assertEquals("vhd: cannot delete the saved state of 'web': it is Running",
                vms.vm("stop", "--discard-saved-state", "web").assertFailure(ExitCodes.REFUSED));

        CliRun saved = vms.vm("save", "web").assertSuccess();
        assertTrue(saved.out().startsWith("Saved 'web' to " + vms.root()), saved.out());
        CliRun ended = VmFolder.ended(host).assertSuccess();
        assertEquals("Started 'web'; this process (" + pid + ") hosts it until it stops. Ctrl-C turns it off.\n"
                + "'web' is Saved\n", ended.out());
        assertFalse(Files.exists(vms.root().resolve(VmHost.SOCKET)), "the host removes its socket");

        // Saved, also for a new hypervisor over the folder.
        assertTrue(vms.vm("list").assertSuccess().out().contains("web   Saved"));
        Path disk = VmFolder.dynamicVhd(tmp, "d.vhd", 8 << 20);
        assertEquals("vhd: cannot attach the disk " + disk + " to 'web': it is Saved, and its devices are part of its"
                + " saved state; start it, or discard the saved state with 'vhd vm stop --discard-saved-state web',"
                + " first", vms.vm("attach", "web", "--controller", "scsi:0:0", disk.toString())
                .assertFailure(ExitCodes.REFUSED));
        assertEquals("vhd: cannot turn off 'web': it is Saved", vms.vm("stop", "web").assertFailure(ExitCodes.REFUSED));

        host = vms.host("start", "web");
        assertEquals("Shut down 'web': its guest powered off\n", vms.vm("shutdown", "web").assertSuccess().out());
        ended = VmFolder.ended(host).assertSuccess();
        assertEquals("Resumed 'web' from its saved state; this process (" + pid + ") hosts it until it stops. Ctrl-C"
                + " turns it off.\n'web' is Off: the guest powered off\n", ended.out());
        assertTrue(vms.vm("list").assertSuccess().out().contains("web   Off"));
    }

    @Test
    void discardingASavedState() throws Exception {
        CompletableFuture<CliRun> host = vms.host("start", "web");
        vms.vm("save", "web").assertSuccess();
        VmFolder.ended(host).assertSuccess();
        assertEquals("Discarded the saved state of 'web'; it is Off\n",
                vms.vm("stop", "--discard-saved-state", "web").assertSuccess().out());
        assertEquals("Off", vms.vm("show", "-o", "json", "web").assertSuccess().json().get("state").asText());
    }

    @Test
    void aSecondVmStartsInTheHostingProcessAndTheHostEndsWhenBothStopped() throws Exception {
        vms.vm("create", "--memory", "16M", "db").assertSuccess();
        CompletableFuture<CliRun> host = vms.host("start", "--output", "json", "web");
        long pid = ProcessHandle.current().pid();
        assertEquals("Started 'db' in process " + pid + ", which hosts the VMs of " + vms.root() + "\n",
                vms.vm("start", "db").assertSuccess().out());
        assertEquals("Turned off 'web'\n", vms.vm("stop", "web").assertSuccess().out());
        assertFalse(host.isDone());
        assertEquals("{\"name\":\"db\",\"state\":\"Off\"}",
                vms.vm("stop", "-o", "json", "db").assertSuccess().json().toString());
        JsonNode report = VmFolder.ended(host).assertSuccess().json();
        assertEquals("{\"hostPid\":" + pid + ",\"vms\":[{\"name\":\"web\",\"state\":\"Off\",\"stopReason\":\"turned off\"},"
                + "{\"name\":\"db\",\"state\":\"Off\",\"stopReason\":\"turned off\"}]}", report.toString());
    }

    @Test
    void hotAddAndRemoveOnSciOnlyWhileRunning() throws Exception {
        Path a = VmFolder.dynamicVhd(tmp, "a.vhd", 8 << 20);
        Path b = VmFolder.dynamicVhd(tmp, "b.vhd", 8 << 20);
        vms.vm("attach", "web", "--controller", "scsi:0:0", a.toString()).assertSuccess();
        CompletableFuture<CliRun> host = vms.host("start", "web");
        assertEquals("Hot-added the disk " + b + " to 'web' at scsi:1:2; the guest is told\n",
                vms.vm("attach", "web", "--controller", "scsi:1", "--lun", "2", b.toString()).assertSuccess().out());
        assertEquals("vhd: cannot attach the disk " + b + " to 'web': " + b + " is already attached at scsi:1:2; a file"
                + " can be attached to a VM once", vms.vm("attach", "web", "--controller", "scsi:0:1", b.toString())
                .assertFailure(ExitCodes.REFUSED));
        assertEquals("vhd: cannot attach an empty DVD drive to 'web': it is Running, and IDE devices are added and"
                + " removed only while a VM is Off (hot add and remove are for SCSI); stop it first",
                vms.vm("attach", "web", "--controller", "ide:1:0", "--dvd").assertFailure(ExitCodes.REFUSED));
        JsonNode shown = vms.vm("show", "-o", "json", "web").assertSuccess().json();
        assertEquals(2, shown.get("attachments").size());
        assertEquals("{\"name\":\"web\",\"slot\":\"scsi:0:0\",\"kind\":\"disk\",\"path\":\"" + a
                + "\",\"readOnly\":false,\"hot\":true}",
                vms.vm("detach", "-o", "json", "web", "--controller", "scsi:0:0").assertSuccess().json().toString());
        vms.vm("pause", "web").assertSuccess();
        assertEquals("Hot-added the disk " + a + " to 'web' at scsi:3:0; the guest is told\n",
                vms.vm("attach", "web", "--controller", "scsi:3:0", a.toString()).assertSuccess().out());
        vms.vm("stop", "web").assertSuccess();
        VmFolder.ended(host).assertSuccess();
        // The configuration kept what the running VM had.
        String show = vms.vm("show", "web").assertSuccess().out();
        assertTrue(show.endsWith("  scsi:1:2  disk         " + b + "\n  scsi:3:0  disk         " + a + "\n"), show);
        for (Path disk : new Path[] {a, b}) {
            assertEquals(0, CliRun.vhd(FileSystems.getDefault(), "check", "-q", disk.toString()).exitCode());
        }
    }

    @Test
    void withoutIntegrationComponentsThereIsNoShutdownAndNoHotAdd() throws Exception {
        vms.vm("create", "--memory", "16M", "--no-integration", "legacy").assertSuccess();
        Path a = VmFolder.dynamicVhd(tmp, "a.vhd", 8 << 20);
        CompletableFuture<CliRun> host = vms.host("start", "legacy");
        assertEquals("vhd: cannot shut down 'legacy': its integration components are off, so it has no shutdown"
                + " service; turn it off instead", vms.vm("shutdown", "legacy").assertFailure(ExitCodes.REFUSED));
        assertEquals("vhd: cannot attach the disk " + a + " to 'legacy': it is Running with integration components"
                + " off, so its guest has no synthetic SCSI controller to take a disk while it runs; stop it first",
                vms.vm("attach", "legacy", "--controller", "scsi:0:0", a.toString()).assertFailure(ExitCodes.REFUSED));
        vms.vm("stop", "legacy").assertSuccess();
        assertEquals("'legacy' is Off: turned off\n", VmFolder.ended(host).assertSuccess().out().lines().skip(1)
                .reduce("", (x, y) -> x + y + "\n"));
    }

    @Test
    void ideDisksAreEmulatedAndTheIdleGuestShutsDownOverVmbus() throws Exception {
        Path a = VmFolder.dynamicVhd(tmp, "a.vhd", 8 << 20);
        vms.vm("attach", "web", "--controller", "ide:0:0", a.toString()).assertSuccess();
        CompletableFuture<CliRun> host = vms.host("start", "web");
        // The guest opens the shutdown channel soon after it starts; before that the default service answers.
        assertEquals("Shut down 'web': its guest powered off\n", vms.vm("shutdown", "web").assertSuccess().out());
        CliRun ended = VmFolder.ended(host);
        assertEquals(0, ended.exitCode());
        assertEquals("", ended.err(), "no warning: the IDE disk is opened");
    }

    @Test
    void aHostThatEndsWhileCarryingOutACommandIsNotAskedTwice() throws Exception {
        Files.createDirectories(vms.root());
        Path socket = vms.root().resolve(VmHost.SOCKET);
        try (ServerSocketChannel host = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            host.bind(UnixDomainSocketAddress.of(socket));
            CompletableFuture<Integer> connections = CompletableFuture.supplyAsync(() -> {
                int n = 0;
                try {
                    while (true) {
                        try (SocketChannel c = host.accept()) {
                            n++;
                            c.read(ByteBuffer.allocate(1 << 16));
                            c.write(ByteBuffer.wrap(new byte[] {VmHost.ACCEPTED})); // taken on, then gone
                        }
                    }
                } catch (IOException e) {
                    return n; // closed by the test
                }
            });
            assertEquals("vhd: " + vms.root() + ": the vhd process hosting the VMs ended while it carried out the"
                    + " command; whether it was done is not known ('vhd vm list' shows the VMs)",
                    vms.vm("save", "web").assertFailure(ExitCodes.IO));
            host.close();
            assertEquals(1, connections.get());
        }
    }

    @Test
    void theHostSurvivesGarbageAndAStaleSocketIsIgnored() throws Exception {
        // A socket file nobody listens on, as a host that was killed leaves it.
        Files.createDirectories(vms.root());
        Path socket = vms.root().resolve(VmHost.SOCKET);
        try (ServerSocketChannel dead = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            dead.bind(UnixDomainSocketAddress.of(socket));
        }
        assertTrue(Files.exists(socket));
        assertTrue(vms.vm("list").assertSuccess().out().contains("web   Off"));

        CompletableFuture<CliRun> host = vms.host("start", "web");
        for (String junk : new String[] {"", "{", "[1,2,3]", "{\"args\":null,\"cwd\":null}", "x".repeat(100_000)}) {
            try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
                c.write(ByteBuffer.wrap(junk.getBytes(StandardCharsets.UTF_8)));
                c.shutdownOutput();
                c.read(ByteBuffer.allocate(1 << 16));
            } catch (IOException e) {
                // the host may drop it
            }
        }
        assertEquals("Running", vms.vm("show", "-o", "json", "web").assertSuccess().json().get("state").asText());
        // A command line is understood (or not) before anything is sent.
        assertEquals("vhd: unknown option: '--bogus'; try 'vhd vm pause --help'",
                vms.vm("pause", "--bogus", "web").assertFailure(ExitCodes.USAGE));
        vms.vm("stop", "web").assertSuccess();
        VmFolder.ended(host).assertSuccess();
    }
}
