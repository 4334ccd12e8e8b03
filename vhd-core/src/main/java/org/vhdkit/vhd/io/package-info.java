/**
 * The bytes of a host file or block device: {@link org.vhdkit.vhd.io.ByteStore}, read and written at
 * byte offsets, read through a read-only memory mapping and written with {@code pwrite} on the
 * default file system, and through a positional channel on any other (jimfs), chosen automatically.
 *
 * <p>Also the file's locks: a writer holds an exclusive lock and a reader a shared one, in qemu's
 * byte-range protocol (Linux OFD locks) so that vhdkit and qemu see each other, and read-only stores
 * of one file in this process share one channel, since closing any descriptor of a file drops the
 * process's POSIX locks on it.
 */
package org.vhdkit.vhd.io;
