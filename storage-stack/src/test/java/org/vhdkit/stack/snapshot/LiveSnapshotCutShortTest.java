package org.vhdkit.stack.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.stack.snapshot.SnapshotVms.assertShows;
import static org.vhdkit.stack.snapshot.SnapshotVms.disk;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.vhdkit.stack.testvm.TestVms;
import org.vhdkit.stack.vm.GuestEngine;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmException;
import org.vhdkit.stack.vm.VmState;
import org.vhdkit.stack.vm.WorkerProcess;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;

/**
 * The live take of a VM whose worker process snapshots live (a real guest's qemu), with a worker
 * that does what qemu's does to the disk without qemu: it holds the VM's disk open for writing as
 * the host serves it, writes as a guest does, saves a state file, and switches its disk as the
 * served storage does. A whole take: the same process goes on, on the new layer, the node's layer is
 * frozen and holds the saved state. A take cut short at each of its steps (a failure in this
 * process): before the commit point it is undone (the worker back on its old file, no node, nothing
 * left) and after it completed; the tree is consistent, the images are clean, nothing the guest
 * wrote is lost, and the next hypervisor over the folder agrees.
 */
@Timeout(60)
class LiveSnapshotCutShortTest {
    @TempDir
    Path dir;

    private final List<FakeWorker> workers = new ArrayList<>();

    private Hypervisor hypervisor() throws IOException {
        return Hypervisor.open(dir.resolve("vms"), TestVms.options().withWorkerLauncher((config, folder, saved, exits) -> {
            FakeWorker w = new FakeWorker(config.attachment(SnapshotVms.SLOT).orElseThrow().path());
            workers.add(w);
            return w;
        }));
    }

    /** A running VM "vm" with a real guest's engine, pattern A written on its disk by its guest. */
    private VirtualMachine running(Hypervisor h, byte[] model) throws IOException {
        VirtualMachine vm = SnapshotVms.vm(h, "vm");
        vm.reconfigure(vm.configuration().withEngine(GuestEngine.qemu()));
        vm.start(g -> { });
        worker().write(model, 'A');
        return vm;
    }

    private FakeWorker worker() {
        return workers.getLast();
    }

    @Test
    void aLiveTakeKeepsTheProcessAndFreezesTheLayerUnderTheSavedState() throws Exception {
        byte[] model = new byte[(int) SnapshotVms.SIZE];
        try (Hypervisor h = hypervisor()) {
            VirtualMachine vm = running(h, model);
            Path base = disk(vm);
            FakeWorker process = worker();
            Snapshots tree = Snapshots.of(vm);
            assertTrue(vm.snapshotsLive());

            Snapshot s1 = tree.take("s1").snapshot().orElseThrow();

            assertEquals(VmState.RUNNING, vm.state());
            assertSame(process, vm.process().orElseThrow(), "the same worker process runs on");
            assertEquals(1, workers.size(), "no other was started");
            assertTrue(process.pauses == 1 && process.resumes == 2, "paused once and let run on: " + process.pauses
                    + " pauses, " + process.resumes + " resumes (one at the start)");
            assertTrue(s1.savedState(), "the node holds the guest's saved state");
            assertEquals("state", Files.readString(vm.folder().resolve("snapshots").resolve(s1.id().toString())
                    .resolve("machine-state.bin")), "the worker's saved state, in the node's folder");
            assertEquals(base, s1.layers().get(SnapshotVms.SLOT));
            assertEquals(disk(vm), process.path, "the worker serves the new layer the configuration names");
            byte[] atS1 = model.clone();
            process.write(model, 'B');
            process.disk.flush();
            assertShows(base, atS1, "s1's layer, frozen");
            assertTrue(tree.check().consistent(), tree.check().problems().toString());
        }
        assertShows(disk(reopened()), model, "Now, after the worker closed");
    }

    private VirtualMachine reopened() throws IOException {
        try (Hypervisor h = hypervisor()) {
            VirtualMachine vm = h.get("vm");
            Snapshots tree = Snapshots.of(vm);
            assertTrue(tree.check().consistent(), tree.check().problems().toString());
            SnapshotVms.assertAllClean(vm);
            return vm;
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"take: recorded", "take: saved state written", "take: created", "take: disks switched",
            "take: done"})
    void aLiveTakeCutShortIsUndoneOrCompleted(String step) throws Exception {
        byte[] model = new byte[(int) SnapshotVms.SIZE];
        boolean committed = step.equals("take: disks switched") || step.equals("take: done");
        try (Hypervisor h = hypervisor()) {
            VirtualMachine vm = running(h, model);
            Path base = disk(vm);
            Snapshots tree = Snapshots.of(vm);
            tree.checkpoint(s -> {
                if (s.startsWith(step)) {
                    throw new IOException("cut at " + s);
                }
            });
            VmException e = assertThrows(VmException.class, () -> tree.take("s1"));
            assertTrue(e.getMessage().contains("cut at " + step), e.getMessage());
            tree.checkpoint(Snapshots.Checkpoint.NONE);

            assertEquals(VmState.RUNNING, vm.state(), "the guest runs on");
            assertEquals(1, workers.size(), "in the same process");
            assertEquals(committed ? List.of("s1") : List.of(), tree.list().stream().map(Snapshot::name).toList());
            assertEquals(disk(vm), worker().path, "the worker serves the file the configuration names");
            assertEquals(committed, !disk(vm).equals(base), "on a new layer only when the take completed");
            try (var files = Files.list(vm.folder())) {
                assertEquals(committed ? 1 : 0, files.filter(p -> p.toString().endsWith(".avhd")).count());
            }
            if (!committed) {
                Path states = vm.folder().resolve("snapshots");
                assertTrue(Files.notExists(states) || Files.list(states).findAny().isEmpty(), "no saved state left");
            } else {
                assertEquals(Optional.of("s1"), tree.now().map(Snapshot::name));
            }
            worker().write(model, 'B');
            assertTrue(tree.check().consistent(), tree.check().problems().toString());
        }
        VirtualMachine vm = reopened();
        assertShows(disk(vm), model, "Now holds everything the guest wrote");
    }

    /**
     * qemu's worker as far as the tree and the VM see it: the disk open for writing, a saved state,
     * and the switch ServedStorage does.
     */
    private static final class FakeWorker implements WorkerProcess {
        Path path;
        VhdDisk disk;
        int pauses;
        int resumes;

        FakeWorker(Path path) throws IOException {
            this.path = path;
            this.disk = Vhd.open(path, OpenOptions.READ_WRITE);
        }

        /** Writes pattern {@code letter} as {@link SnapshotVms#write} does, as the guest, through the open disk. */
        void write(byte[] model, char letter) throws IOException {
            byte[] region = new byte[SnapshotVms.REGION];
            Arrays.fill(region, (byte) letter);
            int at = (letter - 'A') * SnapshotVms.REGION + 4096;
            disk.write(at, region);
            disk.write(0, Arrays.copyOf(region, 512));
            System.arraycopy(region, 0, model, at, SnapshotVms.REGION);
            System.arraycopy(region, 0, model, 0, 512);
        }

        @Override
        public void pause() {
            pauses++;
        }

        @Override
        public void resume() {
            resumes++;
        }

        @Override
        public void powerButton() {
        }

        @Override
        public void saveTo(Path file, Duration timeout) throws IOException {
            Files.writeString(file, "state", StandardCharsets.US_ASCII);
        }

        @Override
        public boolean snapshotsLive() {
            return true;
        }

        @Override
        public void switchDisks(Map<Slot, Path> next, FileStep between) throws IOException {
            Path to = next.getOrDefault(SnapshotVms.SLOT, path);
            disk.flush();
            disk.close();
            try {
                between.run();
                disk = Vhd.open(to, OpenOptions.READ_WRITE);
                path = to;
            } catch (IOException | RuntimeException e) {
                disk = Vhd.open(path, OpenOptions.READ_WRITE);
                throw e;
            }
        }

        @Override
        public void close() {
            try {
                disk.flush();
                disk.close();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
