package org.vhdkit.stack.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataOutput;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.vhdkit.stack.testvm.TestVms;

/** The transition table: every operation from every state, legal ones done, illegal ones refused by name. */
@Timeout(60)
class LifecycleTest {
    @TempDir
    java.nio.file.Path root;
    private Hypervisor hypervisor;

    @BeforeEach
    void open() throws Exception {
        hypervisor = Hypervisor.open(root, TestVms.options());
    }

    @AfterEach
    void close() {
        hypervisor.close();
    }

    /** Brings a new VM named "vm" into {@code state}. */
    private VirtualMachine vmIn(VmState state) throws Exception {
        VirtualMachine vm = hypervisor.create(TestVms.config("vm"));
        switch (state) {
            case OFF -> { }
            case RUNNING -> {
                vm.start(TestVms.counting());
                TestVms.awaitCounterPast(vm, 0); // the guest listens for shutdown requests by now
            }
            case PAUSED -> {
                vm.start(TestVms.counting());
                vm.pause();
            }
            case SAVED -> {
                vm.start(TestVms.counting());
                vm.save();
            }
            default -> throw new IllegalArgumentException(state.toString());
        }
        assertEquals(state, vm.state());
        return vm;
    }

    private void apply(VirtualMachine vm, Operation op) throws Exception {
        switch (op) {
            case START -> vm.start(TestVms.counting());
            case TURN_OFF -> vm.turnOff();
            case SHUT_DOWN -> vm.shutDown(TestVms.WAIT);
            case PAUSE -> vm.pause();
            case RESUME -> vm.resume();
            case SAVE -> vm.save();
            case DELETE_SAVED_STATE -> vm.deleteSavedState();
            case RECONFIGURE -> vm.reconfigure(vm.configuration().withProcessors(2));
            case DELETE -> hypervisor.delete(vm.name());
            case SWITCH_DISKS -> vm.switchDisks(vm.configuration());
            case RESTORE -> vm.restoreState(vm.configuration(), java.util.Optional.empty());
            case COPY_SAVED_STATE -> {
                java.nio.file.Path copy = java.nio.file.Files.createTempDirectory(root, ".copy");
                vm.copySavedStateTo(copy);
                assertTrue(java.nio.file.Files.exists(copy.resolve("saved-state.json")));
            }
            case SNAPSHOT_LIVE -> vm.snapshotLive(root.resolve(".live"), vm.configuration(), NO_STEPS);
        }
    }

    /** A live snapshot's steps that do nothing: the in-JVM guest programs refuse it before any. */
    private static final VirtualMachine.LiveSnapshot NO_STEPS = new VirtualMachine.LiveSnapshot() {
        @Override
        public void paused() {
        }

        @Override
        public void makeFiles() {
        }

        @Override
        public void committed() {
        }
    };

    static Stream<Arguments> transitions() {
        List<Arguments> all = new ArrayList<>();
        for (VmState s : List.of(VmState.OFF, VmState.RUNNING, VmState.PAUSED, VmState.SAVED)) {
            for (Operation op : Operation.values()) {
                all.add(Arguments.of(s, op));
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{1} from {0}")
    @MethodSource("transitions")
    void everyOperationFromEveryRestingState(VmState from, Operation op) throws Exception {
        VirtualMachine vm = vmIn(from);
        if (!op.allowedFrom(from)) {
            VmStateException e = assertThrows(VmStateException.class, () -> apply(vm, op));
            assertEquals("cannot " + op.verb() + " 'vm': it is " + from, e.getMessage());
            assertEquals(from, e.state());
            assertEquals(from, vm.state(), "a refused operation changes nothing");
            return;
        }
        if (op == Operation.SNAPSHOT_LIVE) { // allowed by state, refused by the in-JVM engine
            VmException e = assertThrows(VmException.class, () -> apply(vm, op));
            assertTrue(e.getMessage().contains("its guest programs run in this process"), e.getMessage());
            assertFalse(vm.snapshotsLive());
            assertEquals(from, vm.state(), "a refused snapshot changes nothing");
            if (from == VmState.RUNNING) {
                TestVms.awaitCounterPast(vm, TestVms.counter(vm));
            }
            return;
        }
        apply(vm, op);
        if (op == Operation.DELETE) {
            assertTrue(hypervisor.find("vm").isEmpty());
            return;
        }
        assertEquals(op.target(from), vm.state());
        switch (vm.state()) {
            case RUNNING -> TestVms.awaitCounterPast(vm, TestVms.counter(vm));
            case OFF, SAVED -> {
                assertTrue(vm.worker().isEmpty());
                assertEquals(List.of(), hypervisor.parent().children(), "a VM that is not running holds no partition");
            }
            default -> { }
        }
    }

    @Test
    void theTableHasNoOperationFromATransientState() {
        for (VmState s : EnumSet.of(VmState.STARTING, VmState.SAVING, VmState.STOPPING)) {
            assertTrue(s.isTransient());
            for (Operation op : Operation.values()) {
                assertFalse(op.allowedFrom(s), op + " from " + s);
            }
        }
        assertEquals(List.of("Off", "Starting", "Running", "Paused", "Saving", "Saved", "Stopping"),
                Stream.of(VmState.values()).map(VmState::toString).toList());
    }

    /** Runs {@code op} on another thread; returns a latch that opens when it ends. */
    private static CountDownLatch inBackground(ThrowingRunnable op, AtomicReference<Throwable> failure) {
        CountDownLatch done = new CountDownLatch(1);
        Thread.ofPlatform().daemon(true).start(() -> {
            try {
                op.run();
            } catch (Throwable t) {
                failure.set(t);
            } finally {
                done.countDown();
            }
        });
        return done;
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    private void everyOperationRefusedWhile(VirtualMachine vm, VmState state) {
        for (Operation op : Operation.values()) {
            VmStateException e = assertThrows(VmStateException.class, () -> apply(vm, op), op.toString());
            assertEquals("cannot " + op.verb() + " 'vm': it is " + state, e.getMessage());
        }
    }

    @Test
    void operationsAreRefusedWhileTheVmIsStarting() throws Exception {
        CountDownLatch inAttach = new CountDownLatch(1);
        CountDownLatch proceed = new CountDownLatch(1);
        hypervisor.close();
        hypervisor = Hypervisor.open(root, TestVms.options().withDeviceProvider(worker -> {
            inAttach.countDown();
            await(proceed);
        }));
        VirtualMachine vm = hypervisor.create(TestVms.config("vm"));
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch started = inBackground(() -> vm.start(TestVms.counting()), failure);
        assertTrue(inAttach.await(5, TimeUnit.SECONDS));
        assertEquals(VmState.STARTING, vm.state());
        everyOperationRefusedWhile(vm, VmState.STARTING);
        proceed.countDown();
        assertTrue(started.await(5, TimeUnit.SECONDS));
        assertEquals(null, failure.get());
        assertEquals(VmState.RUNNING, vm.state());
        vm.turnOff();
    }

    private static void await(CountDownLatch latch) {
        try {
            assertTrue(latch.await(10, TimeUnit.SECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void operationsAreRefusedWhileSavingAndWhileStopping() throws Exception {
        CountDownLatch inSave = new CountDownLatch(1);
        CountDownLatch inRelease = new CountDownLatch(1);
        CountDownLatch proceedSave = new CountDownLatch(1);
        CountDownLatch proceedRelease = new CountDownLatch(1);
        AtomicBoolean holdRelease = new AtomicBoolean(true);
        hypervisor.close();
        hypervisor = Hypervisor.open(root, TestVms.options().withDeviceProvider(worker -> worker.addDevice(new VmDevice() {
            @Override
            public String name() {
                return "slow";
            }

            @Override
            public void saveState(DataOutput out) {
                inSave.countDown();
                await(proceedSave);
            }

            @Override
            public void release() {
                if (holdRelease.getAndSet(false)) {
                    inRelease.countDown();
                    await(proceedRelease);
                }
            }
        })));
        VirtualMachine vm = hypervisor.create(TestVms.config("vm"));
        AtomicReference<Throwable> failure = new AtomicReference<>();
        vm.start(TestVms.counting());
        CountDownLatch stopped = inBackground(vm::turnOff, failure);
        assertTrue(inRelease.await(5, TimeUnit.SECONDS));
        assertEquals(VmState.STOPPING, vm.state());
        everyOperationRefusedWhile(vm, VmState.STOPPING);
        proceedRelease.countDown();
        assertTrue(stopped.await(5, TimeUnit.SECONDS));
        assertEquals(VmState.OFF, vm.state());

        vm.start(TestVms.counting());
        CountDownLatch saved = inBackground(vm::save, failure);
        assertTrue(inSave.await(5, TimeUnit.SECONDS));
        assertEquals(VmState.SAVING, vm.state());
        everyOperationRefusedWhile(vm, VmState.SAVING);
        proceedSave.countDown();
        assertTrue(saved.await(5, TimeUnit.SECONDS));
        assertEquals(VmState.SAVED, vm.state());
        assertEquals(null, failure.get());
    }

    @Test
    void operationsAreRefusedWhileAPauseWaitsForASafePoint() throws Exception {
        AtomicBoolean release = new AtomicBoolean();
        CountDownLatch spinning = new CountDownLatch(1);
        hypervisor.close();
        hypervisor = Hypervisor.open(root, TestVms.options().withPauseTimeout(Duration.ofSeconds(10)));
        VirtualMachine vm = hypervisor.create(TestVms.config("vm"));
        vm.start(g -> {
            spinning.countDown();
            while (!release.get()) {
                Thread.onSpinWait(); // no safe point until released
            }
            g.safePoint();
        });
        assertTrue(spinning.await(5, TimeUnit.SECONDS));
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch paused = inBackground(vm::pause, failure);
        VmStateException e = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (e == null && System.nanoTime() < deadline) {
            try {
                vm.resume();
            } catch (VmStateException refused) {
                if (refused.getMessage().contains("under way")) {
                    e = refused;
                }
            }
        }
        release.set(true);
        assertEquals("cannot resume 'vm': it is Running (pause under way)", e.getMessage());
        assertTrue(paused.await(5, TimeUnit.SECONDS));
        assertEquals(null, failure.get());
        assertEquals(VmState.PAUSED, vm.state());
        vm.turnOff();
    }
}
