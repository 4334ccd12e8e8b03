package org.vhdkit.vhd.transform;

import java.io.IOException;
import java.util.Objects;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.format.DynamicHeader;
import org.vhdkit.vhd.format.Footer;

/**
 * How large a file will be: a new image of a given kind and size, or the result of converting an
 * existing disk. The sizes are exact, in bytes, for files as this library lays them out
 * ({@link org.vhdkit.vhd.Vhd#create}, {@link Conversion#convert}): an empty dynamic disk of 10 MiB in
 * 2 MiB blocks is 4096 bytes, and a conversion produces a file of exactly {@link #requiredBytes()}.
 *
 * <p>These are file sizes. A fixed or raw image is written sparse, so on file systems with holes it
 * takes less space on the host than its size.
 *
 * <p>Records are immutable and safe to share between threads; the factories are stateless and safe
 * from any thread.
 *
 * @param type                the kind of image
 * @param size                its virtual size in bytes
 * @param blockSize           the block size of a dynamic image; 0 otherwise
 * @param blocks              the blocks a dynamic image holds: none for a new one, those with data
 *                            for a conversion; 0 for the other kinds
 * @param requiredBytes       the size of the file: a new image as created, or the converted one
 * @param fullyAllocatedBytes the size of the file once every byte of the disk has been written
 */
public record Measurement(ImageType type, long size, int blockSize, long blocks, long requiredBytes,
                          long fullyAllocatedBytes) {
    public Measurement {
        Objects.requireNonNull(type, "type");
    }

    /**
     * A new image of {@code size} bytes, as {@code Vhd.create} (or a raw file of that size) makes it.
     *
     * @param blockSize for a dynamic image, its block size, or 0 for the default (2 MiB); 0 otherwise
     * @throws IllegalArgumentException when the size is not a positive multiple of 512 (up to 2040 GiB
     *                                  for a VHD) or the block size is out of range; the message is
     *                                  ready for a user
     */
    public static Measurement ofNew(ImageType type, long size, int blockSize) {
        Objects.requireNonNull(type, "type");
        int chosen = chooseBlockSize(type, blockSize);
        checkSize(type, size);
        return measure(type, size, chosen, 0);
    }

    /**
     * The file {@link Conversion#convert} would write for {@code source}: for a dynamic target it
     * counts the blocks that hold a non-zero byte, which means reading every range the source's
     * allocation map reports as data.
     *
     * @param blockSize as for {@link #ofNew}
     * @param progress  told how many bytes of the source are done
     * @throws IllegalArgumentException when the block size is out of range
     * @throws org.vhdkit.vhd.format.VhdFormatException when the source is larger than a VHD can be
     *                                  (2040 GiB) and the target is a VHD
     */
    public static Measurement ofConversion(VirtualDisk source, ImageType type, int blockSize, ProgressListener progress)
            throws IOException {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(progress, "progress");
        int chosen = chooseBlockSize(type, blockSize);
        long size = source.size();
        Conversion.checkFitsTarget(source, type);
        if (type != ImageType.DYNAMIC) {
            return measure(type, size, chosen, 0);
        }
        // Runs come in order, so a block is new unless the previous run ended in it.
        long[] blocks = {0};
        long[] lastBlock = {-1};
        DataScan.scan(source, DataScan.pieceFor(type, chosen), progress, (offset, bytes) -> {
            long first = offset / chosen;
            long last = (offset + bytes.byteSize() - 1) / chosen;
            blocks[0] += last - first + (first == lastBlock[0] ? 0 : 1);
            lastBlock[0] = last;
        });
        return measure(type, size, chosen, blocks[0]);
    }

    private static Measurement measure(ImageType type, long size, int blockSize, long blocks) {
        return switch (type) {
            case FIXED -> new Measurement(type, size, 0, 0, size + Footer.SIZE, size + Footer.SIZE);
            case RAW -> new Measurement(type, size, 0, 0, size, size);
            case DYNAMIC -> {
                SparseLayout layout = SparseLayout.ofNewDisk(size, blockSize);
                long all = (size + blockSize - 1) / blockSize;
                yield new Measurement(type, size, blockSize, blocks, layout.fileSize(blocks), layout.fileSize(all));
            }
        };
    }

    private static int chooseBlockSize(ImageType type, int blockSize) {
        int chosen = type == ImageType.DYNAMIC && blockSize == 0 ? DynamicHeader.DEFAULT_BLOCK_SIZE : blockSize;
        SparseLayout.checkBlockSize(type, chosen);
        return chosen;
    }

    private static void checkSize(ImageType type, long size) {
        if (size <= 0 || size % VirtualDisk.SECTOR_SIZE != 0) {
            throw new IllegalArgumentException("the size must be a positive multiple of 512 bytes; " + size + " is not");
        }
        if (type != ImageType.RAW && size > Vhd.MAX_SIZE) {
            throw new IllegalArgumentException("the size " + size + " is larger than a VHD can be (2040 GiB, "
                    + Vhd.MAX_SIZE + " bytes)");
        }
    }
}
