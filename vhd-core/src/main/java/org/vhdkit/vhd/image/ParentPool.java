package org.vhdkit.vhd.image;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.io.ByteStore;

/**
 * The parents of open differencing disks, opened read-only once and shared by every child in this
 * process that links to them, so a chain's common base costs one table in memory however many
 * children sit on it.
 *
 * <p>Thread-safety: guarded by the monitor of {@code ParentPool.class}, held while a parent (and its
 * own parents) are opened, so two children opened at once still share.
 */
final class ParentPool {
    /** How deep a chain may go before it is taken for a loop. */
    static final int MAX_DEPTH = 256;

    private static final Map<Path, VhdDisk> BY_PATH = new HashMap<>();
    private static final Map<VhdDisk, Integer> REFERENCES = new IdentityHashMap<>();

    private ParentPool() {
    }

    /** Opens (or shares) the disk at {@code path} read-only, as the parent at {@code depth}. */
    static VhdDisk acquire(Path path, ByteStore.Backing backing, int depth) throws IOException {
        if (depth > MAX_DEPTH) {
            throw new IOException(path + ": the parent chain is more than " + MAX_DEPTH + " disks deep; is it a loop?");
        }
        Path key = path.toRealPath();
        synchronized (ParentPool.class) {
            VhdDisk disk = BY_PATH.get(key);
            if (disk == null) {
                disk = VhdReader.open(path, new OpenOptions(true, backing, true), depth);
                BY_PATH.put(key, disk);
                REFERENCES.put(disk, 1);
            } else {
                REFERENCES.merge(disk, 1, Integer::sum);
            }
            return disk;
        }
    }

    /** Drops a child's hold on {@code disk}; the last one closes it. */
    static void release(VhdDisk disk) throws IOException {
        synchronized (ParentPool.class) {
            Integer references = REFERENCES.get(disk);
            if (references == null) {
                throw new IllegalStateException(disk.name() + " is not a pooled parent");
            }
            if (references > 1) {
                REFERENCES.put(disk, references - 1);
                return;
            }
            REFERENCES.remove(disk);
            BY_PATH.values().remove(disk);
            disk.close();
        }
    }
}
