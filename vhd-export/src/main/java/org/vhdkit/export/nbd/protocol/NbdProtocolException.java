package org.vhdkit.export.nbd.protocol;

import java.io.IOException;

/**
 * A message the other end sent breaks the protocol: a wrong magic, a length that does not fit, a
 * string that is not UTF-8. Names the field and what was wrong with it.
 */
public final class NbdProtocolException extends IOException {
    private static final long serialVersionUID = 1L;

    private final String field;

    /**
     * @param field   the field of the message that was refused, e.g. {@code "request magic"}
     * @param message what was wrong with it, e.g. {@code "0x12345678, not 0x25609513"}
     */
    public NbdProtocolException(String field, String message) {
        super(field + ": " + message);
        this.field = field;
    }

    /** The field that was refused. Thread-safe (immutable). */
    public String field() {
        return field;
    }
}
