package org.vhdkit.vhd.disk;

import java.util.ArrayList;
import java.util.List;

/**
 * Builds the list {@link VirtualDisk#extents} returns, merging neighbours of the same layer.
 * Not thread-safe: one per call.
 */
public final class Extents {
    private final List<Extent> extents = new ArrayList<>();

    /** Appends a range that follows the last one. */
    public void add(long offset, long length, int layer) {
        if (length == 0) {
            return;
        }
        if (!extents.isEmpty()) {
            Extent last = extents.getLast();
            if (last.layer() == layer && last.end() == offset) {
                extents.set(extents.size() - 1, new Extent(last.offset(), last.length() + length, layer));
                return;
            }
        }
        extents.add(new Extent(offset, length, layer));
    }

    /** Appends the parent's extents one layer deeper. */
    public void addFromParent(List<Extent> parentExtents) {
        for (Extent e : parentExtents) {
            add(e.offset(), e.length(), e.isData() ? e.layer() + 1 : Extent.ZERO);
        }
    }

    public List<Extent> build() {
        return List.copyOf(extents);
    }

    /** Throws when the range does not lie inside a disk of {@code size} bytes. */
    public static void checkRange(VirtualDisk disk, long offset, long length) throws java.io.EOFException {
        if (offset < 0 || length < 0 || offset > disk.size() - length) {
            throw new java.io.EOFException(disk.name() + ": range of " + length + " bytes at offset " + offset
                    + " is not inside the disk (" + disk.size() + " bytes)");
        }
    }
}
