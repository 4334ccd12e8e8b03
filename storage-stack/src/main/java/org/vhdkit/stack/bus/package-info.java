/**
 * The VM's VMBus as a worker device: {@link org.vhdkit.stack.bus.WorkerBus} (the entry point) makes
 * one {@link org.vhdkit.stack.vmbus.VmbusServer} per running VM, shared by every device provider
 * that offers channels on it (synthetic storage, the integration services).
 *
 * <p>Host: runs in the parent partition.
 */
package org.vhdkit.stack.bus;
