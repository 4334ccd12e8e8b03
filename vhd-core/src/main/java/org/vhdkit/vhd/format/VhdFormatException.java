package org.vhdkit.vhd.format;

/**
 * An image, or a structure in one, was refused because a field does not hold what the VHD
 * specification (or the behaviour of real tools, where they agree) allows.
 *
 * <p>The message names the file, the field and the absolute byte offset of the field in the file,
 * so that a user can look at the bytes: {@code disk.vhd: dynamic header Max Table Entries at offset
 * 540 (0x21c): 1073741825 entries, but a disk of 136365211648 bytes needs at most 65025}.
 *
 * <p>One of the {@link RefusedInputException} family, which holds the fields and the message format.
 *
 * <p>Instances are immutable and safe to share between threads.
 */
public final class VhdFormatException extends RefusedInputException {
    private static final long serialVersionUID = 1L;

    /**
     * @param file    the file (or other source) the bytes came from, as the user named it
     * @param field   the structure and field, e.g. {@code "footer Cookie"}
     * @param offset  the absolute offset of the field in the file, or -1 when there is none
     * @param problem what is wrong, with the value found
     */
    public VhdFormatException(String file, String field, long offset, String problem) {
        super(file, field, offset, problem);
    }

    /** The file (or other source) the refused bytes came from. */
    public String file() {
        return source();
    }
}
