/**
 * The SCSI target: disks (and, later, DVD drives) seen as SCSI logical units. CDB in; data, status
 * and sense out. The seam shared by the synthetic SCSI path (a StorVSP executes the SRBs a guest
 * sends through it) and by ATAPI on the emulated IDE path.
 *
 * <ul>
 *   <li>{@link org.vhdkit.stack.scsi.LogicalUnit}: the seam; {@link org.vhdkit.stack.scsi.ScsiDisk}
 *       implements it over a {@link org.vhdkit.vhd.disk.VirtualDisk}.
 *   <li>{@link org.vhdkit.stack.scsi.ScsiTarget}: the units of one controller by LUN; answers REPORT
 *       LUNS and commands to LUNs with no unit, and announces hot add and remove.
 *   <li>{@link org.vhdkit.stack.scsi.ScsiCommand}: one request's CDB, data buffer (a scatter-gather
 *       list inside one segment, such as a guest's memory) and outcome; reusable, so the path
 *       allocates nothing per request.
 *   <li>{@link org.vhdkit.stack.scsi.Sense} and {@link org.vhdkit.stack.scsi.ScsiStatus}: what comes
 *       back, with fixed-format sense data.
 * </ul>
 *
 * Everything a command carries is untrusted guest input: a unit answers any CDB and any buffer
 * with a status and sense, and never reads or writes outside the disk or the buffer.
 *
 * <p>Host: device models, in the parent partition. The operation codes are the protocol's
 * ({@code org.vhdkit.stack.protocol.scsi.ScsiOpcodes}).
 */
package org.vhdkit.stack.scsi;
