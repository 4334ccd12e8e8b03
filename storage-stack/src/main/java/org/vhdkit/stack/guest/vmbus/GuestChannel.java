package org.vhdkit.stack.guest.vmbus;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.vhdkit.stack.protocol.vmbus.PacketType;
import org.vhdkit.stack.vmbus.ChannelClosedException;
import org.vhdkit.stack.vmbus.ChannelClosure;
import org.vhdkit.stack.vmbus.ChannelOffer;
import org.vhdkit.stack.vmbus.GpaRangeList;
import org.vhdkit.stack.vmbus.GuestEnd;
import org.vhdkit.stack.protocol.vmbus.PacketType;
import org.vhdkit.stack.vmbus.VmbusPacket;

/**
 * The guest's side of one open channel, for guest programs (a VSC, an integration service): send
 * in-band and GPA-direct packets with transaction ids, receive completions and the parent's
 * packets. Receiving polls briefly, then unmasks the parent's interrupt and parks; sending into a
 * full ring sets the pending send size and parks until the parent has read enough.
 *
 * <p>Thread-safety: any threads may send and receive at once; sends are serialized by the
 * channel's send lock and receives by its receive lock. {@link #close} may be called from any
 * thread; operations after it throw {@link ChannelClosedException}.
 */
public final class GuestChannel implements AutoCloseable {
    private final GuestEnd end;

    GuestChannel(GuestEnd end) {
        this.end = end;
    }

    /** The port-level end this channel drives (tests that play a hostile guest reach its rings). */
    public GuestEnd end() {
        return end;
    }

    /** The offer this channel was opened on. */
    public ChannelOffer offer() {
        return end.offer();
    }

    /** The GPADL the rings live in. */
    public int gpadl() {
        return end.gpadl();
    }

    /** Whether the channel is still open. */
    public boolean isOpen() {
        return end.isOpen();
    }

    /** Why the channel closed, or null while it is open. */
    public ChannelClosure closure() {
        return end.closure();
    }

    /** Signals this guest raised to the parent on this channel. */
    public long signalsToParent() {
        return end.signalsToParent();
    }

    /** Interrupts the parent raised to this guest on this channel. */
    public long interruptsFromParent() {
        return end.interruptsFromParent();
    }

    /** Sends an in-band packet if the ring has room now; false if not. */
    public boolean trySendInBand(long transactionId, boolean completionRequested, MemorySegment payload, long offset,
            int length) throws ChannelClosedException {
        return trySend(PacketType.IN_BAND, completionRequested, transactionId, null, payload, offset, length);
    }

    /** Sends an in-band packet, waiting for room as long as the channel is open. */
    public void sendInBand(long transactionId, boolean completionRequested, MemorySegment payload, long offset,
            int length) throws ChannelClosedException, InterruptedException {
        end.send(PacketType.IN_BAND, completionRequested, transactionId, null, payload, offset, length,
                GuestEnd.FOREVER);
    }

    /** Sends a completion for the parent's transaction {@code transactionId} if there is room now. */
    public boolean trySendCompletion(long transactionId, MemorySegment payload, long offset, int length)
            throws ChannelClosedException {
        return trySend(PacketType.COMPLETION, false, transactionId, null, payload, offset, length);
    }

    /** Sends a completion, waiting for room as long as the channel is open. */
    public void sendCompletion(long transactionId, MemorySegment payload, long offset, int length)
            throws ChannelClosedException, InterruptedException {
        end.send(PacketType.COMPLETION, false, transactionId, null, payload, offset, length, GuestEnd.FOREVER);
    }

    /**
     * Sends a GPA-direct packet: {@code ranges} (guest memory the parent may read or write for this
     * request), then {@code length} in-band bytes of {@code payload}; false if there is no room now.
     */
    public boolean trySendGpaDirect(long transactionId, boolean completionRequested, GpaRangeList ranges,
            MemorySegment payload, long offset, int length) throws ChannelClosedException {
        return trySend(PacketType.GPA_DIRECT, completionRequested, transactionId, ranges, payload, offset, length);
    }

    /** Sends a GPA-direct packet, waiting for room as long as the channel is open. */
    public void sendGpaDirect(long transactionId, boolean completionRequested, GpaRangeList ranges,
            MemorySegment payload, long offset, int length) throws ChannelClosedException, InterruptedException {
        checkRanges(ranges);
        end.send(PacketType.GPA_DIRECT, completionRequested, transactionId, ranges, payload, offset, length,
                GuestEnd.FOREVER);
    }

    private boolean trySend(PacketType type, boolean completionRequested, long transactionId, GpaRangeList ranges,
            MemorySegment payload, long offset, int length) throws ChannelClosedException {
        if (type == PacketType.GPA_DIRECT) {
            checkRanges(ranges);
        }
        try {
            return end.send(type, completionRequested, transactionId, ranges, payload, offset, length, 0);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static void checkRanges(GpaRangeList ranges) {
        if (ranges.rangeCount() == 0) {
            throw new IllegalArgumentException("a GPA-direct packet needs at least one range");
        }
    }

    /** Reads the next packet into {@code packet} if one is there; false if the ring is empty. */
    public boolean tryReceive(VmbusPacket packet) throws ChannelClosedException {
        try {
            return end.receive(packet, 0);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Reads the next packet into {@code packet}, waiting as long as the channel is open. */
    public void receive(VmbusPacket packet) throws ChannelClosedException, InterruptedException {
        end.receive(packet, GuestEnd.FOREVER);
    }

    /** Reads the next packet into {@code packet}, waiting up to {@code timeout}; false if none came. */
    public boolean receive(VmbusPacket packet, long timeout, TimeUnit unit)
            throws ChannelClosedException, InterruptedException {
        return end.receive(packet, unit.toNanos(timeout));
    }

    /**
     * Closes the channel: the parent stops reading and writing its rings (this waits for that), and
     * a GPADL the library made for the channel is torn down. Closing twice does nothing.
     */
    @Override
    public void close() {
        end.close();
    }

    @Override
    public String toString() {
        return "GuestChannel[" + end.offer() + (isOpen() ? "" : ", " + closure()) + "]";
    }
}
