package org.vhdkit.vhd.interop;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.interop.Interop.DiskModel;

/**
 * The images our library makes for the other tools to read: each created, written with
 * {@link Interop#scatteredWrites} from a fixed seed, and closed.
 */
enum OurImage {
    /** Fixed, sparse; the "block size" only places the edges the writes straddle. */
    FIXED_24_MIB(CreateOptions.fixed(24L * Interop.MIB), 2 * Interop.MIB),
    /** Dynamic, the default 2 MiB blocks. */
    DYNAMIC_2_MIB_BLOCKS(CreateOptions.dynamic(40L * Interop.MIB), 2 * Interop.MIB),
    /** Dynamic, 512 KiB blocks, a size that ends five sectors into a last, partial block. */
    DYNAMIC_512_KIB_BLOCKS(CreateOptions.dynamic(20L * Interop.MIB + 5 * 512).withBlockSize(512 * Interop.KIB),
            512 * Interop.KIB),
    /** Dynamic, 4 KiB blocks: a block for every eight sectors, each with its own bitmap sector. */
    DYNAMIC_4_KIB_BLOCKS(CreateOptions.dynamic(12L * Interop.MIB).withBlockSize(4 * Interop.KIB), 4 * Interop.KIB),
    /** Dynamic, 4 MiB blocks: above the 2 MiB some tools insist on. (libvhdi takes 18 s to read 160 MiB in 16 MiB blocks through FUSE.) */
    DYNAMIC_4_MIB_BLOCKS(CreateOptions.dynamic(40L * Interop.MIB).withBlockSize(4 * Interop.MIB), 4 * Interop.MIB),
    /**
     * Dynamic, 10 GiB + 3 MiB: not a CHS product (the geometry covers less), and the last 2 MiB
     * block is half outside the disk. Only a few MiB are written.
     */
    DYNAMIC_NOT_A_CHS_SIZE(CreateOptions.dynamic(10 * Interop.GIB + 3L * Interop.MIB), 2 * Interop.MIB);

    /** An image made and closed, and the bytes it must hold. */
    record Built(Path path, DiskModel model) {
        long size() {
            return model.size();
        }
    }

    private final CreateOptions options;
    private final int blockSize;

    OurImage(CreateOptions options, int blockSize) {
        this.options = options;
        this.blockSize = blockSize;
    }

    long size() {
        return options.size();
    }

    /** Whether a comparison may read every byte (the 10 GiB disk is compared where it was written). */
    boolean small() {
        return options.size() <= 256L * Interop.MIB;
    }

    Built create(Path dir) throws IOException {
        Path path = dir.resolve(name().toLowerCase(Locale.ROOT) + ".vhd");
        DiskModel model = new DiskModel(options.size());
        try (VhdDisk disk = Vhd.create(path, options)) {
            Interop.scatteredWrites(disk, model, 0x5EED_0000L + ordinal(), blockSize);
        }
        return new Built(path, model);
    }
}
