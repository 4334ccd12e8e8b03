package org.vhdkit.stack.protocol;

import org.vhdkit.vhd.format.RefusedInputException;

/**
 * Bytes that the other end of a channel sent were refused by a wire-format codec: a message is
 * truncated, longer than its format allows, or a field holds a value the format does not allow.
 * The checked exception of every codec under {@code org.vhdkit.stack.protocol}; like the VHD
 * format's {@code VhdFormatException} it is a {@link RefusedInputException} (an
 * {@link java.io.IOException}) and names where the problem is: the protocol, the field, and the
 * field's byte offset in the message.
 *
 * <p>A message reads {@code storage protocol: SRB CDB length at offset 8 (0x8): 17 bytes; at most 16}.
 *
 * <p>Immutable; safe to share between threads.
 */
public final class ProtocolException extends RefusedInputException {
    private static final long serialVersionUID = 1L;

    /**
     * @param protocol the wire format, e.g. {@code "storage protocol"}
     * @param field    the message and field, e.g. {@code "SRB CDB length"}
     * @param offset   the field's byte offset in the message, or -1 when the problem has no single place
     * @param problem  what is wrong, with the value found
     */
    public ProtocolException(String protocol, String field, long offset, String problem) {
        super(protocol, field, offset, problem);
    }

    /** The wire format whose codec refused the bytes. Thread-safe. */
    public String protocol() {
        return source();
    }
}
