package org.vhdkit.stack.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.memory.GuestMemory;
import org.vhdkit.stack.memory.GuestMemoryException;
import org.vhdkit.stack.partition.ProcessorStopped;
import org.vhdkit.stack.testvm.TestVms;

/** A guest cannot hang or bring down the parent or another VM. */
@Timeout(30)
class IsolationTest {
    @TempDir
    Path root;
    private final AtomicBoolean release = new AtomicBoolean();

    @AfterEach
    void releaseRunaways() {
        release.set(true);
    }

    @Test
    void aGuestThatThrowsStopsItsVmAndNothingElse() throws Exception {
        try (Hypervisor h = Hypervisor.open(root, TestVms.options())) {
            VirtualMachine bad = h.create(TestVms.config("bad").withProcessors(2));
            VirtualMachine good = h.create(TestVms.config("good"));
            good.start(TestVms.counting());
            bad.start(g -> {
                if (g.processor() == 1) {
                    g.memory().getLong(g.memory().size()); // one past the end
                }
                while (true) {
                    g.safePoint();
                    Thread.sleep(1);
                }
            });
            TestVms.awaitState(bad, VmState.OFF);
            String reason = bad.lastStopReason().orElseThrow();
            assertTrue(reason.startsWith("the guest program failed on processor 1: " + GuestMemoryException.class.getName()
                    + ": bad: guest physical range 0x800000+0x8"), reason);
            TestVms.awaitCounterPast(good, TestVms.counter(good));
            bad.start(TestVms.counting()); // and it starts again
            TestVms.awaitCounterPast(bad, 0);
            assertEquals(2, h.parent().children().size());
        }
    }

    @Test
    void turnOffEndsAGuestBlockedInPortIoOnAHungDeviceOrInAWait() throws Exception {
        CountDownLatch hung = new CountDownLatch(1);
        List<Cmos> made = new CopyOnWriteArrayList<>();
        DeviceProvider hanging = worker -> worker.mapPorts(0x1F7, 1, new PortIoDevice() {
            @Override
            public String name() {
                return "hang";
            }

            @Override
            public int read(int port, int size) {
                hung.countDown();
                while (!release.get()) {
                    Thread.onSpinWait(); // a device bug: never answers, ignores interrupts
                }
                return 0;
            }

            @Override
            public void write(int port, int size, int value) {
            }
        });
        try (Hypervisor h = Hypervisor.open(root, TestVms.options().withDeviceProvider(hanging)
                .withDeviceProvider(Cmos.provider(made)))) {
            VirtualMachine vm = h.create(TestVms.config("vm").withProcessors(2));
            CountDownLatch waiting = new CountDownLatch(1);
            vm.start(g -> {
                if (g.processor() == 0) {
                    g.in8(0x1F7);
                } else {
                    waiting.countDown();
                    g.await(g.service(GuestShutdown.class).orElseThrow().requests());
                }
            });
            assertTrue(hung.await(5, TimeUnit.SECONDS));
            assertTrue(waiting.await(5, TimeUnit.SECONDS));
            vm.turnOff(); // the processors end; the hung worker is abandoned after the grace period
            assertEquals(VmState.OFF, vm.state());
            assertTrue(made.getFirst().released);
            assertEquals(List.of(), h.parent().children());
            release.set(true);
        }
    }

    @Test
    void aGuestThatLoopsForeverOrSwallowsItsStopDoesNotHangTurnOff() throws Exception {
        try (Hypervisor h = Hypervisor.open(root, TestVms.options())) {
            VirtualMachine spin = h.create(TestVms.config("spin"));
            VirtualMachine stubborn = h.create(TestVms.config("stubborn"));
            CountDownLatch running = new CountDownLatch(2);
            spin.start(g -> {
                running.countDown();
                long n = 0;
                while (!release.get()) {
                    n++; // no context call at all
                }
                g.memory().setLong(0, n);
            });
            stubborn.start(g -> {
                running.countDown();
                while (!release.get()) {
                    try {
                        g.safePoint();
                        Thread.sleep(1);
                    } catch (ProcessorStopped ignored) {
                        // a hostile guest keeps going
                    }
                }
            });
            assertTrue(running.await(5, TimeUnit.SECONDS));
            spin.turnOff();
            stubborn.turnOff();
            assertEquals(VmState.OFF, spin.state());
            assertEquals(VmState.OFF, stubborn.state());
            assertEquals(List.of(), h.parent().children());
            spin.start(TestVms.counting()); // the name and resources are free again
            TestVms.awaitCounterPast(spin, 0);
        }
    }

    @Test
    void twoVmsRunAtOnceWithoutSeeingEachOther() throws Exception {
        List<Cmos> made = new CopyOnWriteArrayList<>();
        try (Hypervisor h = Hypervisor.open(root, TestVms.options().withDeviceProvider(Cmos.provider(made)))) {
            VirtualMachine a = h.create(TestVms.config("a").withProcessors(2));
            VirtualMachine b = h.create(TestVms.config("b").withProcessors(2));
            CountDownLatch done = new CountDownLatch(4);
            for (VirtualMachine vm : List.of(a, b)) {
                byte mark = (byte) vm.name().charAt(0);
                vm.start(g -> {
                    GuestMemory m = g.memory();
                    long half = m.size() / 2;
                    long from = g.processor() * half;
                    byte[] page = new byte[GuestMemory.PAGE_SIZE];
                    java.util.Arrays.fill(page, mark);
                    for (long gpa = from; gpa < from + half; gpa += page.length) {
                        m.write(gpa, page);
                        g.out8(Cmos.INDEX, g.processor());
                        g.out8(Cmos.DATA, mark);
                    }
                    done.countDown();
                    g.blocking(() -> {
                        new CountDownLatch(1).await();
                        return null;
                    });
                });
            }
            assertTrue(done.await(10, TimeUnit.SECONDS));
            for (VirtualMachine vm : List.of(a, b)) {
                byte[] all = new byte[(int) TestVms.MEMORY];
                TestVms.memory(vm).read(0, all);
                for (int i = 0; i < all.length; i++) {
                    if (all[i] != (byte) vm.name().charAt(0)) {
                        throw new AssertionError(vm.name() + ": byte " + i + " is " + all[i]);
                    }
                }
                assertEquals(2L * 2 * (TestVms.MEMORY / 2 / GuestMemory.PAGE_SIZE), vm.intercepts());
            }
            assertEquals(2, made.size(), "each VM has its own devices");
            a.turnOff();
            assertEquals(VmState.RUNNING, b.state());
            b.turnOff();
        }
    }
}
