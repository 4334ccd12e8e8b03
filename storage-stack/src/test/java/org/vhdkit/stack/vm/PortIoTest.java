package org.vhdkit.stack.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.partition.GuestSignal;
import org.vhdkit.stack.testvm.TestVms;
import org.vhdkit.stack.testing.LogCapture;

/** The emulated path: port I/O intercepts delivered to the VM worker and answered back. */
@Timeout(30)
class PortIoTest {
    @TempDir
    Path root;

    @Test
    void everyPortAccessIsOneInterceptAnsweredByTheWorkersDevice() throws Exception {
        List<Cmos> made = new CopyOnWriteArrayList<>();
        try (Hypervisor h = Hypervisor.open(root, TestVms.options().withDeviceProvider(Cmos.provider(made)))) {
            VirtualMachine vm = h.create(TestVms.config("vm"));
            BlockingQueue<Object> out = new ArrayBlockingQueue<>(8);
            vm.start(g -> {
                for (int i = 0; i < 100; i++) {
                    g.out8(Cmos.INDEX, i);
                    g.out8(Cmos.DATA, i * 3);
                }
                int sum = 0;
                for (int i = 0; i < 100; i++) {
                    g.out8(Cmos.INDEX, i);
                    sum += g.in8(Cmos.DATA);
                }
                out.add(sum);
                out.add(g.in8(0x60));
                out.add(g.in16(0x60));
                out.add(g.in32(0x60));
                g.out32(0x60, 5);
                out.add("done");
            });
            int expected = 0;
            for (int i = 0; i < 100; i++) {
                expected += (i * 3) & 0xFF;
            }
            assertEquals(expected, out.poll(5, TimeUnit.SECONDS));
            assertEquals(0xFF, out.poll(5, TimeUnit.SECONDS), "an unknown port reads all ones");
            assertEquals(0xFFFF, out.poll(5, TimeUnit.SECONDS));
            assertEquals(-1, out.poll(5, TimeUnit.SECONDS));
            assertEquals("done", out.poll(5, TimeUnit.SECONDS));
            assertEquals(404, vm.intercepts());
            assertEquals(4, vm.unhandledPortAccesses());
            assertEquals(vm.configuration().name() + "/worker", made.getFirst().lastThread.getName(),
                    "intercepts are handled on the VM worker's thread");
            vm.turnOff();
            assertTrue(made.getFirst().released, "turning off releases the devices");
            assertEquals(404, vm.intercepts(), "the counts of the last run stay readable");
        }
    }

    /** REP INS and REP OUTS: the worker moves the values; one intercept per page the string touches. */
    @Test
    void aStringAccessIsOneInterceptPerPageAndStaysInsideGuestMemory() throws Exception {
        int fifo = 0x1F0;
        List<Integer> written = new CopyOnWriteArrayList<>();
        DeviceProvider provider = worker -> worker.mapPorts(fifo, 1, new PortIoDevice() {
            private int next;

            @Override
            public String name() {
                return "fifo";
            }

            @Override
            public int read(int port, int size) {
                return next++ | 0xAB0000; // masked to the access size
            }

            @Override
            public void write(int port, int size, int value) {
                written.add(value);
            }
        });
        try (Hypervisor h = Hypervisor.open(root, TestVms.options().withDeviceProvider(provider))) {
            VirtualMachine vm = h.create(TestVms.config("vm"));
            BlockingQueue<Object> out = new ArrayBlockingQueue<>(8);
            vm.start(g -> {
                g.inString(fifo, 2, 4096 - 4, 2 + 2048); // 2 values end page 0, 2048 fill page 1: 2 intercepts
                boolean inOrder = true;
                for (int i = 0; i < 2050; i++) {
                    inOrder &= g.memory().getShort(4096 - 4 + 2L * i) == (short) i;
                }
                out.add(inOrder);
                g.memory().setInt(3 * 4096, 0x11223344);
                g.outString(fifo, 1, 3 * 4096, 4); // 1 intercept
                var refused = assertThrows(org.vhdkit.stack.memory.GuestMemoryException.class,
                        () -> g.inString(fifo, 4, g.memory().size() - 4, 2));
                out.add(refused.getMessage());
                out.add("done");
            });
            assertEquals(true, out.poll(5, TimeUnit.SECONDS), "the values land one after another, in order");
            assertTrue(out.poll(5, TimeUnit.SECONDS).toString().contains("vm"), "the refusal names the partition");
            assertEquals("done", out.poll(5, TimeUnit.SECONDS));
            assertEquals(List.of(0x44, 0x33, 0x22, 0x11), written, "OUTS takes bytes from memory in order");
            assertEquals(3, vm.intercepts(), "two pages in, one out; nothing for the string outside memory");
            vm.turnOff();
        }
    }

    @Test
    void devicesReachTheGuestThroughServicesSignalsAndWorkerTasks() throws Exception {
        DeviceProvider provider = worker -> {
            GuestSignal irq = worker.newSignal();
            worker.offerGuestService(GuestSignal.class, irq);
            worker.mapPorts(0x20, 1, new PortIoDevice() {
                @Override
                public String name() {
                    return "pic";
                }

                @Override
                public int read(int port, int size) {
                    return 0;
                }

                @Override
                public void write(int port, int size, int value) {
                    worker.execute(irq::raise); // completes later, on the worker, as a device would
                }
            });
        };
        try (Hypervisor h = Hypervisor.open(root, TestVms.options().withDeviceProvider(provider))) {
            VirtualMachine vm = h.create(TestVms.config("vm"));
            BlockingQueue<String> out = new ArrayBlockingQueue<>(4);
            vm.start(g -> {
                GuestSignal irq = g.service(GuestSignal.class).orElseThrow();
                for (int i = 0; i < 3; i++) {
                    g.out8(0x20, 1);
                    g.await(irq);
                }
                out.add("three interrupts");
            });
            assertEquals("three interrupts", out.poll(5, TimeUnit.SECONDS));
            IllegalStateException late = assertThrows(IllegalStateException.class,
                    () -> vm.worker().orElseThrow().mapPorts(0x30, 1, new Cmos()));
            assertTrue(late.getMessage().contains("devices are added while it starts"), late.getMessage());
            vm.turnOff();
        }
    }

    @Test
    void aStartWhoseDevicesCannotBeMadeIsRefusedAndReleasesWhatWasMade() throws Exception {
        List<Cmos> made = new CopyOnWriteArrayList<>();
        DeviceProvider overlapping = worker -> worker.mapPorts(0x71, 1, new PortIoDevice() {
            @Override
            public String name() {
                return "other";
            }

            @Override
            public int read(int port, int size) {
                return 0;
            }

            @Override
            public void write(int port, int size, int value) {
            }
        });
        try (Hypervisor h = Hypervisor.open(root, TestVms.options().withDeviceProvider(Cmos.provider(made))
                .withDeviceProvider(overlapping))) {
            VirtualMachine vm = h.create(TestVms.config("vm"));
            VmException e = assertThrows(VmException.class, () -> vm.start(TestVms.counting()));
            assertEquals("cannot start 'vm': port 0x71 is already decoded by cmos, so other cannot have it", e.getMessage());
            assertEquals(VmState.OFF, vm.state());
            assertTrue(made.getFirst().released);
            assertEquals(List.of(), h.parent().children(), "no partition is left behind");
        }
        try (Hypervisor h = Hypervisor.open(root, TestVms.options().withDeviceProvider(Cmos.provider(new CopyOnWriteArrayList<>()))
                .withDeviceProvider(worker -> {
                    throw new IOException("/vms/missing.vhd: no such file");
                }))) {
            VmException e = assertThrows(VmException.class, () -> h.get("vm").start(TestVms.counting()));
            assertEquals("cannot start 'vm': /vms/missing.vhd: no such file", e.getMessage());
            assertEquals(VmState.OFF, h.get("vm").state());
        }
    }

    @Test
    void aDeviceThatFailsOnAnAccessStopsOnlyItsVm() throws Exception {
        DeviceProvider faulty = worker -> worker.mapPorts(0x64, 1, new PortIoDevice() {
            @Override
            public String name() {
                return "kbc";
            }

            @Override
            public int read(int port, int size) {
                throw new ArrayIndexOutOfBoundsException("device bug");
            }

            @Override
            public void write(int port, int size, int value) {
            }
        });
        try (LogCapture log = LogCapture.of(VmWorker.class);
                Hypervisor h = Hypervisor.open(root, TestVms.options().withDeviceProvider(faulty))) {
            VirtualMachine bad = h.create(TestVms.config("bad"));
            VirtualMachine good = h.create(TestVms.config("good"));
            good.start(TestVms.counting());
            bad.start(g -> {
                g.in8(0x64);
                g.blocking(() -> {
                    new java.util.concurrent.CountDownLatch(1).await();
                    return null;
                });
            });
            TestVms.awaitState(bad, VmState.OFF);
            String reason = bad.lastStopReason().orElseThrow();
            assertTrue(reason.startsWith("device kbc failed on IN of 1 bytes at port 0x64"), reason);
            TestVms.awaitCounterPast(good, TestVms.counter(good));
            assertEquals(VmState.RUNNING, good.state());
            // The failure is logged as an error of that VM, with the device's exception.
            LogRecord failed = log.assertOne(java.util.logging.Level.SEVERE, "bad: device kbc failed on IN of 1 bytes");
            assertEquals("device bug", failed.getThrown().getCause().getMessage());
            assertEquals(1, log.records().size(), () -> log.records().toString());
        }
    }
}
