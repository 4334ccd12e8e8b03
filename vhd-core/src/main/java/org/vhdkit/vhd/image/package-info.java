/**
 * The VHD implementation of the {@link org.vhdkit.vhd.disk.VirtualDisk} seam: what
 * {@link org.vhdkit.vhd.Vhd} opens and creates.
 *
 * <ul>
 * <li>{@code VhdReader} opens an existing image: finds the footer in force, checks the dynamic
 *     header and the block allocation table, and has {@code ParentResolver} find a differencing
 *     disk's parent (by its locators, then by name beside it), opened in a
 *     {@link org.vhdkit.vhd.image.ParentPool} owned by whoever opened the chain.</li>
 * <li>{@code VhdCreation} writes new images, laid out as Hyper-V lays them out.</li>
 * <li>{@code FixedVhd} is the data then the footer; {@code SparseVhd} is a dynamic or differencing
 *     disk, its blocks' {@code SectorBitmap}s in the file and its table in memory, with the write
 *     order that keeps an image valid across a crash.</li>
 * </ul>
 *
 * <p>Only {@code VhdReader.open}, {@code VhdCreation.create} (for {@link org.vhdkit.vhd.Vhd}) and
 * {@link org.vhdkit.vhd.image.ParentPool} (to share parents between chains) are public; use
 * {@link org.vhdkit.vhd.Vhd}.
 */
package org.vhdkit.vhd.image;
