package org.vhdkit.stack.ic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.guest.ic.ShutdownGuest;
import org.vhdkit.stack.storage.SyntheticStorage;
import org.vhdkit.stack.testvm.TestVms;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmException;
import org.vhdkit.stack.vm.VmState;

/**
 * A shutdown request while another waits for the guest's answer, a late answer to a request the
 * host gave up on, a guest that closes the shutdown channel instead of answering, and one that
 * opens it but never agrees on a version.
 */
@Timeout(30)
class ShutdownRequestTest {
    @TempDir
    Path dir;

    /**
     * While the guest holds a request without answering, a second request is refused at once (the
     * first still waits), and the first completes when the guest accepts it.
     */
    @Test
    void aSecondRequestWhileOneWaitsForTheAnswerIsRefusedAndTheFirstCompletes() throws Exception {
        try (Hypervisor h = TestVms.hypervisor(dir, SyntheticStorage.create(), IntegrationServices.create())) {
            VirtualMachine vm = TestVms.vm(h, "vm", 1);
            CountDownLatch received = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            vm.start(ctx -> {
                try (ShutdownGuest shutdown = ShutdownGuest.open(ctx, IcVms.icPages(ctx))) {
                    while (true) {
                        shutdown.serve(request -> {
                            received.countDown();
                            while (!ctx.blocking(() -> release.await(1, TimeUnit.MILLISECONDS))) {
                                ctx.safePoint(); // holds the request unanswered
                            }
                            return ShutdownGuest.Answer.accept();
                        }, java.time.Duration.ofDays(1));
                    }
                }
            });
            IcVms.awaitReady(vm);
            AtomicReference<Throwable> firstFailed = new AtomicReference<>();
            Thread first = askInBackground(vm, firstFailed, "first shutdown request");
            assertTrue(received.await(10, TimeUnit.SECONDS), "the guest never got the first request");

            VmException second = assertThrows(VmException.class, () -> vm.shutDown(IcVms.WAIT));
            assertEquals("cannot shut down 'vm': a shutdown request is already waiting for its guest's answer",
                    second.getMessage());
            assertEquals(VmState.RUNNING, vm.state());

            release.countDown();
            first.join(TimeUnit.SECONDS.toMillis(20));
            assertNull(firstFailed.get(), () -> "the first request failed: " + firstFailed.get());
            TestVms.awaitState(vm, VmState.OFF, IcVms.WAIT);
        }
    }

    /**
     * A guest that closes the shutdown channel while a request waits for its answer: the request is
     * refused saying so, the VM keeps running, later requests are refused as for a guest without
     * the service, and the VM can be turned off.
     */
    @Test
    void aGuestThatClosesTheChannelInsteadOfAnsweringRefusesTheRequest() throws Exception {
        try (Hypervisor h = TestVms.hypervisor(dir, SyntheticStorage.create(), IntegrationServices.create())) {
            VirtualMachine vm = TestVms.vm(h, "vm", 1);
            vm.start(ctx -> {
                ShutdownGuest shutdown = ShutdownGuest.open(ctx, IcVms.icPages(ctx));
                try {
                    shutdown.serve(request -> {
                        shutdown.close(); // gone before it answers
                        return ShutdownGuest.Answer.accept();
                    }, java.time.Duration.ofDays(1));
                } catch (Exception answerOnAClosedChannel) {
                    // the answer could not be sent: the channel is closed
                }
                while (true) {
                    ctx.safePoint();
                    Thread.sleep(1);
                }
            });
            IcVms.awaitReady(vm);
            VmException closed = assertThrows(VmException.class, () -> vm.shutDown(IcVms.WAIT));
            assertTrue(closed.getMessage().startsWith("cannot shut down 'vm': its guest closed the shutdown channel"
                    + " before answering ("), closed.getMessage());
            assertTrue(closed.getMessage().endsWith("); turn it off instead"), closed.getMessage());
            assertEquals(VmState.RUNNING, vm.state());
            assertTrue(!IntegrationServices.shutdownReady(vm), "the closed channel is not ready");
            VmException again = assertThrows(VmException.class, () -> vm.shutDown(IcVms.WAIT));
            assertTrue(again.getMessage().contains("has not opened the shutdown integration channel"), again.getMessage());
            vm.turnOff();
            assertEquals(VmState.OFF, vm.state());
        }
    }

    /**
     * The guest answers a request the host gave up on only after the host sent a newer one: that
     * late answer is dropped, and the newer request gets the guest's answer to it, not the old one.
     */
    @Test
    void aLateAnswerToAnAbandonedRequestDoesNotAnswerTheNewerOne() throws Exception {
        try (Hypervisor h = TestVms.hypervisor(dir, SyntheticStorage.create(), IntegrationServices.create())) {
            VirtualMachine vm = TestVms.vm(h, "vm", 1);
            CountDownLatch negotiated = new CountDownLatch(1);
            CountDownLatch answer = new CountDownLatch(1);
            vm.start(ctx -> {
                ShutdownGuest shutdown = ShutdownGuest.open(ctx, IcVms.icPages(ctx));
                while (shutdown.version().isEmpty()) {
                    shutdown.serve(ShutdownGuest.Handler.POWER_OFF, java.time.Duration.ofMillis(1)); // negotiates
                }
                negotiated.countDown();
                while (!ctx.blocking(() -> answer.await(1, TimeUnit.MILLISECONDS))) {
                    ctx.safePoint(); // busy: does not look at the channel
                }
                int[] asked = {0};
                while (true) {
                    shutdown.serve(request -> ShutdownGuest.Answer.refuse("answer to request " + ++asked[0]),
                            java.time.Duration.ofDays(1));
                }
            });
            assertTrue(negotiated.await(10, TimeUnit.SECONDS));
            VmException first = assertThrows(VmException.class, () -> vm.shutDown(java.time.Duration.ofMillis(100)));
            assertTrue(first.getMessage().contains("did not answer the shutdown request within 100 ms"), first.getMessage());

            AtomicReference<Throwable> second = new AtomicReference<>();
            Thread asking = askInBackground(vm, second, "second shutdown request");
            while (asking.getState() != Thread.State.TIMED_WAITING && asking.isAlive()) {
                Thread.onSpinWait(); // until the second request is sent and waits for its answer
            }
            answer.countDown();
            asking.join(TimeUnit.SECONDS.toMillis(20));
            assertEquals("cannot shut down 'vm': its guest refused: answer to request 2; it is still Running",
                    String.valueOf(second.get() == null ? null : second.get().getMessage()));
            assertEquals(VmState.RUNNING, vm.state());
            assertTrue(IntegrationServices.shutdownReady(vm), "the late answer did not close the channel");
            vm.turnOff();
        }
    }

    /**
     * A guest that opens the shutdown channel but never answers the version negotiation: a request
     * is refused once its wait ends, saying the guest did not agree on a version, and the VM runs on.
     */
    @Test
    void aGuestThatOpensTheChannelButNeverNegotiatesIsRefused() throws Exception {
        try (Hypervisor h = TestVms.hypervisor(dir, SyntheticStorage.create(), IntegrationServices.create())) {
            VirtualMachine vm = TestVms.vm(h, "vm", 1);
            CountDownLatch opened = new CountDownLatch(1);
            vm.start(ctx -> {
                ShutdownGuest shutdown = ShutdownGuest.open(ctx, IcVms.icPages(ctx)); // never serves
                // Takes the host's negotiation request off the ring without answering it: the host
                // has opened its end and waits for the answer.
                org.vhdkit.stack.vmbus.VmbusPacket negotiation = new org.vhdkit.stack.vmbus.VmbusPacket();
                while (!ctx.blocking(() -> shutdown.channel().receive(negotiation, 1, TimeUnit.MILLISECONDS))) {
                    ctx.safePoint();
                }
                opened.countDown();
                while (shutdown.version().isEmpty()) {
                    ctx.safePoint();
                    Thread.sleep(1);
                }
            });
            assertTrue(opened.await(10, TimeUnit.SECONDS));
            VmException refused = assertThrows(VmException.class, () -> vm.shutDown(java.time.Duration.ofMillis(200)));
            assertEquals("cannot shut down 'vm': its guest opened the shutdown channel but did not agree on a version"
                    + " within 200 ms; turn it off instead", refused.getMessage());
            assertEquals(VmState.RUNNING, vm.state());
            vm.turnOff();
        }
    }

    /** Starts a thread that asks {@code vm} to shut down, waiting {@link IcVms#WAIT}, and keeps what it threw in {@code failure}. */
    private static Thread askInBackground(VirtualMachine vm, AtomicReference<Throwable> failure, String name) {
        Thread asking = new Thread(() -> {
            try {
                vm.shutDown(IcVms.WAIT);
            } catch (Throwable e) {
                failure.set(e);
            }
        }, name);
        asking.start();
        return asking;
    }
}
