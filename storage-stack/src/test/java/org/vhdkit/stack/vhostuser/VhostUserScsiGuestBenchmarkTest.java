package org.vhdkit.stack.vhostuser;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.scsi.ScsiDisk;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.DiskImage;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.testing.ExternalTools;
import org.vhdkit.vhd.testing.guest.LinuxGuest;

/**
 * A measurement, not a test (run with {@code -Dvhdkit.long=true}): busybox dd inside one Linux guest
 * against a VHD served by this backend (vhost-user-scsi-pci, /dev/sda) and a copy of the same VHD
 * served by qemu-storage-daemon's vhost-user-blk export on qemu's vpc driver (/dev/vda). Prints
 * the guest's elapsed times and the backend JVM's CPU time; BENCHMARKS.md records them.
 */
@Timeout(900)
class VhostUserScsiGuestBenchmarkTest {
    private static final long SIZE = 256L << 20;

    @TempDir
    Path tmp;

    @Test
    void ddInsideTheGuestAgainstOurBackendAndQemuStorageDaemon() throws Exception {
        Assumptions.assumeTrue(Boolean.getBoolean("vhdkit.long"), "a measurement: -Dvhdkit.long=true");
        LinuxGuest.assumeAvailable();
        ExternalTools.assumeAvailable("qemu-storage-daemon");
        Path ours = tmp.resolve("ours.vhd");
        Path theirs = tmp.resolve("theirs.vhd");
        // Fully allocated so that neither side measures block allocation: the guest fills both first.
        Vhd.create(ours, CreateOptions.dynamic(SIZE)).close();
        Vhd.create(theirs, CreateOptions.dynamic(SIZE)).close();
        Path qsdSocket = tmp.resolve("qsd.sock");
        Process qsd = new ProcessBuilder(ExternalTools.find("qemu-storage-daemon").orElseThrow().toString(),
                "--blockdev", "driver=file,node-name=file0,filename=" + theirs + ",cache.direct=off",
                "--blockdev", "driver=vpc,node-name=vpc0,file=file0",
                "--export", "type=vhost-user-blk,id=exp0,node-name=vpc0,writable=on,addr.type=unix,addr.path=" + qsdSocket)
                .redirectErrorStream(true).redirectOutput(tmp.resolve("qsd.log").toFile()).start();
        for (int i = 0; i < 200 && !Files.exists(qsdSocket); i++) {
            Thread.sleep(50);
        }
        assertTrue(Files.exists(qsdSocket), "qemu-storage-daemon listens");
        List<String> log = new ArrayList<>();
        VirtualDisk disk = DiskImage.open(ours, false);
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        try (VhostUserScsi backend = VhostUserScsi.start(tmp.resolve("vus.sock"),
                List.of(ScsiDisk.of(disk, ScsiDisk.Settings.of(UUID.randomUUID()))), log::add);
                LinuxGuest guest = LinuxGuest.boot(LinuxGuest.options("vhost-user-bench").withModules("virtio_blk")
                        .withVhostUser("vhost-user-scsi-pci", backend.socket())
                        .withVhostUser("vhost-user-blk-pci", qsdSocket))) {
            // busybox dd, not fio: fio and its libraries made a 93 MB initramfs that did not boot in
            // the 120 s boot timeout under TCG. dd is one request in flight (queue depth 1); its
            // 4 KiB reads run at consecutive offsets, direct, so every one is a request to the device.
            String[][] jobs = {
                {"4k-read-qd1", "dd if=DEV of=/dev/null bs=4k count=16384 iflag=direct"},
                {"1m-read", "dd if=DEV of=/dev/null bs=1M count=256 iflag=direct"},
                {"1m-write", "dd if=/dev/zero of=DEV bs=1M count=256 oflag=direct"},
            };
            for (String dev : List.of("/dev/sda", "/dev/vda")) {
                guest.runChecked("dd if=/dev/zero of=" + dev + " bs=1M count=256 oflag=direct 2>/dev/null; sync",
                        Duration.ofSeconds(300));
                for (String[] job : jobs) {
                    long cpu0 = os.getProcessCpuTime();
                    long cmds0 = backend.commandsExecuted();
                    String out = guest.runChecked("read a b < /proc/uptime; " + job[1].replace("DEV", dev)
                            + " 2>/dev/null; read c d < /proc/uptime; echo $a $c", Duration.ofSeconds(300));
                    long cpu = os.getProcessCpuTime() - cpu0;
                    long cmds = backend.commandsExecuted() - cmds0;
                    String[] t = out.strip().split(" ");
                    double seconds = Double.parseDouble(t[1]) - Double.parseDouble(t[0]);
                    System.out.printf("BENCH %s %s %.2f s guest time; backend JVM CPU %.2f s for %d commands%n",
                            dev, job[0], seconds, cpu / 1e9, cmds);
                }
            }
            guest.powerOff();
        } finally {
            disk.close();
            qsd.destroy();
        }
    }
}
