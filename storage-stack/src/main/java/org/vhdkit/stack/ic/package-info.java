/**
 * Integration services over VMBus, modelled on Hyper-V's: the parent's
 * {@link org.vhdkit.stack.ic.IntegrationServices} (the device provider offering the shutdown
 * service to VMs with integration components on) and the guest's
 * {@link org.vhdkit.stack.guest.ic.ShutdownGuest} (the library a guest program uses to answer shutdown
 * requests). The messages both speak are the codecs of {@link org.vhdkit.stack.protocol.ic}.
 *
 * <p>Host: the parent's side; the guest's side is {@code org.vhdkit.stack.guest.ic}.
 */
package org.vhdkit.stack.ic;
