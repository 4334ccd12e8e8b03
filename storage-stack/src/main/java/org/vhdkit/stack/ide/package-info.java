/**
 * The emulated IDE path: a PIIX-style IDE controller per VM with ATA hard disks and ATAPI DVD
 * drives, every register access a port I/O intercept handled on the VM's worker. The entry point is
 * {@link org.vhdkit.stack.ide.EmulatedIde}: the device provider, and the media changes of a running
 * VM. The guest side (a driver and a workload for guest programs) is in
 * {@link org.vhdkit.stack.guest.ide}.
 *
 * <p>Host: the device model, in the parent partition; {@code IdeInterrupts} is the contract it
 * offers the guest.
 */
package org.vhdkit.stack.ide;
