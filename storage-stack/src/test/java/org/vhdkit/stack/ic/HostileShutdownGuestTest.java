package org.vhdkit.stack.ic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.vhdkit.stack.guest.GuestPages;
import org.vhdkit.stack.guest.ic.ShutdownGuest;
import org.vhdkit.stack.guest.vmbus.GuestChannel;
import org.vhdkit.stack.guest.vmbus.VmbusGuest;
import org.vhdkit.stack.partition.GuestContext;
import org.vhdkit.stack.protocol.ic.IcHeader;
import org.vhdkit.stack.protocol.ic.IcMessage;
import org.vhdkit.stack.protocol.ic.Negotiate;
import org.vhdkit.stack.storage.SyntheticStorage;
import org.vhdkit.stack.testvm.TestVms;
import org.vhdkit.stack.vm.Hypervisor;
import org.vhdkit.stack.vm.VirtualMachine;
import org.vhdkit.stack.vm.VmException;
import org.vhdkit.stack.vm.VmState;
import org.vhdkit.stack.vmbus.ChannelClosedReason;
import org.vhdkit.stack.vmbus.ChannelClosure;
import org.vhdkit.stack.vmbus.ChannelOffer;
import org.vhdkit.stack.vmbus.VmbusPacket;

/** A guest writing garbage on the shutdown channel loses the channel; the VM and the parent go on. */
@Timeout(60)
class HostileShutdownGuestTest {
    static final String NOT_OPEN = "cannot shut down 'vm': its guest has not opened the shutdown integration channel"
            + " on VMBus (its integration services are not running); turn it off instead";

    @TempDir
    Path dir;

    /** A well-formed answer to the parent's negotiation (transaction 1, versions 3.0 and 3.0). */
    static byte[] goodNegotiation() {
        MemorySegment m = MemorySegment.ofArray(new byte[IcMessage.HEADER + 16]);
        int payload = new Negotiate(new int[] {IcMessage.FRAMEWORK_3_0}, new int[] {IcMessage.SHUTDOWN_3_0}).encode(m);
        new IcHeader(IcMessage.FRAMEWORK_3_0, IcMessage.TYPE_NEGOTIATE, IcMessage.FRAMEWORK_3_0, payload,
                IcMessage.S_OK, 1, IcMessage.RESPONSE).encode(m);
        return m.toArray(ValueLayout.JAVA_BYTE);
    }

    static Arguments garbage(String name, UnaryOperator<byte[]> mutate) {
        return Arguments.of(name, mutate);
    }

    static byte[] put(byte[] b, int at, int value, int size) {
        for (int i = 0; i < size; i++) {
            b[at + i] = (byte) (value >>> (8 * i));
        }
        return b;
    }

    static Stream<Arguments> garbage() {
        return Stream.of(
                garbage("shorter than a header", b -> new byte[] {1, 2, 3, 4}),
                garbage("a request instead of an answer", b -> put(b, IcMessage.FLAGS, 3, 1)),
                garbage("no flags", b -> put(b, IcMessage.FLAGS, 0, 1)),
                garbage("another transaction", b -> put(b, IcMessage.TRANSACTION, 99, 1)),
                garbage("an answer of another type", b -> put(b, IcMessage.TYPE, IcMessage.TYPE_SHUTDOWN, 2)),
                garbage("an unknown type", b -> put(b, IcMessage.TYPE, 0xFFFF, 2)),
                garbage("a version not offered", b -> put(b, IcMessage.NEGOTIATE_VERSIONS + 4, 9, 2)),
                garbage("two framework versions chosen", b -> put(b, IcMessage.NEGOTIATE_FRAME_COUNT, 2, 2)),
                garbage("a framework the parent does not speak", b -> put(b, IcMessage.FRAME_MAJOR, 7, 2)),
                garbage("a pipe size past the packet", b -> put(b, IcMessage.PIPE_SIZE, 0x7FFF_FFFF, 4)),
                garbage("a payload size past the packet", b -> put(b, IcMessage.PAYLOAD_SIZE, 0xFFFF, 2)),
                garbage("pipe flags", b -> put(b, IcMessage.PIPE_FLAGS, -1, 4)),
                garbage("an odd status", b -> put(b, IcMessage.STATUS, 0x1234, 4)),
                garbage("a long message", b -> new byte[8000]),
                garbage("random bytes", b -> {
                    byte[] r = new byte[200];
                    new Random(4).nextBytes(r);
                    return r;
                }));
    }

    /** Opens the shutdown channel raw, reads the parent's negotiation, sends {@code answer}. */
    static GuestChannel sendRaw(GuestContext ctx, VmbusGuest bus, long[] pfns, byte[] answer) throws Exception {
        ChannelOffer offer = bus.offer(ChannelOffer.SHUTDOWN).orElseThrow();
        GuestChannel ch = bus.open(offer, pfns, 3);
        VmbusPacket p = new VmbusPacket();
        assertTrue(ctx.blocking(() -> ch.receive(p, 5, TimeUnit.SECONDS)), "no negotiation from the parent");
        ctx.blocking(() -> {
            ch.sendInBand(p.transactionId(), false, MemorySegment.ofArray(answer), 0, answer.length);
            return null;
        });
        return ch;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("garbage")
    void garbageClosesTheChannelOnly(String name, UnaryOperator<byte[]> mutate) throws Exception {
        try (Hypervisor h = TestVms.hypervisor(dir, SyntheticStorage.create(), IntegrationServices.create())) {
            VirtualMachine vm = TestVms.vm(h, "vm", 1);
            BlockingQueue<String> sent = new ArrayBlockingQueue<>(1);
            vm.start(ctx -> {
                VmbusGuest bus = VmbusGuest.of(ctx).orElseThrow();
                GuestPages pages = IcVms.icPages(ctx);
                sendRaw(ctx, bus, GuestPages.frames(pages.allocate(ShutdownGuest.RING_PAGES), ShutdownGuest.RING_PAGES),
                        mutate.apply(goodNegotiation()));
                sent.add("sent");
                while (true) {
                    ctx.safePoint();
                    Thread.sleep(1);
                }
            });
            assertEquals("sent", sent.poll(5, TimeUnit.SECONDS));
            ChannelClosure why = awaitClosure(vm);
            assertEquals(ChannelClosedReason.DEVICE_REFUSED, why.reason(), why.toString());
            assertEquals(VmState.RUNNING, vm.state());
            assertEquals(NOT_OPEN, org.junit.jupiter.api.Assertions.assertThrows(VmException.class,
                    () -> vm.shutDown(IcVms.WAIT)).getMessage());
            vm.turnOff();
            assertEquals(VmState.OFF, vm.state());
        }
    }

    @Test
    void aGuestMayReopenAfterGarbageAndRandomMutationsNeverHurtTheParent() throws Exception {
        try (Hypervisor h = TestVms.hypervisor(dir, SyntheticStorage.create(), IntegrationServices.create())) {
            VirtualMachine vm = TestVms.vm(h, "vm", 1);
            BlockingQueue<String> done = new ArrayBlockingQueue<>(1);
            vm.start(ctx -> {
                VmbusGuest bus = VmbusGuest.of(ctx).orElseThrow();
                long[] pfns = GuestPages.frames(IcVms.IC_PAGES, ShutdownGuest.RING_PAGES);
                Random random = new Random(11);
                int refused = 0;
                int accepted = 0;
                for (int i = 0; i < 40; i++) {
                    byte[] answer = goodNegotiation();
                    for (int flips = 1 + random.nextInt(3); flips > 0; flips--) {
                        answer[random.nextInt(answer.length)] ^= (byte) (1 << random.nextInt(8));
                    }
                    GuestChannel ch = sendRaw(ctx, bus, pfns, answer);
                    // The parent decides each answer, however long it takes: it closes the channel
                    // (refused) or agrees on a version (accepted, a flip it does not read).
                    while (ch.isOpen() && !IntegrationServices.shutdownReady(vm)) {
                        ctx.safePoint();
                        Thread.onSpinWait();
                    }
                    if (ch.isOpen()) {
                        accepted++;
                    } else {
                        refused++;
                    }
                    ch.close();
                    while (IntegrationServices.shutdownReady(vm)) { // the parent saw the close
                        ctx.safePoint();
                        Thread.onSpinWait();
                    }
                }
                done.add("refused " + (refused > 0) + ", decided " + (refused + accepted));
                try (ShutdownGuest shutdown = ShutdownGuest.open(ctx, new GuestPages(ctx.memory(),
                        IcVms.IC_PAGES, IcVms.IC_PAGES_LENGTH))) {
                    shutdown.serve();
                }
            });
            assertEquals("refused true, decided 40", done.poll(50, TimeUnit.SECONDS));
            IcVms.awaitReady(vm);
            vm.shutDown(IcVms.WAIT);
            assertEquals(VmState.OFF, vm.state());
            assertEquals("the guest powered off", vm.lastStopReason().orElseThrow());
        }
    }

    static ChannelClosure awaitClosure(VirtualMachine vm) throws InterruptedException {
        long deadline = System.nanoTime() + IcVms.WAIT.toNanos();
        while (true) {
            var closure = IntegrationServices.shutdownClosure(vm);
            if (closure.isPresent()) {
                return closure.get();
            }
            assertTrue(System.nanoTime() < deadline, "the parent did not close the shutdown channel");
            Thread.sleep(1);
        }
    }
}
