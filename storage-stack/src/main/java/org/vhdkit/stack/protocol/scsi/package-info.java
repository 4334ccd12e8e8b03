/**
 * Protocol: the SCSI command set as it travels on the wire, shared by the parent's device models
 * and the guest's drivers. {@link org.vhdkit.stack.protocol.scsi.ScsiOpcodes} is the one table of
 * operation codes; the CDB field readers of the device model stay in {@code org.vhdkit.stack.scsi}.
 * Neither host nor guest: both sides import it, it imports neither.
 */
package org.vhdkit.stack.protocol.scsi;
