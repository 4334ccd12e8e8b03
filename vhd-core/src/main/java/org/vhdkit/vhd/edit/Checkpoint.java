package org.vhdkit.vhd.edit;

import java.io.IOException;

/**
 * Told each time an edit has made one of its steps durable. The edits call it between steps so that
 * tests can stop there, as a crash would, and check what the files hold at that moment; outside
 * tests it is {@link #NONE}.
 *
 * <p>Thread-safety: called from the thread doing the edit.
 */
@FunctionalInterface
interface Checkpoint {
    /** Goes on. */
    Checkpoint NONE = step -> {
    };

    /** {@code step} names what was just made durable, e.g. {@code "header written"}. */
    void reached(String step) throws IOException;
}
