package org.vhdkit.stack.protocol;

import java.io.IOException;
import java.util.Objects;

/**
 * Bytes that the other end of a channel sent were refused by a wire-format codec: a message is
 * truncated, longer than its format allows, or a field holds a value the format does not allow.
 * The checked exception of every codec under {@code org.vhdkit.stack.protocol}; like the VHD
 * format's {@code VhdFormatException} it extends {@link IOException} and names where the problem is:
 * the protocol (and message), the field, and the field's byte offset in the message.
 *
 * <p>A message reads {@code storage protocol: SRB CDB length at offset 8 (0x8): 17 bytes; at most 16}.
 *
 * <p>Immutable; safe to share between threads.
 */
public final class ProtocolException extends IOException {
    private static final long serialVersionUID = 1L;

    private final String protocol;
    private final String field;
    private final long offset;
    private final String problem;

    /**
     * @param protocol the wire format, e.g. {@code "storage protocol"}
     * @param field    the message and field, e.g. {@code "SRB CDB length"}
     * @param offset   the field's byte offset in the message, or -1 when the problem has no single place
     * @param problem  what is wrong, with the value found
     */
    public ProtocolException(String protocol, String field, long offset, String problem) {
        super(format(protocol, field, offset, problem));
        this.protocol = Objects.requireNonNull(protocol, "protocol");
        this.field = Objects.requireNonNull(field, "field");
        this.offset = offset;
        this.problem = Objects.requireNonNull(problem, "problem");
    }

    private static String format(String protocol, String field, long offset, String problem) {
        return offset < 0
                ? String.format("%s: %s: %s", protocol, field, problem)
                : String.format("%s: %s at offset %d (0x%x): %s", protocol, field, offset, offset, problem);
    }

    /** The wire format whose codec refused the bytes. Thread-safe. */
    public String protocol() {
        return protocol;
    }

    /** The message and field refused. Thread-safe. */
    public String field() {
        return field;
    }

    /** The field's byte offset in the message, or -1. Thread-safe. */
    public long offset() {
        return offset;
    }

    /** What is wrong, without protocol, field and offset. Thread-safe. */
    public String problem() {
        return problem;
    }
}
