/**
 * Synthetic storage wired into VMs: {@link org.vhdkit.stack.storage.SyntheticStorage} (the entry
 * point) is the {@link org.vhdkit.stack.vm.DeviceProvider} that opens a VM's SCSI disks (VHD files or
 * pass-through raw files and block devices) when it starts, offers a storage channel per controller
 * on the VM's VMBus, and closes everything when it stops; and the way to hot add and remove disks on
 * a running VM.
 *
 * <p>Host: runs in the parent partition.
 */
package org.vhdkit.stack.storage;
