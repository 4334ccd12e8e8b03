package org.vhdkit.vhd.check;

import java.io.IOException;
import org.vhdkit.vhd.format.Footer;
import org.vhdkit.vhd.format.VhdFormatException;
import org.vhdkit.vhd.io.ByteStore;

/**
 * What one footer-sized range of the file holds: a valid footer, a footer whose only fault is its
 * checksum, or something the decoder refuses.
 *
 * <p>Records are immutable and safe to share between threads.
 *
 * @param position where the range starts in the file
 * @param length   512, or 511 for the short trailer old Virtual PC versions wrote
 * @param state    what was found
 * @param footer   the footer decoded, with its checksum as stored; null when {@link State#DAMAGED}
 * @param problem  why the decoder refused it (for {@link State#BAD_CHECKSUM}, the checksum; for
 *                 {@link State#DAMAGED}, the first other field refused); null when {@link State#VALID}
 */
record FooterProbe(long position, int length, State state, Footer footer, VhdFormatException problem) {
    /** What a footer range holds. */
    enum State {
        /** A footer the library accepts. */
        VALID,
        /** A footer whose fields are all valid but whose stored checksum is not the computed one. */
        BAD_CHECKSUM,
        /** Not a footer: a wrong cookie, or a field refused. */
        DAMAGED
    }

    /** Decodes the {@code length} bytes at {@code position} (a 511-byte range as if followed by a zero). */
    static FooterProbe read(ByteStore store, long position, int length) throws IOException {
        String name = store.path().toString();
        byte[] bytes = new byte[Footer.SIZE];
        System.arraycopy(store.readBytes(position, length), 0, bytes, 0, length);
        try {
            return new FooterProbe(position, length, State.VALID, Footer.decode(name, bytes, 0, position), null);
        } catch (VhdFormatException refused) {
            try {
                Footer fields = Footer.decodeIgnoringChecksum(name, bytes, 0, position);
                return new FooterProbe(position, length, State.BAD_CHECKSUM, fields, refused);
            } catch (VhdFormatException damaged) {
                return new FooterProbe(position, length, State.DAMAGED, null, damaged);
            }
        }
    }

    boolean isValid() {
        return state == State.VALID;
    }

    /** Whether the fields can be trusted: valid, or wrong only in the checksum. */
    boolean hasSoundFields() {
        return state != State.DAMAGED;
    }

    /** The refusal as a finding's message: field, offset and problem, without the file name. */
    String problemMessage() {
        return Messages.of(problem);
    }
}
