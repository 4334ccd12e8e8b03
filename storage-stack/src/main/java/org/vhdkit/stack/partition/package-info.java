/**
 * The partition boundary: the thin hypervisor layer a VM runs in.
 *
 * <p>{@link org.vhdkit.stack.partition.ParentPartition} (the entry point) creates
 * {@link org.vhdkit.stack.partition.ChildPartition}s; a child owns its guest memory and its virtual
 * processors and nothing else. Processors are platform threads running a
 * {@link org.vhdkit.stack.partition.GuestProgram}, which sees the machine only through its
 * {@link org.vhdkit.stack.partition.GuestContext}: its own memory, port I/O (intercepts handed to the
 * parent through an {@link org.vhdkit.stack.partition.InterceptQueue} to a
 * {@link org.vhdkit.stack.partition.PortIoHandler}), {@link org.vhdkit.stack.partition.GuestSignal}s,
 * and guest-side services offered by type.
 *
 * <p>Seams for the parts built on this one:
 * <ul>
 *   <li>VMBus: the guest library is offered with {@code ChildPartition.offerGuestService} and found
 *       by guests with {@code GuestContext.service(Class)}; the parent's interrupts to the guest are
 *       {@code GuestSignal}s (raise from any thread, no allocation); a guest library that blocks in
 *       its own waits runs them through {@code GuestContext.blocking} so they are safe points.
 *   <li>Emulated devices: port I/O arrives at the VM worker's {@code PortIoHandler}, one synchronous
 *       round trip per access; device interrupts are {@code GuestSignal}s.
 * </ul>
 *
 * <p>Pausing, saving and stopping happen at safe points (context calls); see
 * {@link org.vhdkit.stack.partition.GuestProgram} for that and for the restart model of save state.
 *
 * <p>Host: the hypervisor layer; {@code GuestContext}, {@code GuestProgram} and {@code GuestSignal}
 * are the API it gives guest programs.
 */
package org.vhdkit.stack.partition;
