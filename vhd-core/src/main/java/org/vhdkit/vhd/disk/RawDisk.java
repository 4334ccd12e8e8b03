package org.vhdkit.vhd.disk;

import java.io.IOException;
import java.nio.file.Path;
import org.vhdkit.vhd.io.ByteStore;

/**
 * A raw host file or block device used as a disk as it is, byte for byte: the pass-through disk.
 * Its size is the file's (for a block device, the device's), which must be a whole number of
 * sectors.
 *
 * <p>The file is locked like any store: exclusively when writable, so a device that another VM
 * or process holds open for writing is refused.
 *
 * <p>Thread-safety: as {@link VirtualDisk}.
 */
public final class RawDisk extends FlatDisk {
    private final long size;

    private RawDisk(ByteStore store, long size) {
        super(store);
        this.size = size;
    }

    /** Opens a raw file or block device, read-only or read-write. */
    public static RawDisk open(Path path, boolean readOnly) throws IOException {
        return open(path, readOnly, ByteStore.Backing.AUTO);
    }

    /**
     * Opens a raw file or block device, read-only or read-write, reaching it through {@code backing}
     * (positional writes leave the holes of a sparse file between them as holes; writes through a
     * mapping may allocate space around them).
     */
    public static RawDisk open(Path path, boolean readOnly, ByteStore.Backing backing) throws IOException {
        ByteStore store = ByteStore.open(path, readOnly ? ByteStore.Mode.READ_ONLY : ByteStore.Mode.READ_WRITE,
                backing);
        long size = store.size();
        if (size % SECTOR_SIZE != 0 || size == 0) {
            store.close();
            throw new IOException(path + ": a raw disk must be a non-empty whole number of 512-byte sectors; it is "
                    + size + " bytes");
        }
        return new RawDisk(store, size);
    }

    /** The file or device. */
    public Path path() {
        return store.path();
    }

    @Override
    public long size() {
        return size;
    }
}
