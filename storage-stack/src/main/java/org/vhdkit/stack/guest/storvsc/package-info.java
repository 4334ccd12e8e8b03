/**
 * The guest's storage driver (StorVSC), for guest programs: {@link org.vhdkit.stack.guest.storvsc.Storvsc}
 * (the entry point) opens the synthetic SCSI controllers the parent offers over VMBus, negotiates the
 * storage protocol and scans their LUNs; each disk is a {@link org.vhdkit.stack.guest.storvsc.StorvscDisk},
 * a block device with requests in flight whose completions a
 * {@link org.vhdkit.stack.guest.storvsc.StorvscController} hands back by tag. Unit attentions and the
 * parent's ENUMERATE_BUS make it rescan; every wait is a safe point of the guest's context.
 *
 * <p>Guest memory is the program's to lay out: it reserves a region for the driver's rings
 * ({@link org.vhdkit.stack.guest.GuestPages}) and names its own buffers by guest physical address.
 *
 * <p>Guest: runs inside a guest.
 */
package org.vhdkit.stack.guest.storvsc;
