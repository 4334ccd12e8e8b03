package org.vhdkit.vhd;

import java.util.Objects;
import java.util.Optional;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.image.ParentPool;
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
 * @param parents  the pool a differencing disk's parents are opened in and shared through, which
 *                 the caller owns; empty for a pool of the disk's own, closed with the disk
 */
public record OpenOptions(boolean readOnly, ByteStore.Backing backing, boolean openParent,
                          Optional<ParentPool> parents) {
    public OpenOptions {
        Objects.requireNonNull(backing, "backing");
        Objects.requireNonNull(parents, "parents");
    }

    /** Options whose disk opens its parents in a pool of its own, which it closes with itself. */
    public OpenOptions(boolean readOnly, ByteStore.Backing backing, boolean openParent) {
        this(readOnly, backing, openParent, Optional.empty());
    }

    /** Read-only, automatic backing. */
    public static final OpenOptions READ_ONLY = new OpenOptions(true, ByteStore.Backing.AUTO, true);

    /** Read-write, automatic backing. */
    public static final OpenOptions READ_WRITE = new OpenOptions(false, ByteStore.Backing.AUTO, true);

    /** These options with another backing. */
    public OpenOptions withBacking(ByteStore.Backing newBacking) {
        return new OpenOptions(readOnly, newBacking, openParent, parents);
    }

    /** These options, but leaving a differencing disk's parent closed. */
    public OpenOptions withoutParent() {
        return new OpenOptions(readOnly, backing, false, parents);
    }

    /**
     * These options, taking a differencing disk's parents from {@code pool}, shared with every other
     * disk opened through it; the caller closes the pool after those disks.
     */
    public OpenOptions withParents(ParentPool pool) {
        return new OpenOptions(readOnly, backing, openParent, Optional.of(pool));
    }
}
