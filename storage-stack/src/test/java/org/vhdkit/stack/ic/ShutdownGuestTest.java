package org.vhdkit.stack.ic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.guest.GuestPages;
import org.vhdkit.stack.guest.ic.IcException;
import org.vhdkit.stack.guest.ic.ShutdownGuest;
import org.vhdkit.stack.memory.GuestMemory;
import org.vhdkit.stack.storage.SyntheticStorage;
import org.vhdkit.stack.testvm.TestVms;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmException;
import org.vhdkit.stack.vm.VmState;

/**
 * The guest library's shutdown service as a program uses it against the parent's
 * {@link IntegrationServices}: when it cannot open, a handler that fails, an acceptance that leaves
 * the power off to the program, polling between pieces of work, and how long a serve waits.
 */
@Timeout(60)
class ShutdownGuestTest {
    static final ShutdownGuest.Handler ACCEPT_AND_RETURN = request -> ShutdownGuest.Answer.acceptAndReturn();

    @TempDir
    Path dir;

    @Test
    void answersSayWhetherTheLibraryPowersOffAndARefusalNeverDoes() {
        assertEquals(new ShutdownGuest.Answer(true, true, ""), ShutdownGuest.Answer.accept());
        assertEquals(new ShutdownGuest.Answer(true, false, ""), ShutdownGuest.Answer.acceptAndReturn());
        assertEquals(new ShutdownGuest.Answer(false, false, "busy"), ShutdownGuest.Answer.refuse("busy"));
        assertEquals("a refused shutdown does not power off",
                assertThrows(IllegalArgumentException.class, () -> new ShutdownGuest.Answer(false, true, "busy"))
                        .getMessage());
        assertThrows(NullPointerException.class, () -> ShutdownGuest.Answer.refuse(null));
    }

    /** Starts {@code vm} with a guest that reports what opening the shutdown service with {@code pages} said. */
    static String openOutcome(VirtualMachine vm, int pages) throws Exception {
        BlockingQueue<String> seen = new LinkedBlockingQueue<>();
        vm.start(ctx -> {
            GuestPages region = new GuestPages(ctx.memory(), IcVms.IC_PAGES, (long) pages * GuestMemory.PAGE_SIZE);
            try {
                ShutdownGuest.open(ctx, region);
                seen.add("opened");
            } catch (IcException e) {
                seen.add(e.getMessage() + " (" + region.freePages() + " pages free)");
            }
            IcVms.idle(ctx);
        });
        return seen.poll(10, TimeUnit.SECONDS);
    }

    @Test
    void openIsRefusedWhenTheParentOffersNoShutdownChannel() throws Exception {
        try (Hypervisor h = TestVms.hypervisor(dir, SyntheticStorage.create())) { // a VMBus, but no integration services
            VirtualMachine vm = TestVms.vm(h, "vm", 1);
            assertEquals("the parent offers no shutdown integration channel (is IntegrationServices among the"
                    + " hypervisor's device providers?) (16 pages free)", openOutcome(vm, 16));
            vm.turnOff();
        }
    }

    @Test
    void openIsRefusedWhenThePagesRunOutAndTakesNone() throws Exception {
        try (Hypervisor h = TestVms.hypervisor(dir, IntegrationServices.create())) {
            VirtualMachine vm = TestVms.vm(h, "vm", 1);
            assertEquals("no pages for the shutdown channel's rings: the driver's 5-page region at 0x700000 has 5"
                    + " pages left, not 6 (5 pages free)", openOutcome(vm, ShutdownGuest.RING_PAGES - 1));
            vm.turnOff();
        }
    }

    /** A second open of the one shutdown channel is refused; the first goes on answering the parent. */
    @Test
    void openIsRefusedWhileTheChannelIsOpenAlready() throws Exception {
        try (Hypervisor h = TestVms.hypervisor(dir, IntegrationServices.create())) {
            VirtualMachine vm = TestVms.vm(h, "vm", 1);
            BlockingQueue<String> seen = new LinkedBlockingQueue<>();
            vm.start(ctx -> {
                GuestPages pages = IcVms.icPages(ctx);
                try (ShutdownGuest shutdown = ShutdownGuest.open(ctx, pages)) {
                    try {
                        ShutdownGuest.open(ctx, pages);
                        seen.add("opened twice");
                    } catch (IcException e) {
                        seen.add(e.getMessage());
                    }
                    shutdown.serve();
                }
            });
            String refused = seen.poll(10, TimeUnit.SECONDS);
            assertTrue(refused.startsWith("cannot open the shutdown channel: ALREADY_OPEN: channel ")
                    && refused.endsWith(" is open already"), refused);
            IcVms.awaitReady(vm);
            vm.shutDown(IcVms.WAIT);
            assertEquals(VmState.OFF, vm.state());
        }
    }

    /**
     * A handler that throws refuses the request (the host is told why), counts it as answered and
     * ends the serve with its failure as the cause; the channel stays open, so the program may serve
     * again and accept the next request.
     */
    @Test
    void aHandlerThatFailsRefusesTheRequestAndTheNextServeMayAccept() throws Exception {
        try (Hypervisor h = TestVms.hypervisor(dir, IntegrationServices.create())) {
            VirtualMachine vm = TestVms.vm(h, "vm", 1);
            BlockingQueue<Object> seen = new LinkedBlockingQueue<>();
            vm.start(ctx -> {
                ShutdownGuest shutdown = ShutdownGuest.open(ctx, IcVms.icPages(ctx));
                try {
                    shutdown.serve(request -> {
                        throw new IOException("the disk is busy");
                    }, Duration.ofDays(1));
                    seen.add("serve returned");
                } catch (IcException e) {
                    seen.add(e);
                    seen.add(shutdown.requests());
                }
                shutdown.serve();
            });
            IcVms.awaitReady(vm);
            VmException refused = assertThrows(VmException.class, () -> vm.shutDown(IcVms.WAIT));
            assertEquals("cannot shut down 'vm': its guest refused: the guest's shutdown handler failed: the disk is"
                    + " busy; it is still Running", refused.getMessage());
            IcException failed = assertInstanceOf(IcException.class, seen.poll(10, TimeUnit.SECONDS));
            assertEquals("the shutdown handler failed: the disk is busy", failed.getMessage());
            assertEquals("the disk is busy", assertInstanceOf(IOException.class, failed.getCause()).getMessage());
            assertEquals(1L, seen.poll(10, TimeUnit.SECONDS), "the refused request was answered");
            assertEquals(VmState.RUNNING, vm.state());

            vm.shutDown(IcVms.WAIT);
            assertEquals(VmState.OFF, vm.state());
            assertEquals("the guest powered off", vm.lastStopReason().orElseThrow());
        }
    }

    /**
     * A program that polls between pieces of work: a poll with nothing waiting returns false at
     * once (the work goes on), the negotiation is answered by a poll, and an accepted request with
     * {@link ShutdownGuest.Answer#acceptAndReturn()} returns true and leaves the power off to the
     * program, which the host's shutDown waits for.
     */
    @Test
    void pollAnswersWhatHasArrivedAndLeavesThePowerOffToTheProgram() throws Exception {
        try (Hypervisor h = TestVms.hypervisor(dir, IntegrationServices.create())) {
            VirtualMachine vm = TestVms.vm(h, "vm", 1);
            BlockingQueue<Object> seen = new LinkedBlockingQueue<>();
            vm.start(ctx -> {
                ShutdownGuest shutdown = ShutdownGuest.open(ctx, IcVms.icPages(ctx));
                seen.add(shutdown.version().orElse("none"));
                long work = 0;
                while (!shutdown.poll(ACCEPT_AND_RETURN)) {
                    ctx.memory().setLong(TestVms.COUNTER, ++work);
                    ctx.safePoint();
                    Thread.sleep(1);
                }
                seen.add(shutdown.requests());
                seen.add(shutdown.version().orElse("none"));
                ctx.memory().setLong(TestVms.COUNTER, -1); // tidies up, then powers off itself
                seen.add("tidied");
                ctx.powerOff();
            });
            assertEquals("none", seen.poll(10, TimeUnit.SECONDS), "nothing is negotiated before the first read");
            IcVms.awaitReady(vm);
            TestVms.awaitCounterPast(vm, 20); // polling does not hold the program up
            vm.shutDown(IcVms.WAIT);
            assertEquals(VmState.OFF, vm.state());
            assertEquals("the guest powered off", vm.lastStopReason().orElseThrow());
            assertEquals(1L, seen.poll(10, TimeUnit.SECONDS));
            assertEquals("3.0", seen.poll(10, TimeUnit.SECONDS));
            assertEquals("tidied", seen.poll(10, TimeUnit.SECONDS));
        }
    }

    /**
     * A serve with no request coming returns false once its time passed: at once for a zero or
     * negative timeout, after it for a short one; one of more than a year waits for the request.
     */
    @Test
    void aServeWaitsAsLongAsItsTimeoutAndNoLonger() throws Exception {
        try (Hypervisor h = TestVms.hypervisor(dir, IntegrationServices.create())) {
            VirtualMachine vm = TestVms.vm(h, "vm", 1);
            BlockingQueue<Object> seen = new LinkedBlockingQueue<>();
            CountDownLatch waiting = new CountDownLatch(1);
            vm.start(ctx -> {
                ShutdownGuest shutdown = ShutdownGuest.open(ctx, IcVms.icPages(ctx));
                while (shutdown.version().isEmpty()) {
                    assertFalse(shutdown.serve(ShutdownGuest.Handler.POWER_OFF, Duration.ofMillis(1)));
                }
                long start = System.nanoTime();
                seen.add(shutdown.serve(ShutdownGuest.Handler.POWER_OFF, Duration.ZERO));
                seen.add(shutdown.serve(ShutdownGuest.Handler.POWER_OFF, Duration.ofSeconds(-1)));
                seen.add(Duration.ofNanos(System.nanoTime() - start).compareTo(Duration.ofSeconds(2)) < 0);
                start = System.nanoTime();
                seen.add(shutdown.serve(ShutdownGuest.Handler.POWER_OFF, Duration.ofMillis(50)));
                seen.add(Duration.ofNanos(System.nanoTime() - start).compareTo(Duration.ofMillis(50)) >= 0);
                waiting.countDown();
                seen.add(shutdown.serve(ACCEPT_AND_RETURN, Duration.ofDays(400)));
                ctx.powerOff();
            });
            assertEquals(false, seen.poll(10, TimeUnit.SECONDS), "a zero timeout");
            assertEquals(false, seen.poll(10, TimeUnit.SECONDS), "a negative timeout");
            assertEquals(true, seen.poll(10, TimeUnit.SECONDS), "neither waits");
            assertEquals(false, seen.poll(10, TimeUnit.SECONDS), "50 ms");
            assertEquals(true, seen.poll(10, TimeUnit.SECONDS), "waited the 50 ms out");
            assertTrue(waiting.await(10, TimeUnit.SECONDS));
            vm.shutDown(IcVms.WAIT);
            assertEquals(true, seen.poll(10, TimeUnit.SECONDS), "the long serve returned the acceptance");
            assertEquals(VmState.OFF, vm.state());
        }
    }
}
