/**
 * The parent's end of the synthetic SCSI path: {@link org.vhdkit.stack.storvsp.StorVsp} (the entry
 * point), one per synthetic SCSI controller, a {@link org.vhdkit.stack.vmbus.VmbusDevice} that speaks
 * the storage protocol (the codecs of {@link org.vhdkit.stack.protocol.storage}, shared with the
 * guest's driver) on the controller's channel and executes the guest's SCSI request blocks through a
 * {@link org.vhdkit.stack.scsi.ScsiTarget}, data moved straight between the disk and the guest's
 * pages.
 *
 * <p>Everything a guest sends is untrusted: a malformed packet closes its channel (and nothing
 * else), a well-formed request the protocol refuses is answered with the status the protocol
 * notes give, and nothing reaches the disk or guest memory before it was checked.
 *
 * <p>Host: the parent's side; the guest's driver is {@code org.vhdkit.stack.guest.storvsc}.
 */
package org.vhdkit.stack.storvsp;
