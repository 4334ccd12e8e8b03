package org.vhdkit.stack.vhostuser;

import static org.junit.jupiter.api.Assertions.*;
import static org.vhdkit.stack.protocol.vhostuser.VhostUser.*;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.scsi.ScsiDisk;
import org.vhdkit.vhd.disk.MemoryDisk;
import org.vhdkit.vhd.testing.ExternalTools;

/**
 * qemu's own vhost-user-scsi-pci device connects to the backend and completes its initialisation
 * handshake (features, protocol features, queue count, owner, the rings' call eventfds), and qemu
 * accepts what the backend offers: it realizes the device and quits cleanly. With {@code -S} no
 * guest runs, so the rings are never started; a real guest's test drives them.
 */
class VhostUserScsiQemuTest {
    @TempDir
    Path dir;

    @Test
    void qemuConnectsAndAcceptsTheBackend() throws Exception {
        ExternalTools.assumeAvailable("qemu-system-x86_64");
        List<String> log = Collections.synchronizedList(new ArrayList<>());
        Path socket = dir.resolve("vus.sock");
        try (VhostUserScsi backend = VhostUserScsi.start(socket, List.of(ScsiDisk.of(MemoryDisk.create("d", 1 << 20),
                ScsiDisk.Settings.of(UUID.randomUUID()))), log::add)) {
            assertTrue(backend.target().isAttached(0), "the unit is at LUN 0");
            Process qemu = new ProcessBuilder(ExternalTools.find("qemu-system-x86_64").orElseThrow().toString(),
                    "-nodefaults", "-display", "none", "-S", "-monitor", "stdio",
                    "-machine", "q35,accel=tcg,memory-backend=mem", "-m", "64M",
                    "-object", "memory-backend-memfd,id=mem,size=64M,share=on",
                    "-chardev", "socket,id=vus,path=" + socket,
                    "-device", "vhost-user-scsi-pci,chardev=vus")
                    .redirectErrorStream(true).redirectOutput(dir.resolve("qemu.log").toFile()).start();
            try {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
                Set<Integer> wanted = Set.of(GET_FEATURES, GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES,
                        GET_QUEUE_NUM, SET_OWNER);
                while (!backend.requestsSeen.containsAll(wanted) && qemu.isAlive() && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                assertTrue(backend.requestsSeen.containsAll(wanted), "qemu sent the handshake; it sent "
                        + backend.requestsSeen + "; qemu: " + Files.readString(dir.resolve("qemu.log"))
                        + "; backend: " + log);
                OutputStream monitor = qemu.getOutputStream();
                monitor.write("quit\n".getBytes(StandardCharsets.US_ASCII));
                monitor.flush();
                assertTrue(qemu.waitFor(120, TimeUnit.SECONDS), "qemu quits");
                assertEquals(0, qemu.exitValue(), "qemu realized the device and quit cleanly: "
                        + Files.readString(dir.resolve("qemu.log")));
            } finally {
                qemu.destroyForcibly();
            }
        }
    }
}
