/**
 * The {@link org.vhdkit.vhd.disk.VirtualDisk} seam: a disk as everything above the file format sees
 * it (a run of bytes read and written at offsets, flushed, discarded, and mapped by
 * {@link org.vhdkit.vhd.disk.Extent} into the layers that hold them), and its implementations that are
 * not VHD files: {@link org.vhdkit.vhd.disk.RawDisk}, a host file or block device as it is, and
 * {@link org.vhdkit.vhd.disk.MemoryDisk}, for tests and scratch space.
 *
 * <p>For implementations, here and in {@code org.vhdkit.vhd.image}: {@link org.vhdkit.vhd.disk.Extents}
 * builds an allocation map and checks a range, and {@link org.vhdkit.vhd.disk.FlatDisk} is a disk
 * whose bytes lie in a file as they are (raw, and a fixed VHD).
 *
 * <p>Nothing here knows the VHD format: a VHD is opened through {@link org.vhdkit.vhd.Vhd}, any image
 * through {@link org.vhdkit.vhd.DiskImage}.
 */
package org.vhdkit.vhd.disk;
