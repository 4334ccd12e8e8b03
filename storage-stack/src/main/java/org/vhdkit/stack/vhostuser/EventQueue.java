package org.vhdkit.stack.vhostuser;

import static org.vhdkit.stack.protocol.vhostuser.VirtioScsi.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import org.vhdkit.stack.protocol.vhostuser.VirtioScsi;

/**
 * The virtio-scsi event queue: the driver leaves device-writable buffers here and the device fills
 * one per event. Events wait in a bounded list until a buffer comes; when more wait than
 * {@link #MAX_PENDING} the oldest is dropped and the next event delivered carries
 * VIRTIO_SCSI_T_EVENTS_MISSED, after which a driver rescans everything.
 *
 * <p>Thread-safety: {@link #post} from any thread; the pending list and the missed flag are guarded
 * by the list's monitor. {@link #serve} on the queue's worker.
 */
final class EventQueue implements Virtqueue.Service {
    static final int MAX_PENDING = 64;
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** An event: type, LUN, reason. */
    record Event(int type, int lun, int reason) {
    }

    private final ArrayDeque<Event> pending = new ArrayDeque<>();
    /** Guarded by pending. */
    private boolean missed;
    private MemorySegment event;

    @Override
    public void started(Arena arena) {
        event = arena.allocate(EVENT_LENGTH);
    }

    /** Queues {@code e} for the next buffer the driver leaves. */
    void post(Event e) {
        synchronized (pending) {
            if (pending.size() == MAX_PENDING) {
                pending.removeFirst();
                missed = true;
            }
            pending.addLast(e);
        }
    }

    /** Drops every pending event (the device was reset). */
    void clear() {
        synchronized (pending) {
            pending.clear();
            missed = false;
        }
    }

    @Override
    public boolean wantsChains() {
        synchronized (pending) {
            return !pending.isEmpty();
        }
    }

    @Override
    public int serve(DescriptorChain chain, Virtqueue.Scratch scratch) {
        if (chain.writableLength < EVENT_LENGTH) {
            return -1;
        }
        Event e;
        boolean wasMissed;
        synchronized (pending) {
            e = pending.pollFirst();
            wasMissed = missed;
            missed = false;
        }
        if (e == null) {
            return -1;
        }
        event.set(U32, 0, e.type() | (wasMissed ? T_EVENTS_MISSED : 0));
        VirtioScsi.putLun(event, 4, e.lun());
        event.set(U32, 12, e.reason());
        chain.write(0, event, EVENT_LENGTH);
        return EVENT_LENGTH;
    }
}
