package org.vhdkit.vhd;

import java.util.Objects;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.io.ByteStore;

/**
 * How {@link Vhd#open} opens an image.
 *
 * @param readOnly whether to open for reading only (a shared lock) rather than for writing (an
 *                 exclusive lock); the parents of a differencing disk are always read-only
 * @param backing  how the file's bytes are reached; {@link ByteStore.Backing#AUTO} maps files on the
 *                 default file system
 * @param openParent whether to find and open a differencing disk's parent chain. Without it the disk
 *                 stands alone: {@link VhdDisk#parent()} is empty, {@link VirtualDisk#extents} reports
 *                 what it does not hold as layer 1, and reading such bytes throws an
 *                 {@link java.io.IOException}. Tools that rewrite the parent (merge) or relink the
 *                 child (rebase) open it this way.
 */
public record OpenOptions(boolean readOnly, ByteStore.Backing backing, boolean openParent) {
    public OpenOptions {
        Objects.requireNonNull(backing, "backing");
    }

    /** Read-only, automatic backing. */
    public static final OpenOptions READ_ONLY = new OpenOptions(true, ByteStore.Backing.AUTO, true);

    /** Read-write, automatic backing. */
    public static final OpenOptions READ_WRITE = new OpenOptions(false, ByteStore.Backing.AUTO, true);

    /** These options with another backing. */
    public OpenOptions withBacking(ByteStore.Backing newBacking) {
        return new OpenOptions(readOnly, newBacking, openParent);
    }

    /** These options, but leaving a differencing disk's parent closed. */
    public OpenOptions withoutParent() {
        return new OpenOptions(readOnly, backing, false);
    }
}
