/**
 * What a disk holds, whatever its format: a digest of its contents ({@link DiskContents#digest}),
 * a comparison of two disks by content ({@link DiskContents#compare}), and a map of which ranges
 * hold data and in which layer of a differencing chain ({@link DiskContents#map}).
 *
 * <p>Everything here works on the {@link org.vhdkit.vhd.disk.VirtualDisk} seam, so a raw file, a
 * fixed VHD, a dynamic VHD and a differencing chain that hold the same bytes are the same to it.
 * Ranges that {@link org.vhdkit.vhd.disk.VirtualDisk#extents} reports as
 * {@link org.vhdkit.vhd.disk.Extent#ZERO} are never read.
 *
 * <p>{@link DiskContents} is the entry point; the other public types are the values it returns.
 */
package org.vhdkit.vhd.content;
