package org.vhdkit.vhd.content;

/**
 * How {@link DiskContents#compare} compares two disks.
 *
 * <p>Thread-safety: immutable.
 *
 * @param strict          whether disks of different sizes differ for that alone. Without it, as
 *                        {@code qemu-img compare} does, the common part is compared and the larger
 *                        disk's excess must read as zeros; with it, the excess differs wherever it is
 *                        (the smaller disk has no bytes there). Unlike {@code qemu-img compare -s},
 *                        allocation is never compared: only contents.
 * @param countDifferences whether to go on after the first difference and count every differing
 *                        512-byte sector; without it the comparison stops at the first difference
 */
public record CompareOptions(boolean strict, boolean countDifferences) {
    /** Not strict, stopping at the first difference. */
    public static final CompareOptions DEFAULT = new CompareOptions(false, false);

    /** These options with {@link #strict()} set as given. */
    public CompareOptions withStrict(boolean newStrict) {
        return new CompareOptions(newStrict, countDifferences);
    }

    /** These options with {@link #countDifferences()} set as given. */
    public CompareOptions withCountDifferences(boolean count) {
        return new CompareOptions(strict, count);
    }
}
