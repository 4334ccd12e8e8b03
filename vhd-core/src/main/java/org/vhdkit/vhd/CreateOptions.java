package org.vhdkit.vhd;

import java.nio.file.Path;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import org.vhdkit.vhd.format.DiskType;
import org.vhdkit.vhd.format.DynamicHeader;

/**
 * What {@link Vhd#create} makes. Start from {@link #fixed}, {@link #dynamic} or
 * {@link #differencing} and change what you need with the {@code with...} methods.
 *
 * @param type      fixed, dynamic or differencing
 * @param size      the disk's size in bytes, a multiple of 512 up to {@link Vhd#MAX_SIZE}; for a
 *                  differencing disk 0, meaning the parent's size
 * @param blockSize the block size of a dynamic or differencing disk, a power of two from 512 B to
 *                  256 MiB (0 for a differencing disk means the parent's block size, or 2 MiB)
 * @param parent    the parent of a differencing disk
 * @param zeroFill  for a fixed disk: write every byte, so the file takes all its space now, rather
 *                  than leave a sparse file
 * @param creator   the creator fields of the footer
 * @param uniqueId  the disk's UUID; empty for a random one
 * @param timestamp the creation time stored in the footer; empty for now
 */
public record CreateOptions(DiskType type, long size, int blockSize, Optional<Path> parent, boolean zeroFill,
                            Creator creator, Optional<UUID> uniqueId, Optional<Instant> timestamp) {
    public CreateOptions {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(parent, "parent");
        Objects.requireNonNull(creator, "creator");
        Objects.requireNonNull(uniqueId, "uniqueId");
        Objects.requireNonNull(timestamp, "timestamp");
    }

    /** A fixed disk of {@code size} bytes, sparse. */
    public static CreateOptions fixed(long size) {
        return new CreateOptions(DiskType.FIXED, size, 0, Optional.empty(), false, Creator.HYPER_V,
                Optional.empty(), Optional.empty());
    }

    /** A dynamic disk of {@code size} bytes in 2 MiB blocks. */
    public static CreateOptions dynamic(long size) {
        return new CreateOptions(DiskType.DYNAMIC, size, DynamicHeader.DEFAULT_BLOCK_SIZE, Optional.empty(), false,
                Creator.HYPER_V, Optional.empty(), Optional.empty());
    }

    /** A differencing disk over {@code parent}, of the parent's size and block size. */
    public static CreateOptions differencing(Path parent) {
        return new CreateOptions(DiskType.DIFFERENCING, 0, 0, Optional.of(parent), false, Creator.HYPER_V,
                Optional.empty(), Optional.empty());
    }

    /** These options with another size (for a differencing disk: larger than its parent). */
    public CreateOptions withSize(long newSize) {
        return new CreateOptions(type, newSize, blockSize, parent, zeroFill, creator, uniqueId, timestamp);
    }

    public CreateOptions withBlockSize(int newBlockSize) {
        return new CreateOptions(type, size, newBlockSize, parent, zeroFill, creator, uniqueId, timestamp);
    }

    public CreateOptions withZeroFill(boolean newZeroFill) {
        return new CreateOptions(type, size, blockSize, parent, newZeroFill, creator, uniqueId, timestamp);
    }

    public CreateOptions withCreator(Creator newCreator) {
        return new CreateOptions(type, size, blockSize, parent, zeroFill, newCreator, uniqueId, timestamp);
    }

    public CreateOptions withUniqueId(UUID id) {
        return new CreateOptions(type, size, blockSize, parent, zeroFill, creator, Optional.of(id), timestamp);
    }

    public CreateOptions withTimestamp(Instant time) {
        return new CreateOptions(type, size, blockSize, parent, zeroFill, creator, uniqueId, Optional.of(time));
    }
}
