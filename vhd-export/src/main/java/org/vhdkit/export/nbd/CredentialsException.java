package org.vhdkit.export.nbd;

import org.vhdkit.vhd.format.RefusedInputException;

/**
 * A TLS credentials file (a pre-shared key file, a certificate or a private key) could not be read
 * or does not hold what it should. The message names the file, the line or item, and what is wrong:
 * {@code keys.psk: line 3: the key "12x4" is not hexadecimal}.
 *
 * <p>Instances are immutable and safe to share between threads.
 */
public final class CredentialsException extends RefusedInputException {
    private static final long serialVersionUID = 1L;

    /**
     * @param file    the file as the user named it
     * @param where   the line or item, e.g. {@code "line 3"} or {@code "private key"}
     * @param problem what is wrong with it
     */
    public CredentialsException(String file, String where, String problem) {
        super(file, where, -1, problem);
    }
}
