package org.vhdkit.vhd.format;

import java.io.IOException;
import java.util.Objects;

/**
 * An image, or a structure in one, was refused because a field does not hold what the VHD
 * specification (or the behaviour of real tools, where they agree) allows.
 *
 * <p>The message names the file, the field and the absolute byte offset of the field in the file,
 * so that a user can look at the bytes: {@code disk.vhd: dynamic header Max Table Entries at offset
 * 540 (0x21c): 1073741825 entries, but a disk of 136365211648 bytes needs at most 65025}.
 *
 * <p>Instances are immutable and safe to share between threads.
 */
public final class VhdFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    private final String file;
    private final String field;
    private final long offset;
    private final String problem;

    /**
     * @param file    the file (or other source) the bytes came from, as the user named it
     * @param field   the structure and field, e.g. {@code "footer Cookie"}
     * @param offset  the absolute offset of the field in the file, or -1 when there is none
     * @param problem what is wrong, with the value found
     */
    public VhdFormatException(String file, String field, long offset, String problem) {
        super(format(file, field, offset, problem));
        this.file = Objects.requireNonNull(file, "file");
        this.field = Objects.requireNonNull(field, "field");
        this.offset = offset;
        this.problem = Objects.requireNonNull(problem, "problem");
    }

    private static String format(String file, String field, long offset, String problem) {
        return offset < 0
                ? String.format("%s: %s: %s", file, field, problem)
                : String.format("%s: %s at offset %d (0x%x): %s", file, field, offset, offset, problem);
    }

    /** The file (or other source) the refused bytes came from. */
    public String file() {
        return file;
    }

    /** The structure and field that was refused, e.g. {@code "footer Checksum"}. */
    public String field() {
        return field;
    }

    /** The absolute offset of the field in the file, or -1 when the problem has no single place. */
    public long offset() {
        return offset;
    }

    /** What is wrong with the field, without the file, field and offset. */
    public String problem() {
        return problem;
    }
}
