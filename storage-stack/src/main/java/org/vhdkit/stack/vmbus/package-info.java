/**
 * Host: the parent's VMBus. {@link org.vhdkit.stack.vmbus.VmbusServer} (the entry point) offers
 * channels to one child partition, registers its GPADLs, opens and closes channels and runs one
 * consumer per open channel ({@link org.vhdkit.stack.vmbus.ParentChannel}) for a
 * {@link org.vhdkit.stack.vmbus.VmbusDevice}; the rings live in guest memory and everything the
 * guest wrote there is checked before use. The guest reaches the server only through
 * {@link org.vhdkit.stack.vmbus.GuestPort} and {@link org.vhdkit.stack.vmbus.GuestEnd}, the
 * hypercall-level contract the guest's library ({@code org.vhdkit.stack.guest.vmbus}) builds on.
 *
 * <p>The packet layout ({@code VmbusPacket}, {@code PacketType}) is shared with the guest library.
 */
package org.vhdkit.stack.vmbus;
