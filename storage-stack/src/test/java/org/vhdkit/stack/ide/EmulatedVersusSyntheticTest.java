package org.vhdkit.stack.ide;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.stack.ide.IdeVms.BUFFER;
import static org.vhdkit.stack.ide.IdeVms.SCRATCH;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.guest.ide.IdeDriver.Mode;
import org.vhdkit.stack.guest.ide.IdeDriver;
import org.vhdkit.stack.guest.workload.Workload;
import org.vhdkit.stack.storage.SyntheticStorage;
import org.vhdkit.stack.testvm.TestVms;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmConfiguration;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;

/**
 * Why the synthetic path exists, in counts: the same 64 KiB reads of the same VHD through the emulated
 * IDE controller (PIO and DMA) and through synthetic SCSI. Asserts intercept and signal counts, never
 * times; prints both throughputs (a benchmark's numbers, for the report, not for the assertion).
 */
@Timeout(60)
class EmulatedVersusSyntheticTest {
    private static final int READ = 64 * 1024;
    private static final int PIO_READS = 2;
    private static final int READS = 16;
    private static final long SIZE = 4L << 20;

    @TempDir
    Path dir;

    private record Run(int reads, long intercepts, long nanos) {
        double perRead() {
            return (double) intercepts / reads;
        }

        double megabytesPerSecond() {
            return (double) reads * READ / (nanos / 1e9) / 1e6;
        }
    }

    @Test
    void a64KiBReadCostsHundredsOfInterceptsByPioAFewByDmaAndAtMostOneSignalSynthetically() throws Exception {
        Path vhd = dir.resolve("same.vhd");
        try (VhdDisk d = Vhd.create(vhd, CreateOptions.dynamic(SIZE))) {
            d.write(0, IdeVms.pattern(1, (int) SIZE));
        }
        Run pio;
        Run dma;
        try (Hypervisor h = TestVms.hypervisor(dir.resolve("vms"), EmulatedIde.create())) {
            VirtualMachine vm = TestVms.ideVm(h, "emulated", Attachment.disk(Slot.ide(0, 0), vhd));
            List<Run> runs = IdeVms.run(vm, g -> {
                IdeDriver d = IdeDriver.open(g, 0, 0, SCRATCH);
                d.identify();
                Run[] out = new Run[2];
                Mode[] modes = {Mode.PIO, Mode.DMA};
                for (int m = 0; m < 2; m++) {
                    int reads = m == 0 ? PIO_READS : READS;
                    long before = vm.intercepts();
                    long start = System.nanoTime();
                    for (int i = 0; i < reads; i++) {
                        d.read((long) i * (READ / 512), READ / 512, BUFFER, modes[m]);
                    }
                    out[m] = new Run(reads, vm.intercepts() - before, System.nanoTime() - start);
                }
                return List.of(out);
            });
            pio = runs.get(0);
            dma = runs.get(1);
            vm.turnOff();
        }
        Workload.Report synthetic;
        try (Hypervisor h = Hypervisor.open(dir.resolve("vms2"), org.vhdkit.stack.vm.HypervisorOptions.defaults()
                .withDeviceProvider(EmulatedIde.create()).withDeviceProvider(SyntheticStorage.create()))) {
            VirtualMachine vm = h.create(VmConfiguration.create("synthetic", TestVms.MEMORY, 1)
                    .withAttachment(Attachment.disk(Slot.scsi(0, 0), vhd)));
            Workload w = new Workload(Workload.Plan.mix(READ, 1, 100, READS * 4, 7));
            vm.start(w);
            assertTrue(w.awaitFinished(Duration.ofSeconds(30)), "the workload did not finish");
            synthetic = w.reports().stream().filter(r -> r.phase().equals("mix")).findFirst().orElseThrow()
                    .withIntercepts(vm.intercepts());
            vm.turnOff();
        }
        System.out.printf("64 KiB reads: emulated PIO %.0f intercepts/read %.1f MB/s; emulated DMA %.0f intercepts/read"
                + " %.1f MB/s; synthetic %.2f signals/read %.2f intercepts/read %.1f MB/s%n", pio.perRead(),
                pio.megabytesPerSecond(), dma.perRead(), dma.megabytesPerSecond(), synthetic.signalsPerRequest(),
                synthetic.interceptsPerRequest(), synthetic.megabytesPerSecond());
        // PIO: per 512-byte DRQ block a REP INSD (one intercept) and the status read that follows its
        // interrupt; 128 blocks for 64 KiB, plus the task file: hundreds.
        assertTrue(pio.perRead() >= 2 * READ / 512, "PIO: " + pio.perRead());
        assertTrue(pio.perRead() < 4 * READ / 512 + 20, "PIO: " + pio.perRead());
        // DMA: the task file, the command, the bus master's start, status and stop.
        assertTrue(dma.perRead() >= 5 && dma.perRead() <= 25, "DMA: " + dma.perRead());
        assertEquals(0.0, synthetic.interceptsPerRequest(), synthetic.toString());
        assertTrue(synthetic.signalsPerRequest() <= 1.0, synthetic.toString());
        assertTrue(synthetic.clean(), synthetic.toString());
    }
}
