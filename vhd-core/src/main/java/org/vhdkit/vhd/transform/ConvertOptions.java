package org.vhdkit.vhd.transform;

import java.util.Objects;
import org.vhdkit.vhd.format.DynamicHeader;

/**
 * What {@link Conversion#convert} writes. Start from {@link #to} and change what you need with the
 * {@code with...} methods.
 *
 * <p>Records are immutable and safe to share between threads.
 *
 * @param type      the kind of file to write
 * @param blockSize for a dynamic target, its block size: a power of two from 512 bytes to 256 MiB;
 *                  0 for a fixed or raw target
 * @param overwrite whether an existing file at the target may be replaced (it is replaced only when
 *                  the conversion has succeeded)
 */
public record ConvertOptions(ImageType type, int blockSize, boolean overwrite) {
    /**
     * @throws IllegalArgumentException when the block size is out of range for a dynamic target, or
     *                                  not 0 for another one; the message is ready for a user
     */
    public ConvertOptions {
        Objects.requireNonNull(type, "type");
        SparseLayout.checkBlockSize(type, blockSize);
    }

    /** A conversion to {@code type}: 2 MiB blocks for a dynamic target, no overwriting. */
    public static ConvertOptions to(ImageType type) {
        return new ConvertOptions(type, type == ImageType.DYNAMIC ? DynamicHeader.DEFAULT_BLOCK_SIZE : 0, false);
    }

    /** These options with another block size (dynamic targets only). */
    public ConvertOptions withBlockSize(int newBlockSize) {
        return new ConvertOptions(type, newBlockSize, overwrite);
    }

    /** These options, replacing (or not) an existing target file. */
    public ConvertOptions withOverwrite(boolean newOverwrite) {
        return new ConvertOptions(type, blockSize, newOverwrite);
    }
}
