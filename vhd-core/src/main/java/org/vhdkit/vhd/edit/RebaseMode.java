package org.vhdkit.vhd.edit;

/** How {@link ImageEdits#rebase} relinks a differencing disk. */
public enum RebaseMode {
    /**
     * Keep what the disk shows: wherever it holds nothing and the new parent's content differs from
     * the old parent's, the old content is first copied into the disk. Needs both parents.
     */
    SAFE,
    /**
     * Rewrite the link only. Right when the new parent is a copy of the old one (moved, copied,
     * restored from a backup); otherwise the disk shows different content afterwards.
     */
    UNSAFE
}
