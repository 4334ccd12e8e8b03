package org.vhdkit.vhd.image;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.io.ByteStore;

/**
 * The parents of differencing disks opened through it, each opened read-only once and shared by
 * every child in the pool that links to it, so a common base costs one table in memory however
 * many children sit on it.
 *
 * <p>Whoever opens a chain owns its pool. {@link org.vhdkit.vhd.Vhd#open} makes one for the disk it
 * returns, which closes it when it is closed itself: chains opened apart share nothing but the
 * host file (see {@link ByteStore}). To share parents between chains (the disks of one VM, over
 * one base), make a pool, open each disk with {@link OpenOptions#withParents}, and close the pool
 * after them:
 *
 * <pre>{@code
 * try (ParentPool parents = new ParentPool();
 *      VhdDisk a = Vhd.open(childA, OpenOptions.READ_ONLY.withParents(parents));
 *      VhdDisk b = Vhd.open(childB, OpenOptions.READ_WRITE.withParents(parents))) {
 *     // a.parent().get() == b.parent().get() when both link to one base
 * }
 * }</pre>
 *
 * <p>A parent is closed when the last child holding it is closed. Closing the pool closes the
 * parents still held, under any disk still open on them (whose reads then fail), and refuses
 * further opening through it.
 *
 * <p>Thread-safety: safe from any thread. The pool's maps are guarded by {@link #lock}, which is held
 * while a parent (and, through this pool, its own parents) is opened, so children opened through
 * one pool on several threads at once still share; opening through one pool waits for another
 * thread opening through the same pool, never for another pool.
 */
public final class ParentPool implements Closeable {
    /** How deep a chain may go before it is taken for a loop. */
    static final int MAX_DEPTH = 256;

    /** Guards {@link #byPath}, {@link #references} and {@link #closed}. */
    private final Object lock = new Object();
    private final Map<Path, VhdDisk> byPath = new HashMap<>();
    private final Map<VhdDisk, Integer> references = new IdentityHashMap<>();
    private boolean closed;

    /** An empty pool; the caller closes it after every disk opened through it. */
    public ParentPool() {
    }

    /**
     * Opens (or shares) the disk at {@code path} read-only, as the parent below {@code lineage}; its
     * own parents come from this pool too.
     *
     * @throws IllegalStateException when the pool is closed
     */
    VhdDisk acquire(Path path, ByteStore.Backing backing, Lineage lineage) throws IOException {
        if (lineage.depth() > MAX_DEPTH) {
            throw new IOException(path + ": the parent chain is more than " + MAX_DEPTH + " disks deep; is it a loop?");
        }
        Path key = path.toRealPath();
        synchronized (lock) {
            if (closed) {
                throw new IllegalStateException("the parent pool is closed; cannot open " + path + " through it");
            }
            VhdDisk disk = byPath.get(key);
            if (disk == null) {
                disk = VhdReader.open(path, new OpenOptions(true, backing, true), this, lineage);
                byPath.put(key, disk);
                references.put(disk, 1);
            } else {
                references.merge(disk, 1, Integer::sum);
            }
            return disk;
        }
    }

    /** Drops a child's hold on {@code disk}; the last one closes it. Nothing once the pool is closed. */
    void release(VhdDisk disk) throws IOException {
        synchronized (lock) {
            Integer held = references.get(disk);
            if (held == null) {
                if (closed) {
                    return; // closed with the pool
                }
                throw new IllegalStateException(disk.name() + " is not a parent in this pool");
            }
            if (held > 1) {
                references.put(disk, held - 1);
                return;
            }
            references.remove(disk);
            byPath.values().remove(disk);
            disk.close();
        }
    }

    /** Closes the parents still held, if any, and refuses opening through the pool from now on. */
    @Override
    public void close() throws IOException {
        List<VhdDisk> left;
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            left = new ArrayList<>(references.keySet());
            references.clear();
            byPath.clear();
        }
        IOException failure = null;
        for (VhdDisk disk : left) {
            try {
                disk.close();
            } catch (IOException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }
}
