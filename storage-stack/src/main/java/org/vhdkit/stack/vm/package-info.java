/**
 * VMs: configuration, lifecycle and the VM worker, in the parent partition.
 *
 * <p>{@link org.vhdkit.stack.vm.Hypervisor} (the entry point) opens a folder of VMs, each a
 * {@link org.vhdkit.stack.vm.VirtualMachine} with a declarative
 * {@link org.vhdkit.stack.vm.VmConfiguration} (stored as JSON, written atomically) and a state
 * ({@link org.vhdkit.stack.vm.VmState}). Limits are in {@link org.vhdkit.stack.vm.HyperVLimits}.
 *
 * <p>Seams for the device layer:
 * <ul>
 *   <li>{@link org.vhdkit.stack.vm.DeviceProvider}: called on every start with the new
 *       {@link org.vhdkit.stack.vm.VmWorker}; opens the disks the configuration names and registers
 *       devices ({@link org.vhdkit.stack.vm.VmDevice}, {@link org.vhdkit.stack.vm.PortIoDevice}),
 *       guest services and signals. The IDE controller and the StorVSP/VMBus server plug in here.
 *   <li>{@link org.vhdkit.stack.vm.VmDevice#saveState}/{@code restoreState}: device state through
 *       save and restore; {@code release()}: close disks and stop threads on stop.
 *   <li>{@link org.vhdkit.stack.vm.ShutdownService}: how an orderly shutdown reaches the guest; the
 *       default is {@link org.vhdkit.stack.vm.GuestShutdown}, a guest service; the VMBus
 *       integration service ({@code org.vhdkit.stack.ic.IntegrationServices}) replaces it and keeps
 *       it as a fallback for guests that listen only there.
 * </ul>
 *
 * <p>Host: the parent partition's VM management.
 */
package org.vhdkit.stack.vm;
