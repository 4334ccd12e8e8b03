/**
 * Guest software: everything here runs inside a guest, on its virtual processors, and reaches the
 * machine only through its {@link org.vhdkit.stack.partition.GuestContext} and the services the
 * parent offered it. The parent (every other package of {@code org.vhdkit.stack}) never imports
 * this tree; {@code GuestBoundaryTest} checks that on the compiled classes.
 *
 * <ul>
 *   <li>{@link org.vhdkit.stack.guest.GuestPages}: the guest's page allocator for driver rings, shared
 *       by the drivers below.
 *   <li>{@code guest.vmbus}: the guest's VMBus library; {@code guest.storvsc}: the storage driver;
 *       {@code guest.ide}: the IDE driver and workload; {@code guest.ic}: the shutdown integration
 *       service; {@code guest.workload}: the built-in storage workload.
 * </ul>
 *
 * <p>Guest code may import the host's guest-facing contracts ({@code partition.GuestContext},
 * {@code memory.GuestMemory}, {@code vmbus.GuestPort}, {@code ide.IdeInterrupts},
 * {@code vm.GuestShutdown}) and the protocol constants; nothing else of the host.
 */
package org.vhdkit.stack.guest;
