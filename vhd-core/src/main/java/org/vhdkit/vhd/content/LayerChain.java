package org.vhdkit.vhd.content;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.disk.RawDisk;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.format.BlockAllocationTable;
import org.vhdkit.vhd.format.DynamicHeader;

/**
 * A disk and its ancestors, as layer numbers count them ({@link org.vhdkit.vhd.disk.Extent#layer()}),
 * and where a layer keeps a byte in its file.
 *
 * <p>Where a byte is: a raw disk and a fixed VHD keep byte {@code n} of the disk at offset
 * {@code n} of the file. A dynamic or differencing VHD keeps it in its block: at the block's bitmap
 * sector (from the allocation table), past the bitmap, plus the offset inside the block; so a run in
 * the file ends at the block's end. A disk that is not a file (memory) has no file offsets.
 *
 * <p>Thread-safety: as the disks: the allocation table is read with its own guarantees, nothing is
 * kept that changes.
 */
final class LayerChain {
    private final List<VirtualDisk> disks;

    private LayerChain(List<? extends VirtualDisk> disks) {
        this.disks = List.copyOf(disks);
    }

    /** {@code disk} and, for a differencing VHD opened with its parents, every ancestor. */
    static LayerChain of(VirtualDisk disk) {
        return new LayerChain(disk instanceof VhdDisk vhd ? vhd.chain() : List.of(disk));
    }

    /** Every layer, the disk first. */
    List<DiskMap.Layer> layers() {
        List<DiskMap.Layer> layers = new ArrayList<>(disks.size());
        for (int i = 0; i < disks.size(); i++) {
            layers.add(new DiskMap.Layer(i, file(i)));
        }
        return layers;
    }

    /** Layer {@code layer}'s file (or description); null when that layer is not open. */
    String file(int layer) {
        if (layer < 0 || layer >= disks.size()) {
            return null;
        }
        return switch (disks.get(layer)) {
            case VhdDisk vhd -> vhd.path().toString();
            case RawDisk raw -> raw.path().toString();
            case VirtualDisk other -> other.name();
        };
    }

    /**
     * Where layer {@code layer} keeps the disk's byte at {@code offset}, which it must hold; empty
     * when it is not a file or not open.
     */
    OptionalLong fileOffset(int layer, long offset) {
        if (layer < 0 || layer >= disks.size()) {
            return OptionalLong.empty();
        }
        return switch (disks.get(layer)) {
            case VhdDisk vhd when vhd.blockAllocationTable().isPresent() -> {
                DynamicHeader header = vhd.dynamicHeader().orElseThrow();
                BlockAllocationTable bat = vhd.blockAllocationTable().orElseThrow();
                long blockSize = header.blockSize();
                long bitmapSector = bat.sector((int) (offset / blockSize));
                yield bitmapSector < 0 ? OptionalLong.empty()
                        : OptionalLong.of(bitmapSector * VirtualDisk.SECTOR_SIZE + header.bitmapBytes()
                                + offset % blockSize);
            }
            case VhdDisk _ -> OptionalLong.of(offset);
            case RawDisk _ -> OptionalLong.of(offset);
            case VirtualDisk _ -> OptionalLong.empty();
        };
    }

    /**
     * The end of the run of layer {@code layer}'s file that holds the disk's byte at {@code offset}:
     * bytes from {@code offset} up to there lie one after another in the file.
     */
    long runEnd(int layer, long offset) {
        if (layer >= 0 && layer < disks.size() && disks.get(layer) instanceof VhdDisk vhd
                && vhd.dynamicHeader().isPresent()) {
            long blockSize = vhd.dynamicHeader().get().blockSize();
            return (offset / blockSize + 1) * blockSize;
        }
        return Long.MAX_VALUE;
    }
}
