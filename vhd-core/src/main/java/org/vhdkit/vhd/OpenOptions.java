package org.vhdkit.vhd;

import java.util.Objects;
import org.vhdkit.vhd.io.ByteStore;

/**
 * How {@link Vhd#open} opens an image.
 *
 * @param readOnly whether to open for reading only (a shared lock) rather than for writing (an
 *                 exclusive lock); the parents of a differencing disk are always read-only
 * @param backing  how the file's bytes are reached; {@link ByteStore.Backing#AUTO} maps files on the
 *                 default file system
 */
public record OpenOptions(boolean readOnly, ByteStore.Backing backing) {
    public OpenOptions {
        Objects.requireNonNull(backing, "backing");
    }

    /** Read-only, automatic backing. */
    public static final OpenOptions READ_ONLY = new OpenOptions(true, ByteStore.Backing.AUTO);

    /** Read-write, automatic backing. */
    public static final OpenOptions READ_WRITE = new OpenOptions(false, ByteStore.Backing.AUTO);

    /** These options with another backing. */
    public OpenOptions withBacking(ByteStore.Backing newBacking) {
        return new OpenOptions(readOnly, newBacking);
    }
}
