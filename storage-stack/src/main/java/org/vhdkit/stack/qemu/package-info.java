/**
 * Real guests: one qemu-system-x86_64 per running VM as its worker process, with this host process
 * serving all of its storage. {@link org.vhdkit.stack.qemu.QemuEngine} is the entry: the
 * {@link org.vhdkit.stack.vm.WorkerLauncher} the hypervisor uses for VMs whose
 * {@link org.vhdkit.stack.vm.GuestEngine} is qemu, and the hot-plug, media and console calls for
 * them.
 *
 * <h2>Design</h2>
 * The VM model stays in {@code org.vhdkit.stack.vm}: states, operations, configuration, saved state
 * and the snapshot tree do not know qemu; a run is either the in-JVM child partition or a
 * {@link org.vhdkit.stack.vm.WorkerProcess}, and this package supplies the latter. On start,
 * {@code ServedStorage} opens every disk of the configuration in this process (VHD chains,
 * pass-through disks, DVD images) and serves it: each IDE drive's medium through its own
 * {@code NbdServer} on a private Unix socket (read-only for DVDs), each synthetic SCSI controller
 * in use through a {@code VhostUserScsi} backend whose LUNs are the controller's disks.
 * {@code QemuCommandLine} then starts qemu ({@code -machine pc}: i440FX/PIIX3 IDE, no defaults,
 * guest memory in a shared memfd so the vhost-user backends can map it, {@code -S} paused) with only
 * sockets: qemu never opens a VHD, so differencing chains, snapshot layers and the VHD format stay
 * ours, and a guest can reach nothing but its disks (the NBD server and the backend check every
 * request). The sockets live in a private 0700 folder with a short path (a socket path has at most
 * 107 bytes; VM folders can be longer). {@code QmpClient} speaks QMP ({@code stack.protocol.qmp}) on
 * the monitor socket: commands with ids, and events read by one reader thread.
 *
 * <p>Lifecycle: start is {@code cont} after the storage is served; pause and resume are
 * {@code stop}/{@code cont}; shut down presses the ACPI power button ({@code system_powerdown}) and
 * the VM turns Off when qemu exits after the guest's power off (SHUTDOWN event); turn off is
 * {@code quit} (then a kill), after which the servers stop (flushing) and the disks are closed. A
 * save stops the guest and has qemu migrate its device state and memory into
 * {@code machine-state.bin} in the VM's folder ({@code exec:cat}); the vhost-user backend advertises
 * {@code VHOST_F_LOG_ALL} and logs the pages it dirties, without which qemu 7.2 refuses to migrate
 * a vhost device. A start from Saved runs qemu with {@code -incoming defer} and loads the file with
 * {@code migrate-incoming}. A qemu that dies is seen by its process's end: the VM turns Off and the
 * storage is flushed and closed as for a turn off; the host process and other VMs go on. qemu's
 * STOP and RESUME events reach the VM, so that a guest qemu stopped by itself (or a {@code stop} on
 * its monitor) is Paused, not Running; during one of the VM's own operations the last event decides
 * the state the operation ends in.
 *
 * <p>Hot plug: SCSI controller n's {@code vhost-user-scsi-pci} sits at PCI slot {@code 0x10 + n},
 * on the command line and when hot added, because a saved state loads only into a qemu whose
 * devices sit where they sat. A disk hot added on a controller in use appears at its LUN through the
 * backend's event queue; on a controller with no disk a backend starts and qemu gets the device
 * ({@code chardev-add}, {@code device_add}; the guest needs ACPI PCI hot plug). Hot removing a
 * controller's last disk takes the controller away ({@code device_del}; the backend stops once the
 * guest released it), since a start from Saved makes only controllers that have disks; a save is
 * refused while a controller with no disk is still in qemu.
 *
 * <p>A snapshot of a running guest is taken live ({@code QemuWorker} says it
 * {@linkplain org.vhdkit.stack.vm.WorkerProcess#snapshotsLive snapshots live}): {@code stop} (qemu
 * drains and flushes its block devices, so every IDE drive's NBD requests are answered, and stops
 * the vhost-user device, taking each ring's base back); qemu's migration writes the device state
 * and memory into the node's {@code machine-state.bin} ({@code exec:cat}) and qemu waits in
 * runstate {@code postmigrate}; then {@code ServedStorage} switches the disks: it refuses while a
 * vhost-user backend still serves rings (the guest is not paused), holds each drive's export and
 * each LUN (requests under way finish, later ones wait), flushes every disk, closes the old top
 * files, lets the snapshot tree make the new differencing disks, opens them and puts them in place
 * ({@code NbdServer.Hold.replace}, {@code ScsiDisk.Hold.replace}: same size, the LUN's identifiers
 * and serial number kept, no unit attention, no hot-plug event); then {@code cont}. qemu never had
 * the files, so it notices nothing, and its process and pid stay. Pass-through disks and DVD media
 * are not layered and stay as they are.
 *
 * <p>Host: the parent partition's VM workers for real guests.
 */
package org.vhdkit.stack.qemu;
