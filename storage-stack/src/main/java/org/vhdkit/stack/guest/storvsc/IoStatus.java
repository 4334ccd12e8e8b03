package org.vhdkit.stack.guest.storvsc;

/**
 * How a request submitted to a {@link StorvscDisk} ended, as the guest driver sees it.
 *
 * <p>Immutable.
 */
public enum IoStatus {
    /** Still in flight. */
    PENDING,
    /** Completed GOOD: the data moved. */
    OK,
    /**
     * The disk answered CHECK CONDITION: its sense key, ASC and ASCQ are kept with the request
     * (ILLEGAL REQUEST for an LBA past the end, DATA PROTECT for a write to a read-only disk, MEDIUM
     * ERROR when the host failed). A unit attention is not reported here: the driver rescans and
     * retries the request itself.
     */
    CHECK_CONDITION,
    /** No disk at the LUN any more (hot removed); the driver rescans. */
    NO_DEVICE,
    /** The parent refused the request without executing it (a transfer over the maximum, a bad direction). */
    REFUSED
}
