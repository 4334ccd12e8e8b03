/**
 * The vhost-user-scsi backend: the storage provider serving a real guest's {@code virtio_scsi}
 * driver through virtqueues in the guest's memory, which qemu hands over a Unix socket.
 * {@link org.vhdkit.stack.vhostuser.VhostUserScsi} is the entry: start it on a socket with a
 * {@link org.vhdkit.stack.scsi.ScsiTarget}, hot add and remove units, close it.
 *
 * <p>Inside: the front-end's messages ({@code FrontEnd}), the guest memory regions mapped into one
 * window ({@code GuestRegions}), split rings ({@code SplitRing}, {@code DescriptorChain}), the
 * queues' workers ({@code Virtqueue}) and what they serve (request, control and event queues), and
 * the C library calls ({@code LinuxCalls}: sockets with file descriptors, eventfds, poll, mmap).
 * The wire format is {@code org.vhdkit.stack.protocol.vhostuser}.
 *
 * <p>Everything the guest puts in a ring is hostile input: a bad request fails, a ring that cannot
 * be followed stops, and nothing outside the guest's memory regions or the disks is touched.
 *
 * <p>Host: device models, in the parent partition.
 */
package org.vhdkit.stack.vhostuser;
