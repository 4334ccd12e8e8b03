package org.vhdkit.stack.guest.ide;

import java.io.IOException;

/**
 * A command the IDE driver issued failed: the drive ended it with ERR (the status and error
 * registers are kept), refused it, or never answered. For an ATAPI packet the sense key is the
 * high nibble of the error register.
 */
public final class IdeException extends IOException {
    private static final long serialVersionUID = 1L;
    private final int status;
    private final int error;

    public IdeException(String message, int status, int error) {
        super(message + String.format(" (status 0x%02X, error 0x%02X)", status, error));
        this.status = status;
        this.error = error;
    }

    /** The status register when the command ended. */
    public int status() {
        return status;
    }

    /** The error register when the command ended. */
    public int error() {
        return error;
    }

    /** For an ATAPI command: the sense key (the error register's high nibble). */
    public int senseKey() {
        return error >>> 4;
    }
}
