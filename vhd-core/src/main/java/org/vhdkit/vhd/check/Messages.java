package org.vhdkit.vhd.check;

import org.vhdkit.vhd.format.VhdFormatException;

/**
 * The wording of findings, in the form of {@link VhdFormatException}'s messages without the file
 * name (a report names its file once): {@code footer Checksum at offset 512 (0x200): stored ...}.
 *
 * <p>Stateless; safe from any thread.
 */
final class Messages {
    private Messages() {
    }

    /** {@code <field> at offset <n> (0x<n>): <problem>}, or {@code <field>: <problem>} without an offset. */
    static String at(String field, long offset, String problem) {
        return offset < 0
                ? field + ": " + problem
                : String.format("%s at offset %d (0x%x): %s", field, offset, offset, problem);
    }

    /** A refusal of the decoders, worded as {@link #at}. */
    static String of(VhdFormatException refused) {
        return at(refused.field(), refused.offset(), refused.problem());
    }

    /** {@code [start, end)} with both ends in decimal. */
    static String range(long start, long end) {
        return "[" + start + ", " + end + ")";
    }
}
