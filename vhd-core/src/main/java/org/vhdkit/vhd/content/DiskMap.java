package org.vhdkit.vhd.content;

import java.util.List;
import java.util.Objects;
import java.util.OptionalLong;
import org.vhdkit.vhd.disk.Extent;

/**
 * Which ranges of a disk hold data and where: the answer of {@link DiskContents#map}.
 *
 * <p>Thread-safety: immutable.
 *
 * @param size   the disk's size in bytes
 * @param layers the disk and its ancestors: element {@code n} is layer {@code n} (0 the disk itself,
 *               1 its parent, ...)
 * @param ranges the mapped range split into consecutive ranges, in order, each from one layer (or
 *               from none) and, where the layer is a file, contiguous in that file
 */
public record DiskMap(long size, List<Layer> layers, List<Range> ranges) {
    public DiskMap {
        layers = List.copyOf(layers);
        ranges = List.copyOf(ranges);
    }

    /**
     * One layer of a disk.
     *
     * @param layer the layer's number: 0 for the disk itself, {@code n} for its {@code n}-th parent
     * @param file  the layer's file, or for a disk that is not a file (memory) its description
     */
    public record Layer(int layer, String file) {
        public Layer {
            Objects.requireNonNull(file, "file");
        }
    }

    /**
     * A range of the disk and where its bytes are.
     *
     * @param offset     where it starts, in bytes from the start of the disk
     * @param length     its length in bytes
     * @param layer      the layer that holds its bytes (an index into {@link DiskMap#layers()}), or
     *                   {@link Extent#ZERO} when no layer does and it reads as zeros. A differencing
     *                   disk opened without its parent reports what it does not hold as layer 1, which
     *                   {@code layers} then does not list.
     * @param file       that layer's file; null for {@link Extent#ZERO} or a layer not opened
     * @param fileOffset where the range's first byte is in that file; empty for {@link Extent#ZERO}
     *                   and for a disk that is not in a file
     */
    public record Range(long offset, long length, int layer, String file, OptionalLong fileOffset) {
        public Range {
            Objects.requireNonNull(fileOffset, "fileOffset");
            if (offset < 0 || length <= 0 || layer < Extent.ZERO) {
                throw new IllegalArgumentException("offset " + offset + ", length " + length + ", layer " + layer);
            }
        }

        /** Where the range ends (exclusive). */
        public long end() {
            return offset + length;
        }

        /** Whether some layer holds the bytes (the range is not {@link Extent#ZERO}). */
        public boolean isData() {
            return layer != Extent.ZERO;
        }
    }
}
