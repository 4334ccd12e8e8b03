package org.vhdkit.stack.protocol.vmbus;

/**
 * The VMBus packet types the ring carries, with their wire codes.
 *
 * <p>Immutable; safe to share between threads.
 */
public enum PacketType {
    /** Data carried in the ring itself. */
    IN_BAND(6),
    /** Ranges of a transfer page set the two sides agreed on beforehand (networking). */
    TRANSFER_PAGES(7),
    /** Ranges of guest physical pages, then in-band data (storage requests). */
    GPA_DIRECT(9),
    /** The answer to a packet sent with completion requested; carries its transaction id. */
    COMPLETION(11);

    private final int code;

    PacketType(int code) {
        this.code = code;
    }

    /** The u16 type field on the wire. */
    public int code() {
        return code;
    }

    /** The type with wire code {@code code}, or null for any other value. Thread-safe. */
    public static PacketType of(int code) {
        return switch (code) {
            case 6 -> IN_BAND;
            case 7 -> TRANSFER_PAGES;
            case 9 -> GPA_DIRECT;
            case 11 -> COMPLETION;
            default -> null;
        };
    }
}
