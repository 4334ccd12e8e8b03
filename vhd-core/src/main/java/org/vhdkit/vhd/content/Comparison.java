package org.vhdkit.vhd.content;

import java.util.Objects;
import java.util.OptionalLong;

/**
 * What {@link DiskContents#compare} found.
 *
 * <p>Thread-safety: immutable.
 *
 * @param sizeA            the first disk's size in bytes
 * @param sizeB            the second disk's size in bytes
 * @param strict           whether a difference in size counted as a difference in content
 *                         ({@link CompareOptions#strict()})
 * @param firstDifference  the offset of the first byte at which the disks differ, exactly (not
 *                         rounded to a sector); empty when they do not. Beyond the smaller disk's
 *                         end, the larger disk's bytes are compared with zeros, or when strict differ
 *                         from its first byte on.
 * @param differingSectors how many 512-byte sectors differ (in the same sense), when counting was
 *                         asked for ({@link CompareOptions#countDifferences()}); otherwise empty
 */
public record Comparison(long sizeA, long sizeB, boolean strict, OptionalLong firstDifference,
                         OptionalLong differingSectors) {
    public Comparison {
        Objects.requireNonNull(firstDifference, "firstDifference");
        Objects.requireNonNull(differingSectors, "differingSectors");
    }

    /** Whether the disks hold the same contents: no byte differs. */
    public boolean identical() {
        return firstDifference.isEmpty();
    }

    /** Whether the disks are the same size. */
    public boolean sameSize() {
        return sizeA == sizeB;
    }

    /** The part both disks have: the smaller size. */
    public long commonSize() {
        return Math.min(sizeA, sizeB);
    }
}
