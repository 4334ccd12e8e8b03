package org.vhdkit.stack.ic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.stack.ic.ScriptedShutdownParent.message;
import static org.vhdkit.stack.ic.ScriptedShutdownParent.negotiation;
import static org.vhdkit.stack.ic.ScriptedShutdownParent.put;
import static org.vhdkit.stack.ic.ScriptedShutdownParent.send;
import static org.vhdkit.stack.ic.ScriptedShutdownParent.shutdownRequest;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.vhdkit.stack.guest.ic.IcException;
import org.vhdkit.stack.guest.ic.ShutdownGuest;
import org.vhdkit.stack.ic.ScriptedShutdownParent.Answer;
import org.vhdkit.stack.ic.ScriptedShutdownParent.Script;
import org.vhdkit.stack.protocol.ic.IcHeader;
import org.vhdkit.stack.protocol.ic.IcMessage;
import org.vhdkit.stack.protocol.ic.Negotiate;
import org.vhdkit.stack.protocol.vmbus.PacketType;
import org.vhdkit.stack.testvm.TestVms;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmState;
import org.vhdkit.stack.vmbus.ChannelClosedException;
import org.vhdkit.stack.vmbus.ChannelClosedReason;
import org.vhdkit.stack.vmbus.TransferPageRanges;

/**
 * The guest library's shutdown service against a parent that does not follow the protocol
 * ({@link ScriptedShutdownParent}): what it cannot read, or was not asked, ends the serve with an
 * {@link IcException} naming it and is never answered or handed to the program's handler; a
 * negotiation without a common version is answered no; a channel the parent closes ends the serve,
 * even while the handler decides; and what the parent does send within the protocol (an older
 * version, the force and restart flags) reaches the handler as sent.
 */
@Timeout(60)
class HostileParentShutdownTest {
    static final int V3 = IcMessage.SHUTDOWN_3_0;

    @TempDir
    Path dir;

    /** What the guest program saw: the exception that ended its serve, or what serve returned. */
    record Served(Object outcome, List<ShutdownGuest.Request> requests, long answered, String version) {
    }

    /**
     * Starts a VM whose guest opens the shutdown service and serves once with {@code handler}
     * (the channel left open, so the parent reads every answer), then idles; returns what it saw.
     */
    static Served serveOnce(VirtualMachine vm, ShutdownGuest.Handler handler) throws Exception {
        BlockingQueue<Served> served = new ArrayBlockingQueue<>(1);
        List<ShutdownGuest.Request> requests = new CopyOnWriteArrayList<>();
        vm.start(ctx -> {
            ShutdownGuest shutdown = ShutdownGuest.open(ctx, IcVms.icPages(ctx));
            Object outcome;
            try {
                outcome = shutdown.serve(request -> {
                    requests.add(request);
                    return handler.shutdownRequested(request);
                }, IcVms.WAIT);
            } catch (IcException e) {
                outcome = e;
            }
            served.add(new Served(outcome, requests, shutdown.requests(), shutdown.version().orElse("none")));
            IcVms.idle(ctx);
        });
        Served s = served.poll(IcVms.WAIT.toSeconds() + 5, TimeUnit.SECONDS);
        assertTrue(s != null, "the guest did not finish serving");
        return s;
    }

    static Arguments refusal(String name, Script script, int negotiated, String expected) {
        return Arguments.of(name, script, negotiated, expected);
    }

    /** Scripts the guest must refuse: how many negotiations it answers first, and what it says. */
    static Stream<Arguments> refusals() {
        byte[] negotiation = negotiation(1);
        int n = negotiation.length; // 48: a 20-byte payload naming three versions
        return Stream.of(
                refusal("a completion packet", ch -> ch.trySendCompletion(1, MemorySegment.ofArray(negotiation), 0, n),
                        0, "the parent sent a COMPLETION packet on the shutdown channel"),
                refusal("a transfer-page packet", ch -> ch.trySendTransferPages(1, false,
                        new TransferPageRanges().clear(1).add(0, 64), MemorySegment.ofArray(negotiation), 0, n),
                        0, "the parent sent a TRANSFER_PAGES packet on the shutdown channel"),
                refusal("shorter than the headers", ch -> send(ch, 1, new byte[16]),
                        0, "the parent sent a message of 16 bytes on the shutdown channel"),
                refusal("longer than any message", ch -> send(ch, 1, new byte[4096]),
                        0, "the parent sent a message of 4096 bytes on the shutdown channel"),
                refusal("a payload size past the packet", ch -> send(ch, 1,
                        put(negotiation(1), IcMessage.PAYLOAD_SIZE, 0xFFFF, 2)),
                        0, "the parent sent a malformed message: integration-service message: payload size at offset"
                                + " 18 (0x12): a 65535-byte payload in a 48-byte message (pipe flags 0x0, size 40)"),
                refusal("an answer's flags", ch -> send(ch, 1, put(negotiation(1), IcMessage.FLAGS,
                        IcMessage.RESPONSE, 1)), 0, "the parent sent a malformed message (flags 5, payload 20 of 48 bytes)"),
                refusal("no flags", ch -> send(ch, 1, put(negotiation(1), IcMessage.FLAGS, 0, 1)),
                        0, "the parent sent a malformed message (flags 0, payload 20 of 48 bytes)"),
                refusal("a negotiation too short for its counts", ch -> send(ch, 1,
                        message(IcMessage.TYPE_NEGOTIATE, IcMessage.FRAMEWORK_3_0, 4, IcMessage.REQUEST)),
                        0, "the parent sent a negotiation of 4 bytes"),
                refusal("a negotiation counting more versions than it holds", ch -> send(ch, 1,
                        put(negotiation(1), IcMessage.NEGOTIATE_FRAME_COUNT, 16, 2)),
                        0, "the parent sent a negotiation of 16 and 2 versions in 20 bytes"),
                refusal("a shutdown request before negotiating", ch -> send(ch, 1,
                        shutdownRequest(1, V3, 0, 30, 0, "now")),
                        0, "the parent sent message type 3 of 2060 bytes before negotiating"),
                refusal("an unknown message type", ch -> {
                    send(ch, 1, negotiation(1));
                    send(ch, 2, message(7, V3, 0, IcMessage.REQUEST));
                }, 1, "the parent sent message type 7 of 0 bytes"),
                refusal("a shutdown request too short for its message", ch -> {
                    send(ch, 1, negotiation(1));
                    send(ch, 2, message(IcMessage.TYPE_SHUTDOWN, V3, 12, IcMessage.REQUEST));
                }, 1, "the parent sent message type 3 of 12 bytes"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refusals")
    void whatTheGuestCannotReadEndsTheServeUnanswered(String name, Script script, int negotiated, String expected)
            throws Exception {
        ScriptedShutdownParent parent = new ScriptedShutdownParent(script);
        try (Hypervisor h = TestVms.hypervisor(dir, parent)) {
            VirtualMachine vm = TestVms.vm(h, "vm", 1);
            Served s = serveOnce(vm, request -> ShutdownGuest.Answer.acceptAndReturn());
            IcException e = assertInstanceOf(IcException.class, s.outcome());
            assertEquals(expected, e.getMessage());
            assertEquals(List.of(), s.requests(), "the handler saw no request");
            assertEquals(0, s.answered());
            for (int i = 0; i < negotiated; i++) {
                assertEquals(IcMessage.TYPE_NEGOTIATE, parent.nextAnswer().header().type());
            }
            assertNull(parent.answers.poll(50, TimeUnit.MILLISECONDS), "the refused message was answered");
            assertEquals(VmState.RUNNING, vm.state(), "a refusal does not stop the guest");
            vm.turnOff();
        }
    }

    static Stream<Arguments> noCommonVersion() {
        return Stream.of(
                Arguments.of("framework 9.0 only", new int[] {IcMessage.version(9, 0)}, IcMessage.SHUTDOWN_VERSIONS),
                Arguments.of("shutdown 2.0 only", IcMessage.FRAMEWORK_VERSIONS, new int[] {IcMessage.version(2, 0)}),
                Arguments.of("nothing at all", new int[0], new int[0]));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("noCommonVersion")
    void aNegotiationWithoutACommonVersionIsAnsweredNoAndEndsTheServe(String name, int[] frames, int[] messages)
            throws Exception {
        ScriptedShutdownParent parent = new ScriptedShutdownParent(ch -> send(ch, 77, negotiation(5, frames, messages)));
        try (Hypervisor h = TestVms.hypervisor(dir, parent)) {
            VirtualMachine vm = TestVms.vm(h, "vm", 1);
            Served s = serveOnce(vm, request -> ShutdownGuest.Answer.acceptAndReturn());
            assertEquals("the parent offers no shutdown version this guest speaks",
                    assertInstanceOf(IcException.class, s.outcome()).getMessage());
            assertEquals("none", s.version());
            Answer no = parent.nextAnswer();
            assertEquals(PacketType.IN_BAND, no.type());
            assertEquals(77, no.transactionId(), "the answer carries the request's VMBus transaction");
            assertEquals(new IcHeader(IcMessage.FRAMEWORK_3_0, IcMessage.TYPE_NEGOTIATE, IcMessage.FRAMEWORK_3_0, 8,
                    IcMessage.E_FAIL, 5, IcMessage.RESPONSE), no.header());
            assertEquals(new Negotiate(new int[0], new int[0]), no.negotiate());
            vm.turnOff();
        }
    }

    /**
     * A parent offering only shutdown 1.0 gets 1.0 (the guest's best of those offered); its
     * requests reach the handler with their reason code, timeout, flags and message, and each is
     * answered at that version with the same transaction: a refusal with its reason, an acceptance
     * without one.
     */
    @Test
    void theGuestSpeaksTheVersionAgreedAndHandsTheHandlerTheRequestAsSent() throws Exception {
        int v1 = IcMessage.SHUTDOWN_1_0;
        int forceAndRestart = IcMessage.SHUTDOWN_FLAG_FORCE | IcMessage.SHUTDOWN_FLAG_RESTART;
        ScriptedShutdownParent parent = new ScriptedShutdownParent(ch -> {
            send(ch, 101, negotiation(1, IcMessage.FRAMEWORK_VERSIONS, new int[] {v1, IcMessage.version(4, 0)}));
            send(ch, 102, shutdownRequest(2, v1, 5, 42, forceAndRestart, "patching"));
            send(ch, 103, shutdownRequest(3, v1, 0, 30, 0, "now"));
        });
        try (Hypervisor h = TestVms.hypervisor(dir, parent)) {
            VirtualMachine vm = TestVms.vm(h, "vm", 1);
            Served s = serveOnce(vm, request -> request.force()
                    ? ShutdownGuest.Answer.refuse("not while patching") : ShutdownGuest.Answer.acceptAndReturn());
            assertEquals(true, s.outcome(), "serve returns once a request is accepted");
            assertEquals("1.0", s.version());
            assertEquals(2, s.answered());
            assertEquals(List.of(new ShutdownGuest.Request(5, 42, forceAndRestart, "patching"),
                    new ShutdownGuest.Request(0, 30, 0, "now")), s.requests());
            ShutdownGuest.Request first = s.requests().get(0);
            assertTrue(first.force() && first.restart());
            ShutdownGuest.Request second = s.requests().get(1);
            assertFalse(second.force() || second.restart());

            Answer agreed = parent.nextAnswer();
            assertEquals(101, agreed.transactionId());
            assertEquals(IcMessage.S_OK, agreed.header().status());
            assertEquals(1, agreed.header().transaction());
            assertEquals(new Negotiate(IcMessage.FRAMEWORK_VERSIONS, new int[] {v1}), agreed.negotiate());
            Answer refused = parent.nextAnswer();
            assertEquals(102, refused.transactionId());
            assertEquals(new IcHeader(IcMessage.FRAMEWORK_3_0, IcMessage.TYPE_SHUTDOWN, v1, IcMessage.SHUTDOWN_PAYLOAD,
                    IcMessage.E_FAIL, 2, IcMessage.RESPONSE), refused.header());
            assertEquals("not while patching", refused.shutdown().message());
            Answer accepted = parent.nextAnswer();
            assertEquals(103, accepted.transactionId());
            assertEquals(new IcHeader(IcMessage.FRAMEWORK_3_0, IcMessage.TYPE_SHUTDOWN, v1, IcMessage.SHUTDOWN_PAYLOAD,
                    IcMessage.S_OK, 3, IcMessage.RESPONSE), accepted.header());
            assertEquals("", accepted.shutdown().message());
            assertEquals(VmState.RUNNING, vm.state(), "acceptAndReturn leaves the power off to the program");
            vm.turnOff();
        }
    }

    /** A channel the parent closes wakes a waiting serve, which fails naming why; so does every poll after it. */
    @Test
    void aChannelTheParentClosesEndsTheServeAndEveryPollAfterIt() throws Exception {
        ScriptedShutdownParent parent = new ScriptedShutdownParent(ch -> send(ch, 1, negotiation(1)));
        try (Hypervisor h = TestVms.hypervisor(dir, parent)) {
            VirtualMachine vm = TestVms.vm(h, "vm", 1);
            BlockingQueue<Object> seen = new LinkedBlockingQueue<>();
            vm.start(ctx -> {
                ShutdownGuest shutdown = ShutdownGuest.open(ctx, IcVms.icPages(ctx));
                try {
                    shutdown.serve(ShutdownGuest.Handler.POWER_OFF, IcVms.WAIT.multipliedBy(3));
                    seen.add("serve returned");
                } catch (IcException e) {
                    seen.add(e);
                }
                try {
                    shutdown.poll(ShutdownGuest.Handler.POWER_OFF);
                    seen.add("poll returned");
                } catch (IcException e) {
                    seen.add(e);
                }
                seen.add(shutdown.version().orElse("none"));
                seen.add(shutdown.toString());
                shutdown.close();
                shutdown.close();
                seen.add("closed");
                IcVms.idle(ctx);
            });
            assertEquals(IcMessage.TYPE_NEGOTIATE, parent.nextAnswer().header().type());
            parent.channel().close(ChannelClosedReason.DEVICE_CLOSED, "the host stopped the service");
            String why = "the shutdown channel closed: DEVICE_CLOSED: the host stopped the service";
            for (String what : List.of("serve", "poll")) {
                IcException e = assertInstanceOf(IcException.class, seen.poll(10, TimeUnit.SECONDS), what);
                assertEquals(why, e.getMessage(), what);
                assertEquals(ChannelClosedReason.DEVICE_CLOSED,
                        assertInstanceOf(ChannelClosedException.class, e.getCause()).closure().reason());
            }
            assertEquals("3.0", seen.poll(10, TimeUnit.SECONDS), "the version agreed before the close stays");
            String described = (String) seen.poll(10, TimeUnit.SECONDS);
            assertTrue(described.startsWith("ShutdownGuest[GuestChannel[") && described.endsWith(
                    ", DEVICE_CLOSED: the host stopped the service]]"), described);
            assertEquals("closed", seen.poll(10, TimeUnit.SECONDS), "closing a closed service does nothing");
            assertEquals(VmState.RUNNING, vm.state());
            vm.turnOff();
        }
    }

    /**
     * The parent closes the channel while the handler decides: the accepted answer cannot be sent,
     * so the serve fails, nothing counts as answered and the library does not power the VM off.
     */
    @Test
    void anAnswerTheClosedChannelCannotCarryFailsTheServeAndDoesNotPowerOff() throws Exception {
        ScriptedShutdownParent parent = new ScriptedShutdownParent(ch -> {
            send(ch, 1, negotiation(1));
            send(ch, 2, shutdownRequest(2, V3, 0, 30, 0, "now"));
        });
        CountDownLatch deciding = new CountDownLatch(1);
        CountDownLatch decide = new CountDownLatch(1);
        try (Hypervisor h = TestVms.hypervisor(dir, parent)) {
            VirtualMachine vm = TestVms.vm(h, "vm", 1);
            BlockingQueue<Object> seen = new LinkedBlockingQueue<>();
            vm.start(ctx -> {
                ShutdownGuest shutdown = ShutdownGuest.open(ctx, IcVms.icPages(ctx));
                try {
                    shutdown.serve(request -> {
                        deciding.countDown();
                        ctx.blocking(() -> decide.await(10, TimeUnit.SECONDS));
                        return ShutdownGuest.Answer.accept();
                    }, IcVms.WAIT);
                    seen.add("serve returned");
                } catch (IcException e) {
                    seen.add(e);
                }
                seen.add(shutdown.requests());
                IcVms.idle(ctx);
            });
            assertTrue(deciding.await(10, TimeUnit.SECONDS), "the handler never got the request");
            assertEquals(IcMessage.TYPE_NEGOTIATE, parent.nextAnswer().header().type()); // read before the close
            parent.channel().close(ChannelClosedReason.DEVICE_CLOSED, "the host gave up");
            decide.countDown();
            IcException e = assertInstanceOf(IcException.class, seen.poll(10, TimeUnit.SECONDS));
            assertEquals("the shutdown channel closed: DEVICE_CLOSED: the host gave up", e.getMessage());
            assertEquals(0L, seen.poll(10, TimeUnit.SECONDS));
            assertEquals(VmState.RUNNING, vm.state());
            assertNull(parent.answers.poll(50, TimeUnit.MILLISECONDS), "an answer went out on a closed channel");
            vm.turnOff();
        }
    }
}
