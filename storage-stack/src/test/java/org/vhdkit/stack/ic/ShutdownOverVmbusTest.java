package org.vhdkit.stack.ic;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.bus.WorkerBus;
import org.vhdkit.stack.guest.GuestPages;
import org.vhdkit.stack.guest.ic.IcException;
import org.vhdkit.stack.guest.ic.ShutdownGuest;
import org.vhdkit.stack.guest.storvsc.IoStatus;
import org.vhdkit.stack.guest.storvsc.Storvsc;
import org.vhdkit.stack.guest.storvsc.StorvscDisk;
import org.vhdkit.stack.guest.vmbus.VmbusGuest;
import org.vhdkit.stack.guest.workload.Workload;
import org.vhdkit.stack.storage.SyntheticStorage;
import org.vhdkit.stack.testvm.TestVms;
import org.vhdkit.stack.vm.GuestShutdown;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmException;
import org.vhdkit.stack.vm.VmState;
import org.vhdkit.stack.vmbus.ChannelOffer;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.check.CheckReport;
import org.vhdkit.vhd.check.ImageCheck;

/** VirtualMachine.shutDown through the shutdown integration service over VMBus. */
@Timeout(30)
class ShutdownOverVmbusTest {
    static final long SEED = 7;

    @TempDir
    Path dir;

    @Test
    void aGuestAnsweringOverVmbusShutsDownAndItsWritesAreFlushed() throws Exception {
        Path vhd = TestVms.dynamicVhd(dir, "a.vhd", 16L << 20);
        BlockingQueue<String> said = new ArrayBlockingQueue<>(4);
        try (Hypervisor h = TestVms.hypervisor(dir.resolve("vms"), SyntheticStorage.create(),
                IntegrationServices.create())) {
            VirtualMachine vm = TestVms.vm(h, "vm", 1, TestVms.scsi(0, 0, vhd));
            vm.start(ctx -> {
                GuestPages pages = new GuestPages(ctx.memory(), IcVms.DRIVER_PAGES, IcVms.DRIVER_PAGES_LENGTH);
                Storvsc storvsc = Storvsc.open(ctx, pages);
                StorvscDisk disk = storvsc.disk(0, 0).orElseThrow();
                long buffer = IcVms.DRIVER_PAGES + IcVms.DRIVER_PAGES_LENGTH;
                for (int s = 0; s < 64; s++) {
                    ctx.memory().write(buffer + 512L * s, Workload.expectedSector(s, SEED));
                }
                disk.write(0, 64, buffer);
                int tag = disk.controller().awaitCompletion();
                said.add("write " + disk.controller().status(tag));
                disk.controller().release(tag);
                ShutdownGuest shutdown = ShutdownGuest.open(ctx, pages);
                shutdown.serve(request -> {
                    said.add(request.message());
                    disk.flush();
                    int t = disk.controller().awaitCompletion();
                    said.add("flush " + disk.controller().status(t));
                    disk.controller().release(t);
                    return ShutdownGuest.Answer.accept();
                }, Duration.ofDays(1));
                said.add("serve returned"); // not reached: the answer powers off
            });
            IcVms.awaitReady(vm);
            assertEquals(List.of(ChannelOffer.STORAGE, ChannelOffer.SHUTDOWN), // one VMBus shared by both providers
                    WorkerBus.find(vm).orElseThrow().offers().stream().map(ChannelOffer::type).toList());
            vm.shutDown(IcVms.WAIT);
            assertEquals(VmState.OFF, vm.state());
            assertEquals("the guest powered off", vm.lastStopReason().orElseThrow());
            assertEquals(List.of("write " + IoStatus.OK, "the host asked for a shutdown", "flush " + IoStatus.OK),
                    List.copyOf(said));
        }
        assertEquals(CheckReport.Status.CLEAN, ImageCheck.check(vhd, ProgressListener.NONE).status());
        try (VhdDisk d = Vhd.openReadOnly(vhd)) {
            byte[] sector = new byte[512];
            for (int s = 0; s < 64; s++) {
                d.read(s * 512L, sector);
                assertArrayEquals(Workload.expectedSector(s, SEED), sector, "LBA " + s);
            }
        }
    }

    @Test
    void theDefaultServeAcceptsAndPowersOff() throws Exception {
        try (Hypervisor h = TestVms.hypervisor(dir, SyntheticStorage.create(), IntegrationServices.create())) {
            VirtualMachine vm = TestVms.vm(h, "vm", 2);
            vm.start(ctx -> {
                if (ctx.processor() == 1) {
                    try (ShutdownGuest shutdown = ShutdownGuest.open(ctx, IcVms.icPages(ctx))) {
                        shutdown.serve();
                    }
                }
                while (true) {
                    ctx.safePoint();
                    Thread.sleep(1);
                }
            });
            IcVms.awaitReady(vm);
            vm.shutDown(IcVms.WAIT);
            assertEquals(VmState.OFF, vm.state());
            assertEquals(List.of(), h.parent().children());
        }
    }

    @Test
    void aGuestThatRefusesKeepsRunningAndCanBeAskedAgainOrTurnedOff() throws Exception {
        try (Hypervisor h = TestVms.hypervisor(dir, SyntheticStorage.create(), IntegrationServices.create())) {
            VirtualMachine vm = TestVms.vm(h, "vm", 1);
            vm.start(ctx -> {
                try (ShutdownGuest shutdown = ShutdownGuest.open(ctx, IcVms.icPages(ctx))) {
                    while (true) {
                        shutdown.serve(request -> ShutdownGuest.Answer.refuse("busy\nupdating"), Duration.ofDays(1));
                    }
                }
            });
            IcVms.awaitReady(vm);
            VmException e = assertThrows(VmException.class, () -> vm.shutDown(IcVms.WAIT));
            assertEquals("cannot shut down 'vm': its guest refused: busy?updating; it is still Running", e.getMessage());
            assertEquals(VmState.RUNNING, vm.state());
            assertEquals(e.getMessage(), assertThrows(VmException.class, () -> vm.shutDown(IcVms.WAIT)).getMessage());
            assertTrue(IntegrationServices.shutdownReady(vm));
            vm.turnOff();
            assertEquals(VmState.OFF, vm.state());
        }
    }

    @Test
    void aGuestThatNeverOpensTheChannelIsRefusedAtOnceAndCanBeTurnedOff() throws Exception {
        try (Hypervisor h = TestVms.hypervisor(dir, SyntheticStorage.create(), IntegrationServices.create())) {
            VirtualMachine vm = TestVms.vm(h, "vm", 1);
            BlockingQueue<Boolean> offered = new ArrayBlockingQueue<>(1);
            vm.start(ctx -> {
                offered.add(VmbusGuest.of(ctx).orElseThrow().offer(ChannelOffer.SHUTDOWN).isPresent());
                while (true) {
                    ctx.safePoint();
                    Thread.sleep(1);
                }
            });
            assertEquals(true, offered.poll(5, TimeUnit.SECONDS));
            VmException e = assertThrows(VmException.class, () -> vm.shutDown(IcVms.WAIT));
            assertEquals("cannot shut down 'vm': its guest has not opened the shutdown integration channel on VMBus"
                    + " (its integration services are not running); turn it off instead", e.getMessage());
            assertFalse(IntegrationServices.shutdownReady(vm));
            assertEquals(VmState.RUNNING, vm.state());
            vm.turnOff();
            assertEquals(VmState.OFF, vm.state());
        }
    }

    @Test
    void aGuestListeningOnlyOnTheDefaultServiceIsAskedThere() throws Exception {
        try (Hypervisor h = TestVms.hypervisor(dir, SyntheticStorage.create(), IntegrationServices.create())) {
            VirtualMachine vm = TestVms.vm(h, "vm", 1);
            CountDownLatch listening = new CountDownLatch(1);
            vm.start(ctx -> {
                GuestShutdown shutdown = ctx.service(GuestShutdown.class).orElseThrow();
                shutdown.listen();
                listening.countDown();
                ctx.await(shutdown.requests());
                ctx.powerOff();
            });
            assertTrue(listening.await(5, TimeUnit.SECONDS));
            vm.shutDown(IcVms.WAIT);
            assertEquals(VmState.OFF, vm.state());
        }
    }

    @Test
    void withIntegrationComponentsOffThereIsNoOfferAndShutDownIsRefused() throws Exception {
        try (Hypervisor h = TestVms.hypervisor(dir, SyntheticStorage.create(), IntegrationServices.create())) {
            VirtualMachine vm = h.create(org.vhdkit.stack.vm.VmConfiguration.create("bare", TestVms.MEMORY, 1)
                    .withIntegrationComponents(false));
            BlockingQueue<String> seen = new ArrayBlockingQueue<>(1);
            vm.start(ctx -> {
                try {
                    ShutdownGuest.open(ctx, IcVms.icPages(ctx));
                    seen.add("opened");
                } catch (IcException e) {
                    seen.add(e.getMessage());
                }
                while (true) {
                    ctx.safePoint();
                    Thread.sleep(1);
                }
            });
            assertEquals("the partition has no VMBus: are its integration components on?", seen.poll(5, TimeUnit.SECONDS));
            assertTrue(WorkerBus.find(vm).isEmpty());
            assertEquals("cannot shut down 'bare': its integration components are off, so it has no shutdown service;"
                    + " turn it off instead", assertThrows(VmException.class, () -> vm.shutDown(IcVms.WAIT)).getMessage());
            vm.turnOff();
        }
    }

    @Test
    void aGuestThatDoesNotAnswerInTimeIsRefusedAndItsLateAnswerIsDropped() throws Exception {
        try (Hypervisor h = TestVms.hypervisor(dir, SyntheticStorage.create(), IntegrationServices.create())) {
            VirtualMachine vm = TestVms.vm(h, "vm", 1);
            CountDownLatch answer = new CountDownLatch(1);
            CountDownLatch negotiated = new CountDownLatch(1);
            vm.start(ctx -> {
                ShutdownGuest shutdown = ShutdownGuest.open(ctx, IcVms.icPages(ctx));
                while (shutdown.version().isEmpty()) {
                    shutdown.serve(ShutdownGuest.Handler.POWER_OFF, Duration.ofMillis(1)); // negotiates
                }
                negotiated.countDown();
                while (!ctx.blocking(() -> answer.await(1, TimeUnit.MILLISECONDS))) {
                    ctx.safePoint(); // busy: does not look at the channel
                }
                // the first (abandoned) request is answered late and dropped; the second is accepted
                while (true) {
                    shutdown.serve(ShutdownGuest.Handler.POWER_OFF, Duration.ofDays(1));
                }
            });
            assertTrue(negotiated.await(5, TimeUnit.SECONDS));
            VmException e = assertThrows(VmException.class, () -> vm.shutDown(Duration.ofMillis(100)));
            assertEquals("cannot shut down 'vm': its guest did not answer the shutdown request within 100 ms; it is"
                    + " still Running (turn it off to stop it at once)", e.getMessage());
            assertEquals(VmState.RUNNING, vm.state());
            answer.countDown();
            TestVms.awaitState(vm, VmState.OFF, IcVms.WAIT); // the late answer accepted, and the guest powered off
            assertEquals("the guest powered off", vm.lastStopReason().orElseThrow());
        }
    }
}
