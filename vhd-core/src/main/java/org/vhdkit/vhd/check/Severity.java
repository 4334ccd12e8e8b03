package org.vhdkit.vhd.check;

/**
 * How bad a {@link Finding} is. The worst severity among the findings not repaired decides the
 * {@link CheckReport#status() status} of a check.
 *
 * <p>Constants are immutable and safe to share between threads.
 */
public enum Severity {
    /** The image is damaged: a reader refuses it, or may read bytes that are not the disk's. */
    CORRUPT,
    /** Space in the file that no structure references: wasted, but every byte of the disk reads right. */
    LEAK,
    /** Odd but not wrong: the image reads correctly, and nothing needs repairing. */
    WARNING
}
