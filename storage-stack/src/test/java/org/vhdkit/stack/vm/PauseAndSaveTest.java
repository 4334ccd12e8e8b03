package org.vhdkit.stack.vm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.memory.GuestMemory;
import org.vhdkit.stack.partition.GuestProgram;
import org.vhdkit.stack.testvm.TestVms;

@Timeout(60)
class PauseAndSaveTest {
    @TempDir
    Path root;

    @Test
    void aPausedGuestDoesNotAdvanceAndAResumedOneCarriesOn() throws Exception {
        try (Hypervisor h = Hypervisor.open(root, TestVms.options())) {
            VirtualMachine vm = h.create(TestVms.config("vm").withProcessors(4));
            vm.start(TestVms.counting());
            long before = TestVms.awaitCounterPast(vm, 0);
            vm.pause();
            assertEquals(VmState.PAUSED, vm.state());
            GuestMemory m = TestVms.memory(vm);
            long[] paused = new long[4];
            for (int vp = 0; vp < 4; vp++) {
                paused[vp] = m.getLong(TestVms.COUNTER + 8L * vp);
            }
            assertTrue(paused[0] >= before);
            for (int i = 0; i < 5; i++) {
                TestVms.sleepBriefly(); // a running guest counts about once a millisecond
                for (int vp = 0; vp < 4; vp++) {
                    assertEquals(paused[vp], m.getLong(TestVms.COUNTER + 8L * vp), "processor " + vp + " ran while paused");
                }
            }
            vm.resume();
            assertEquals(VmState.RUNNING, vm.state());
            TestVms.awaitCounterPast(vm, paused[0]);
            vm.turnOff();
        }
    }

    /** Fills guest memory with a seeded pattern (once), then counts; when resumed, reports and waits to be let go. */
    private static GuestProgram patterned(BlockingQueue<String> events, CountDownLatch letGo) {
        return g -> {
            GuestMemory m = g.memory();
            if (!g.resumed()) {
                byte[] page = new byte[GuestMemory.PAGE_SIZE];
                Random random = new Random(42);
                for (long gpa = 0x2000; gpa < m.size(); gpa += page.length) {
                    random.nextBytes(page);
                    m.write(gpa, page);
                }
                m.setLong(0x1008, 0x600DF00DL); // the pattern is complete
            } else {
                events.add("resumed at " + m.getLong(TestVms.COUNTER));
                g.blocking(() -> {
                    letGo.await();
                    return null;
                });
            }
            while (true) {
                m.setLong(TestVms.COUNTER, m.getLong(TestVms.COUNTER) + 1);
                g.safePoint();
                Thread.sleep(1);
            }
        };
    }

    private static byte[] copy(GuestMemory m) throws Exception {
        byte[] all = new byte[(int) m.size()];
        m.read(0, all);
        return all;
    }

    @Test
    void startingFromSavedRestoresMemoryAndDevicesAlsoUnderANewHypervisor() throws Exception {
        List<Cmos> made = new CopyOnWriteArrayList<>();
        HypervisorOptions options = TestVms.options().withDeviceProvider(Cmos.provider(made));
        BlockingQueue<String> events = new ArrayBlockingQueue<>(4);
        CountDownLatch letGo = new CountDownLatch(1);
        byte[] atSave;
        long countAtSave;
        try (Hypervisor h = Hypervisor.open(root, options)) {
            VirtualMachine vm = h.create(TestVms.config("vm").withMemoryBytes(12L << 20));
            vm.start(g -> {
                g.out8(Cmos.INDEX, 5);
                g.out8(Cmos.DATA, 0xA5);
                g.out8(Cmos.INDEX, 9); // the index register is device state too
                patterned(events, letGo).run(g);
            });
            GuestMemory m = TestVms.memory(vm);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (m.getLong(0x1008) != 0x600DF00DL || m.getLong(TestVms.COUNTER) < 3) {
                assertTrue(System.nanoTime() < deadline);
                Thread.sleep(1);
            }
            vm.pause();
            atSave = copy(m);
            countAtSave = m.getLong(TestVms.COUNTER);
            vm.save(); // from Paused
            assertEquals(VmState.SAVED, vm.state());
            assertEquals("saved", vm.lastStopReason().orElseThrow());
            assertTrue(vm.worker().isEmpty());
            assertEquals(List.of(), h.parent().children(), "a saved VM's memory is released");
            assertTrue(made.getFirst().released);
            for (String f : List.of(SavedState.MEMORY, SavedState.DEVICES, SavedState.MANIFEST)) {
                assertTrue(Files.exists(vm.folder().resolve(f)), f);
            }
            VmStateException change = assertThrows(VmStateException.class,
                    () -> vm.reconfigure(vm.configuration().withMemoryBytes(16L << 20)));
            assertEquals("cannot reconfigure 'vm': it is Saved", change.getMessage());
        }
        try (Hypervisor h = Hypervisor.open(root, options)) {
            VirtualMachine vm = h.get("vm");
            assertEquals(VmState.SAVED, vm.state(), "Saved survives a new hypervisor");
            vm.start(patterned(events, letGo));
            assertEquals("resumed at " + countAtSave, events.poll(5, TimeUnit.SECONDS));
            assertArrayEquals(atSave, copy(TestVms.memory(vm)), "guest memory is restored byte for byte");
            Cmos cmos = made.getLast();
            assertEquals(2, made.size());
            BlockingQueue<Integer> seen = new ArrayBlockingQueue<>(1);
            vm.worker().orElseThrow().execute(() -> seen.add(cmos.read(Cmos.INDEX, 1) << 8 | ramAt(cmos, 5)));
            assertEquals(9 << 8 | 0xA5, seen.poll(5, TimeUnit.SECONDS), "device state is restored");
            assertFalse(Files.exists(vm.folder().resolve(SavedState.MANIFEST)), "a resumed VM is no longer Saved");
            letGo.countDown();
            TestVms.awaitCounterPast(vm, countAtSave); // the guest carries on from its saved count
            vm.save(); // from Running
            assertEquals(VmState.SAVED, vm.state());
        }
        try (Hypervisor h = Hypervisor.open(root, options)) {
            VirtualMachine vm = h.get("vm");
            vm.deleteSavedState();
            assertEquals(VmState.OFF, vm.state());
            assertFalse(Files.exists(vm.folder().resolve(SavedState.MEMORY)));
        }
    }

    private static int ramAt(Cmos cmos, int index) {
        int old = cmos.read(Cmos.INDEX, 1);
        cmos.write(Cmos.INDEX, 1, index);
        int v = cmos.read(Cmos.DATA, 1);
        cmos.write(Cmos.INDEX, 1, old);
        return v;
    }

    @Test
    void aDamagedSavedStateIsRefusedAndTheVmStaysSaved() throws Exception {
        try (Hypervisor h = Hypervisor.open(root, TestVms.options())) {
            VirtualMachine vm = h.create(TestVms.config("vm"));
            vm.start(TestVms.counting());
            TestVms.awaitCounterPast(vm, 0);
            vm.save();
            Path memory = vm.folder().resolve(SavedState.MEMORY);
            byte[] bytes = Files.readAllBytes(memory);
            bytes[(int) TestVms.COUNTER] ^= 1;
            Files.write(memory, bytes);
            VmException e = assertThrows(VmException.class, () -> vm.start(TestVms.counting()));
            assertEquals("cannot start 'vm': " + memory + ": its checksum does not match the manifest; the saved memory"
                    + " is damaged", e.getMessage());
            assertEquals(VmState.SAVED, vm.state());
            assertEquals(List.of(), h.parent().children());
            Files.write(memory, new byte[10]);
            assertTrue(assertThrows(VmException.class, () -> vm.start(TestVms.counting())).getMessage()
                    .contains("holds 10 bytes"));
            vm.deleteSavedState();
            vm.start(TestVms.counting());
            assertEquals(0, TestVms.counter(vm) >> 40, "a fresh start begins from zeroed memory");
            vm.turnOff();
        }
    }

    @Test
    void aSaveCutShortLeavesTheVmOffAfterARestart() throws Exception {
        Path folder;
        try (Hypervisor h = Hypervisor.open(root, TestVms.options())) {
            VirtualMachine vm = h.create(TestVms.config("vm"));
            folder = vm.folder();
            vm.start(TestVms.counting());
            h.beforeRename((temp, target) -> {
                if (target.endsWith(SavedState.MANIFEST)) {
                    throw new java.io.IOException("disk full");
                }
            });
            VmException e = assertThrows(VmException.class, vm::save);
            assertEquals("cannot save 'vm': disk full", e.getMessage());
            assertEquals(VmState.RUNNING, vm.state(), "a failed save leaves the VM running");
            TestVms.awaitCounterPast(vm, TestVms.counter(vm));
            assertFalse(Files.exists(folder.resolve(SavedState.MEMORY)));
            h.beforeRename(AtomicFile.BeforeRename.NONE);
        }
        // as if the process died between the state files and the manifest
        Files.write(folder.resolve(SavedState.MEMORY), new byte[(int) TestVms.MEMORY]);
        Files.write(folder.resolve(SavedState.DEVICES), new byte[8]);
        try (Hypervisor h = Hypervisor.open(root, TestVms.options())) {
            assertEquals(VmState.OFF, h.get("vm").state());
            assertFalse(Files.exists(folder.resolve(SavedState.MEMORY)), "stray state files are removed");
        }
    }

    @Test
    void aGuestThatNeverReachesASafePointCannotBePausedOrSavedButCanBeTurnedOff() throws Exception {
        try (Hypervisor h = Hypervisor.open(root, TestVms.options().withPauseTimeout(java.time.Duration.ofMillis(100)))) {
            VirtualMachine vm = h.create(TestVms.config("vm"));
            java.util.concurrent.atomic.AtomicBoolean release = new java.util.concurrent.atomic.AtomicBoolean();
            CountDownLatch spinning = new CountDownLatch(1);
            vm.start(g -> {
                spinning.countDown();
                while (!release.get()) {
                    Thread.onSpinWait();
                }
            });
            assertTrue(spinning.await(5, TimeUnit.SECONDS));
            VmException pause = assertThrows(VmException.class, vm::pause);
            assertEquals("cannot pause 'vm': its guest did not reach a safe point within 100 ms; it is still Running",
                    pause.getMessage());
            VmException save = assertThrows(VmException.class, vm::save);
            assertEquals("cannot save 'vm': its guest did not reach a safe point within 100 ms; it is still Running",
                    save.getMessage());
            assertEquals(VmState.RUNNING, vm.state());
            vm.turnOff();
            assertEquals(VmState.OFF, vm.state());
            release.set(true);
        }
    }
}
