package org.vhdkit.stack.vhostuser;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
 * A measurement, not a test (run with {@code -Dvhdkit.long=true}; {@code -Dvhdkit.bench.rounds=N},
 * default 2): one Linux guest under TCG with four disks, each a dynamic VHD made by us and filled
 * by the guest first (so that no row measures allocation), except the last:
 * <ul>
 * <li>ours: this backend, vhost-user-scsi-pci ({@code /dev/sda});
 * <li>qsd: qemu-storage-daemon's vhost-user-blk export on qemu's vpc driver;
 * <li>qemu: qemu's own virtio-blk-pci on the vpc driver, in the VM's process;
 * <li>null: virtio-blk-pci on qemu's {@code null-co} driver (reads return zeroes, no file): the
 *     guest's own ceiling, what its emulated CPU can issue at all.
 * </ul>
 * The guest runs {@link LinuxGuest#QDBENCH} (O_DIRECT, native AIO): 4 KiB random reads at queue
 * depth 1 and 32, 1 MiB sequential reads and writes at depth 1, each disk in turn, rotating the
 * order per round. Printed ({@code BENCH} lines): the guest's figures, and the backend's CPU time
 * over the run (our backend's threads, and our JVM process; qemu-storage-daemon's process from
 * {@code /proc/PID/stat}) per guest request. BENCHMARKS.md records them.
 */
@Timeout(1800)
class VhostUserScsiGuestBenchmarkTest {
    private static final long SIZE = 256L << 20;
    private static final long TICK_NANOS = 10_000_000L; // USER_HZ 100: /proc/PID/stat counts in 10 ms ticks

    @TempDir
    Path tmp;

    @Test
    void qdbenchInsideTheGuestAgainstOurBackendQemuStorageDaemonAndQemu() throws Exception {
        Assumptions.assumeTrue(Boolean.getBoolean("vhdkit.long"), "a measurement: -Dvhdkit.long=true");
        LinuxGuest.assumeAvailable();
        ExternalTools.assumeAvailable("qemu-storage-daemon", "gcc");
        int rounds = Integer.getInteger("vhdkit.bench.rounds", 2);
        Path ours = tmp.resolve("ours.vhd");
        Path theirs = tmp.resolve("theirs.vhd");
        Path inQemu = tmp.resolve("qemu.vhd");
        for (Path p : List.of(ours, theirs, inQemu)) {
            Vhd.create(p, CreateOptions.dynamic(SIZE)).close();
        }
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
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        try (VhostUserScsi backend = VhostUserScsi.start(tmp.resolve("vus.sock"),
                List.of(ScsiDisk.of(disk, ScsiDisk.Settings.of(UUID.randomUUID()))), log::add);
                LinuxGuest guest = LinuxGuest.boot(LinuxGuest.options("vhost-user-bench").withModules("virtio_blk")
                        .withPrograms(LinuxGuest.QDBENCH)
                        .withVhostUser("vhost-user-scsi-pci", backend.socket())
                        .withVhostUser("vhost-user-blk-pci", qsdSocket)
                        .withQemuArgs(
                                "-drive", "file=" + inQemu + ",format=vpc,if=none,id=vpc1,cache=writeback,aio=threads",
                                "-device", "virtio-blk-pci,drive=vpc1,serial=qemu-vpc",
                                "-drive", "driver=null-co,size=" + SIZE + ",read-zeroes=on,if=none,id=null1",
                                "-device", "virtio-blk-pci,drive=null1,serial=qemu-null"))) {
            Map<String, String> devices = new LinkedHashMap<>();
            devices.put("ours", "/dev/sda");
            for (String line : guest.runChecked("for d in /sys/block/vd*; do echo ${d##*/} $(cat $d/serial 2>/dev/null); done")
                    .split("\n")) {
                String[] f = line.strip().split(" ");
                String serial = f.length < 2 ? "" : f[1];
                String who = "qemu-vpc".equals(serial) ? "qemu" : "qemu-null".equals(serial) ? "null" : "qsd";
                devices.put(who, "/dev/" + f[0]);
            }
            System.out.println("BENCH devices " + devices);
            assertTrue(devices.keySet().containsAll(List.of("ours", "qsd", "qemu", "null")), devices.toString());
            for (String who : List.of("ours", "qsd", "qemu")) {
                guest.runChecked("dd if=/dev/zero of=" + devices.get(who) + " bs=1M count=" + (SIZE >> 20)
                        + " oflag=direct 2>/dev/null; sync", Duration.ofSeconds(600));
            }
            String[][] jobs = {
                {"4k-randread-qd1", "-d 1 -n 10000"},
                {"4k-randread-qd32", "-d 32 -n 20000"},
                {"1m-read-qd1", "-d 1 -b 1048576 -q -n 256"},
                {"1m-write-qd1", "-d 1 -b 1048576 -q -n 256 -w"},
            };
            List<String> order = new ArrayList<>(devices.keySet());
            for (int round = 1; round <= rounds; round++) {
                for (String[] job : jobs) {
                    for (String who : order) {
                        if (who.equals("null") && job[0].contains("write")) {
                            continue;
                        }
                        Map<Long, Long> threads0 = backendThreadCpu(threads);
                        long jvm0 = os.getProcessCpuTime();
                        long qsd0 = processCpuNanos(qsd.pid());
                        long cmds0 = backend.commandsExecuted();
                        String out = guest.runChecked("qdbench " + job[1] + " " + devices.get(who),
                                Duration.ofSeconds(600)).strip();
                        long jvm = os.getProcessCpuTime() - jvm0;
                        long backendThreads = cpuSince(threads0, backendThreadCpu(threads));
                        long qsdCpu = processCpuNanos(qsd.pid()) - qsd0;
                        long cmds = backend.commandsExecuted() - cmds0;
                        long requests = Long.parseLong(field(out, "requests"));
                        String cost = switch (who) {
                            case "ours" -> String.format("backend threads %.3f s (%.1f us/request), JVM %.3f s; %d SCSI commands",
                                    backendThreads / 1e9, backendThreads / 1e3 / requests, jvm / 1e9, cmds);
                            case "qsd" -> String.format("qemu-storage-daemon %.2f s (%.1f us/request)",
                                    qsdCpu / 1e9, qsdCpu / 1e3 / requests);
                            default -> "backend in the VM's process";
                        };
                        System.out.printf("BENCH round %d %-17s %-5s %-9s %s | %s%n", round, job[0], who,
                                devices.get(who), out, cost);
                    }
                }
                order.addLast(order.removeFirst());
            }
            guest.powerOff();
        } finally {
            disk.close();
            qsd.destroy();
        }
    }

    private static String field(String line, String name) {
        for (String f : line.split(" ")) {
            if (f.startsWith(name + "=")) {
                return f.substring(name.length() + 1);
            }
        }
        throw new AssertionError("no " + name + "= in qdbench's output: " + line);
    }

    /** CPU nanoseconds of each live backend thread (the vhost-user-scsi queue and socket threads), by id. */
    private static Map<Long, Long> backendThreadCpu(ThreadMXBean threads) {
        Map<Long, Long> cpu = new HashMap<>();
        for (var info : threads.getThreadInfo(threads.getAllThreadIds())) {
            if (info != null && info.getThreadName().startsWith("vhost-user-scsi")) {
                cpu.put(info.getThreadId(), threads.getThreadCpuTime(info.getThreadId()));
            }
        }
        return cpu;
    }

    private static long cpuSince(Map<Long, Long> before, Map<Long, Long> after) {
        long sum = 0;
        for (var e : after.entrySet()) {
            sum += e.getValue() - before.getOrDefault(e.getKey(), 0L);
        }
        return sum;
    }

    /** A process's user + system CPU time from {@code /proc/PID/stat}, in nanoseconds (10 ms resolution). */
    private static long processCpuNanos(long pid) throws java.io.IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * TICK_NANOS; // fields 14 and 15, from field 3
    }
}
