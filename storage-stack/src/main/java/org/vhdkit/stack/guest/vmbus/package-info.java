/**
 * Guest: the guest's VMBus library. {@link org.vhdkit.stack.guest.vmbus.VmbusGuest} (the entry
 * point, {@code VmbusGuest.of(ctx)}) lists the parent's offers and notifications, registers GPADLs
 * and opens channels; a {@link org.vhdkit.stack.guest.vmbus.GuestChannel} sends and receives packets
 * with transaction ids. Both are built on the port the parent offers the guest
 * ({@code vmbus.GuestPort}, standing in for the hypercall and SynIC message path).
 */
package org.vhdkit.stack.guest.vmbus;
