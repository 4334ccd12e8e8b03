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
 * <p>What a crash keeps (design note). A write returns only once everything it changed is in the
 * file: a new block's footer, bitmap, data and table entry are written through at allocation (into
 * the page cache), so a killed process loses no acknowledged write, flushed or not. A power cut keeps
 * what the last completed flush (a force) made durable plus any subset of the writes since; new
 * blocks go only into space that held nothing since the last force, so a dynamic disk never reads
 * older data, and a differencing disk forces its new block's bitmap and data before the entry (unless
 * its parent reads zeros there). Chosen over holding entries back until the flush (which a kill lost)
 * and over a journal (which other tools would not replay) by measuring: writing the entry through cost
 * nothing measurable on 1 MiB allocating writes or 4 KiB writes into allocated blocks; the force per
 * differencing allocation over a parent with data costs about a 2 MiB write and a device flush.
 *
 * <p>Only {@code VhdReader.open}, {@code VhdCreation.create} (for {@link org.vhdkit.vhd.Vhd}) and
 * {@link org.vhdkit.vhd.image.ParentPool} (to share parents between chains) are public; use
 * {@link org.vhdkit.vhd.Vhd}.
 */
package org.vhdkit.vhd.image;
