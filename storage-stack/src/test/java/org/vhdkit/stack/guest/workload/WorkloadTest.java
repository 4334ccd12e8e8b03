package org.vhdkit.stack.guest.workload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.storage.SyntheticStorage;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.HyperVLimits;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.HypervisorOptions;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmConfiguration;
import org.vhdkit.stack.vm.VmState;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;

class WorkloadTest {
    @TempDir
    Path dir;
    private int runs;

    private List<Workload.Report> run(Path vhd, Workload.Plan plan, long memory) throws Exception {
        try (Hypervisor h = Hypervisor.open(dir.resolve("vms"),
                HypervisorOptions.defaults().withDeviceProvider(SyntheticStorage.create()))) {
            VirtualMachine vm = h.create(VmConfiguration.create("vm" + runs++, memory, 1)
                    .withAttachment(Attachment.disk(Slot.scsi(0, 0), vhd)));
            Workload w = new Workload(plan);
            vm.start(w);
            assertTrue(w.awaitFinished(Duration.ofSeconds(60)), "the workload did not finish");
            List<Workload.Report> reports = w.reports().stream().map(r -> r.withIntercepts(vm.intercepts())).toList();
            if (plan.powerOff()) {
                assertTrue(vm.awaitState(VmState.OFF, Duration.ofSeconds(10)), "the guest powered off");
            } else {
                vm.turnOff();
            }
            return reports;
        }
    }

    private Path vhd(long size, boolean allocate) throws Exception {
        Path p = dir.resolve("disk-" + size + ".vhd");
        try (VhdDisk d = Vhd.create(p, CreateOptions.dynamic(size))) {
            if (allocate) {
                byte[] chunk = new byte[1 << 20];
                for (long at = 0; at < size; at += chunk.length) {
                    chunk[0] = 1;
                    d.write(at, chunk);
                }
            }
        }
        return p;
    }

    @Test
    void allPhasesRunAndReportTheirNumbers() throws Exception {
        Workload.Plan plan = Workload.Plan.writeAndVerify(3).withRequests(16 * 1024, 4)
                .withMix(70, 500, Duration.ZERO).withPowerOff(true);
        List<Workload.Report> reports = run(vhd(4L << 20, false), plan, HyperVLimits.MIN_MEMORY_BYTES);
        assertEquals(List.of("write", "verify", "mix", "flush"), reports.stream().map(Workload.Report::phase).toList());
        assertTrue(reports.stream().allMatch(Workload.Report::clean), reports.toString());
        Workload.Report mix = reports.get(2);
        assertEquals(500, mix.requests());
        assertEquals(500L * 16 * 1024, mix.bytes());
        assertTrue(mix.iops() > 0 && mix.megabytesPerSecond() > 0);
        assertEquals(0.0, mix.interceptsPerRequest(), "the synthetic path makes no intercepts");
        assertTrue(mix.signalsPerRequest() <= 1.0, mix.toString());
        assertTrue(mix.toString().contains("IOPS"), mix.toString());
    }

    @Test
    @Timeout(60)
    void aTimedMixStopsOnTime() throws Exception {
        Workload.Plan plan = Workload.Plan.mix(4096, 8, 50, 0, 9).withMix(50, 0, Duration.ofMillis(200));
        List<Workload.Report> reports = run(vhd(2L << 20, false), plan, HyperVLimits.MIN_MEMORY_BYTES);
        Workload.Report mix = reports.getFirst();
        assertEquals("mix", mix.phase());
        // A mix of zero requests runs until its time is up: that it ended at all (the test's timeout
        // would fail it otherwise) and did work is the behaviour; how fast is for the benchmarks.
        assertTrue(mix.requests() > 0, mix.toString());
        assertTrue(mix.clean(), mix.toString());
        assertEquals(mix.requests() * 4096L, mix.bytes(), mix.toString());
    }

    @Test
    void aMissingDiskIsReportedNotThrown() throws Exception {
        List<Workload.Report> reports = run(vhd(1L << 20, false), Workload.Plan.writeAndVerify(1).withDisk(0, 7),
                HyperVLimits.MIN_MEMORY_BYTES);
        assertTrue(reports.getFirst().phase().contains("no disk at LUN 7"), reports.toString());
    }

    @Test
    void plansAreChecked() {
        assertThrows(IllegalArgumentException.class, () -> Workload.Plan.mix(1000, 1, 50, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> Workload.Plan.mix(4096, 0, 50, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> Workload.Plan.mix(4096, 1, 101, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> Workload.Plan.mix(512 * 1024, 1, 50, 1, 0));
        assertEquals(Workload.BUFFERS + 32 * 4096, Workload.Plan.mix(4096, 32, 100, 1, 0).memoryNeeded());
    }

    /**
     * The numbers of the report: 4 KiB random reads at queue depth 1 and 32 on a fully allocated,
     * page-cached 1 GiB dynamic VHD, through a guest. Run with -Dvhdkit.bench=true.
     */
    @Test
    @EnabledIfSystemProperty(named = "vhdkit.bench", matches = "true")
    void benchmark() throws Exception {
        Path vhd = vhd(1L << 30, true);
        for (int depth : new int[] {1, 32, 1, 32}) {
            Workload.Plan plan = Workload.Plan.mix(4096, depth, 100, 0, depth).withMix(100, 0, Duration.ofSeconds(3));
            Workload.Report r = run(vhd, plan, 64L << 20).getFirst();
            System.out.println("BENCH QD" + depth + ": " + r);
        }
    }
}
