package org.vhdkit.stack.vmbus;

/**
 * Why the parent closed a channel or refused a guest's VMBus request. Reasons marked
 * {@linkplain #guestFault() guest faults} come from untrusted input the guest wrote (ring indices,
 * packet descriptors, GPA ranges, page lists) and are logged as warnings; the rest are ordinary ends.
 *
 * <p>Immutable; safe to share between threads.
 */
public enum ChannelClosedReason {
    /** The guest closed the channel. */
    GUEST_CLOSED(false),
    /** The device provider closed the channel. */
    DEVICE_CLOSED(false),
    /** The parent withdrew the offer (hot remove). */
    RESCINDED(false),
    /** The partition's VMBus server stopped (turn off, delete). */
    PARTITION_STOPPED(false),

    /** A request named a channel that is not offered. */
    NO_SUCH_CHANNEL(true),
    /** A request to open a channel that is already open. */
    ALREADY_OPEN(true),
    /** A request named a GPADL handle that is not registered. */
    NO_SUCH_GPADL(true),
    /** A GPADL was still in use by an open channel. */
    GPADL_IN_USE(true),
    /** A GPADL named a page outside the guest's memory. */
    GPADL_OUTSIDE_MEMORY(true),
    /** A GPADL was empty or longer than the parent accepts. */
    BAD_GPADL(true),
    /** The guest registered more GPADLs than the parent accepts. */
    TOO_MANY_GPADLS(true),
    /** The ring split inside the GPADL leaves a ring without a control page and a data page. */
    BAD_RING_LAYOUT(true),

    /** A write index read from a ring was not 8-aligned or not inside the data area. */
    BAD_WRITE_INDEX(true),
    /** A read index read from a ring was not 8-aligned or not inside the data area. */
    BAD_READ_INDEX(true),
    /** A packet was longer than the bytes available in the ring, or than the ring itself. */
    BAD_PACKET_LENGTH(true),
    /** A packet's data offset lay before the end of its descriptor or beyond its end. */
    BAD_DATA_OFFSET(true),
    /** A packet type other than in-band, transfer pages, GPA direct or completion. */
    BAD_PACKET_TYPE(true),
    /** Packet flags other than completion requested. */
    BAD_PACKET_FLAGS(true),
    /** A GPA-direct range count of zero, beyond the limit, or more than the packet holds. */
    BAD_GPA_RANGE_COUNT(true),
    /** A GPA range with no bytes, an offset past its first page, or more bytes than its pages. */
    BAD_GPA_RANGE(true),
    /** A GPA range named a page outside the guest's memory. */
    GPA_OUTSIDE_MEMORY(true),
    /** A transfer-page range list longer than the packet holds. */
    BAD_TRANSFER_RANGES(true),

    /** The device provider refused a packet it could not make sense of. */
    DEVICE_REFUSED(true),
    /** The device provider failed unexpectedly (a bug in the parent, logged with its stack). */
    DEVICE_FAILED(false),
    /** Guest memory could not be reached (closed under the channel): a lifecycle bug, logged. */
    MEMORY_FAULT(false);

    private final boolean guestFault;

    ChannelClosedReason(boolean guestFault) {
        this.guestFault = guestFault;
    }

    /** Whether the guest caused this by writing something the parent refuses. */
    public boolean guestFault() {
        return guestFault;
    }
}
