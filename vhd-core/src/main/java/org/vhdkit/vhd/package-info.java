/**
 * vhdkit's VHD library: where to start. {@link org.vhdkit.vhd.Vhd} opens and creates VHD files
 * (fixed, dynamic, differencing) as {@link org.vhdkit.vhd.VhdDisk}s, how is said by
 * {@link org.vhdkit.vhd.OpenOptions} and {@link org.vhdkit.vhd.CreateOptions}; and
 * {@link org.vhdkit.vhd.DiskImage} opens any image, VHD or raw, telling one from the other.
 *
 * <p>The rooms behind this door:
 * <ul>
 * <li>{@code disk}: the {@link org.vhdkit.vhd.disk.VirtualDisk} seam everything above the file format
 *     uses, and the disks that are not VHDs (raw pass-through, memory);</li>
 * <li>{@code image}: the VHD implementation, reached through {@link org.vhdkit.vhd.Vhd};</li>
 * <li>{@code format}: the on-disk structures as records, decoded and encoded, no I/O;</li>
 * <li>{@code io}: a host file's bytes, mapped or through a channel, and its locks;</li>
 * <li>{@code content}, {@code transform}, {@code edit}, {@code check}: what can be done with disks
 *     and images (digest, compare, map; convert, compact, measure; resize, merge, rebase, set; check
 *     and repair).</li>
 * </ul>
 *
 * <p>Refused input is one checked family, both {@link java.io.IOException}s: a
 * {@link org.vhdkit.vhd.format.VhdFormatException} names the file, field and offset of bytes the
 * format does not allow; a {@link org.vhdkit.vhd.ParentNotFoundException} says a differencing disk's
 * parent is nowhere its links point. Long operations report through a
 * {@link org.vhdkit.vhd.ProgressListener}.
 */
package org.vhdkit.vhd;
