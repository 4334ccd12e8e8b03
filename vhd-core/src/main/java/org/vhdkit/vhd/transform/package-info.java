/**
 * Operations that write a disk's contents into a new file: {@link org.vhdkit.vhd.transform.Conversion}
 * (to a fixed VHD, a dynamic VHD or a raw image, flattening a differencing chain),
 * {@link org.vhdkit.vhd.transform.Compaction} (a dynamic or differencing VHD without the blocks it
 * does not need), and {@link org.vhdkit.vhd.transform.Measurement} (how large such a file will be).
 *
 * <h2>Crash safety</h2>
 * Conversion and compaction never write into the file they produce: they write a new file beside it
 * (same folder, a hidden name ending in {@code .partial}), force it to stable storage, and only then
 * rename it over the target in one atomic step. A crash at any moment leaves the old file (or no
 * file) under the target's name, never a partial one; at worst a {@code .partial} file stays
 * behind, which may be deleted. The price is free space for one more copy while the operation runs.
 *
 * <h2>Sparseness</h2>
 * Both operations skip ranges that read as zero: what the source's allocation map reports as
 * {@link org.vhdkit.vhd.disk.Extent#ZERO} is never read, and data that turns out to be zeros (in 4
 * KiB pieces, or a dynamic target's blocks when they are smaller) is never written. A dynamic target
 * therefore allocates only the blocks that hold non-zero bytes, and a fixed or raw target is a
 * sparse file with holes where the disk is zero.
 */
package org.vhdkit.vhd.transform;
