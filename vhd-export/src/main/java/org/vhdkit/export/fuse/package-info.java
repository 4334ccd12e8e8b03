/**
 * The FUSE mount behind {@code vhd mount}: a disk ({@link org.vhdkit.vhd.disk.VirtualDisk}) shown as
 * one regular file in a directory of its own, read-write or read-only, through libfuse3 bound with
 * jfuse (the FFM API).
 *
 * <p>{@link org.vhdkit.export.fuse.DiskMount} is the entry point (mount, unmount, wait); the file
 * system's operations ({@code DiskFileSystem}), the mount table ({@code MountTable}) and the checks
 * of the machine ({@code FuseHost}) are package-private.
 */
package org.vhdkit.export.fuse;
