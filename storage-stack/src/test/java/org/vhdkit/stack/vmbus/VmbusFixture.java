package org.vhdkit.stack.vmbus;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.vhdkit.stack.guest.vmbus.GuestChannel;
import org.vhdkit.stack.guest.vmbus.VmbusGuest;
import org.vhdkit.stack.memory.GuestMemory;
import org.vhdkit.stack.protocol.vmbus.PacketType;

/** A partition with guest memory, its VMBus server, and a bump allocator for guest pages. */
final class VmbusFixture implements AutoCloseable {
    static final int PAGE = GuestMemory.PAGE_SIZE;

    final GuestMemory memory;
    final VmbusServer server;
    final VmbusGuest guest;
    private long nextPfn = 1;

    VmbusFixture(String name, int pages) {
        this(name, pages, VmbusServer.DEFAULT_POLL);
    }

    VmbusFixture(String name, int pages, Duration poll) {
        memory = GuestMemory.allocate(name, (long) pages * PAGE);
        server = VmbusServer.create(memory, poll);
        guest = VmbusGuest.on(server.guest());
    }

    /** {@code n} fresh pages, contiguous. */
    synchronized long[] pages(int n) {
        long[] pfns = new long[n];
        for (int i = 0; i < n; i++) {
            pfns[i] = nextPfn++;
        }
        return pfns;
    }

    /** {@code n} fresh pages in a scattered order (every other page, reversed in pairs). */
    synchronized long[] scatteredPages(int n) {
        long[] pfns = new long[n];
        long base = nextPfn;
        for (int i = 0; i < n; i++) {
            pfns[i] = base + 2L * (n - 1 - i);
        }
        nextPfn = base + 2L * n;
        return pfns;
    }

    ChannelOffer offer(VmbusDevice device) throws VmbusException {
        return server.offer(ChannelOffer.STORAGE, UUID.randomUUID(), device);
    }

    /** Opens {@code offer} with rings of {@code outbound} and {@code inbound} pages (control page included). */
    GuestChannel open(ChannelOffer offer, int outbound, int inbound) throws VmbusException {
        return guest.open(offer, scatteredPages(outbound + inbound), outbound);
    }

    @Override
    public void close() {
        server.close();
        memory.close();
    }

    static MemorySegment longs(long... values) {
        MemorySegment s = MemorySegment.ofArray(new byte[values.length * 8]);
        for (int i = 0; i < values.length; i++) {
            s.set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN),
                    8L * i, values[i]);
        }
        return s;
    }

    /**
     * Answers every packet that asks for a completion: in-band with its payload echoed; GPA direct
     * (like a disk read) by filling every run with the low byte of the transaction id and completing
     * with the number of bytes written. Records how the channel closed.
     */
    static class EchoDevice implements VmbusDevice {
        final CompletableFuture<ChannelClosure> closed = new CompletableFuture<>();
        final CompletableFuture<ParentChannel> opened = new CompletableFuture<>();
        private final MemorySegment scratch = MemorySegment.ofArray(new byte[VmbusPacket.MAX_LENGTH]);
        volatile long packets;

        @Override
        public void opened(ParentChannel channel) {
            opened.complete(channel);
        }

        @Override
        public void packet(ParentChannel channel, VmbusPacket packet) throws VmbusException, InterruptedException {
            packets++;
            if (!packet.completionRequested()) {
                return;
            }
            if (packet.type() == PacketType.GPA_DIRECT) {
                long total = 0;
                for (int run = 0; run < packet.runCount(); run++) {
                    try {
                        channel.memory().slice(packet.runGpa(run), packet.runLength(run))
                                .fill((byte) packet.transactionId());
                    } catch (org.vhdkit.stack.memory.GuestMemoryException e) {
                        throw new AssertionError("a validated run lies outside guest memory", e);
                    }
                    total += packet.runLength(run);
                }
                channel.sendCompletion(packet.transactionId(), longs(total), 0, 8);
            } else {
                int length = packet.payloadLength();
                packet.copyPayload(0, scratch, 0, length);
                channel.sendCompletion(packet.transactionId(), scratch, 0, length);
            }
        }

        @Override
        public void closed(ParentChannel channel, ChannelClosure closure) {
            closed.complete(closure);
        }

        ChannelClosure awaitClosed() throws Exception {
            return closed.get(10, TimeUnit.SECONDS);
        }
    }
}
