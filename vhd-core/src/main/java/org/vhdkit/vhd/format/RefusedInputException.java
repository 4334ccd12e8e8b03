package org.vhdkit.vhd.format;

import java.io.IOException;
import java.util.Objects;

/**
 * The one checked exception family for refused input: bytes from a file or a peer were refused
 * because a field does not hold what their format allows. The message names where the bytes came
 * from, the field and its byte offset, so that a user can look at them:
 * {@code source: field at offset 540 (0x21c): problem}, or {@code source: field: problem} when the
 * problem has no single place.
 *
 * <p>Subclasses name the format: {@link VhdFormatException} for VHD images, and the storage
 * stack's wire-format codecs have theirs.
 *
 * <p>Instances are immutable and safe to share between threads.
 */
public abstract class RefusedInputException extends IOException {
    private static final long serialVersionUID = 1L;

    private final String source;
    private final String field;
    private final long offset;
    private final String problem;

    /**
     * @param source  where the bytes came from (a file as the user named it, a protocol)
     * @param field   the structure and field, e.g. {@code "footer Cookie"}
     * @param offset  the field's byte offset in the source, or -1 when there is none
     * @param problem what is wrong, with the value found
     */
    protected RefusedInputException(String source, String field, long offset, String problem) {
        super(format(source, field, offset, problem));
        this.source = Objects.requireNonNull(source, "source");
        this.field = Objects.requireNonNull(field, "field");
        this.offset = offset;
        this.problem = Objects.requireNonNull(problem, "problem");
    }

    private static String format(String source, String field, long offset, String problem) {
        return offset < 0
                ? String.format("%s: %s: %s", source, field, problem)
                : String.format("%s: %s at offset %d (0x%x): %s", source, field, offset, offset, problem);
    }

    /** Where the refused bytes came from. Thread-safe. */
    public final String source() {
        return source;
    }

    /** The structure and field that was refused. Thread-safe. */
    public final String field() {
        return field;
    }

    /** The field's byte offset in the source, or -1 when the problem has no single place. Thread-safe. */
    public final long offset() {
        return offset;
    }

    /** What is wrong with the field, without source, field and offset. Thread-safe. */
    public final String problem() {
        return problem;
    }
}
