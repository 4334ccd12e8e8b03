/**
 * Guest: the guest's end of the integration services. {@link org.vhdkit.stack.guest.ic.ShutdownGuest}
 * (the entry point) opens the shutdown channel the parent's {@code ic.IntegrationServices} offers,
 * negotiates its versions and answers shutdown requests with the program's handler; its failures are
 * {@link org.vhdkit.stack.guest.ic.IcException}s. The message layout is the parent's
 * {@code ic.IcMessage}.
 */
package org.vhdkit.stack.guest.ic;
