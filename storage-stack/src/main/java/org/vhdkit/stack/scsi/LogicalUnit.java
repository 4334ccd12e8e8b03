package org.vhdkit.stack.scsi;

/**
 * A SCSI logical unit: CDB in, data and status and sense out. The seam between a transport that
 * carries a guest's commands (the StorVSP of a synthetic SCSI controller, through a
 * {@link ScsiTarget}; the ATAPI packet interface of an IDE drive) and what answers them (a
 * {@link ScsiDisk} over a virtual disk; a DVD drive over an ISO file).
 *
 * <h2>Contract</h2>
 * <ul>
 *   <li>{@link #execute} runs a command to completion on the calling thread and completes it
 *       ({@link ScsiCommand#isComplete()} is true afterwards). Everything in the command is
 *       untrusted: whatever its CDB and buffer hold, the unit answers with a status and sense, never
 *       throws, never touches the disk outside its size or the buffer outside its ranges.
 *   <li>A CHECK CONDITION carries fixed-format sense data; the unit also keeps it as pending sense
 *       until the next command, for REQUEST SENSE (what an initiator without autosense, such as an
 *       ATAPI host, asks next). There is one initiator per unit here (the one guest that owns the
 *       controller), so pending sense and unit attentions are kept per unit, not per initiator.
 *   <li>Unit attentions are reported once each, in the order posted, on the next command other
 *       than INQUIRY, REPORT LUNS and REQUEST SENSE; REQUEST SENSE returns (and clears) the oldest
 *       one as its data.
 * </ul>
 *
 * <p>Thread-safety: implementations accept any number of {@link #execute} calls at once, each with
 * its own command, from any threads, together with {@link #postUnitAttention} and
 * {@link #clearUnitAttention}; each says what guards its shared state.
 */
public interface LogicalUnit {

    /** What the unit is, for messages. */
    String name();

    /** Executes {@code command} and completes it. See the class comment. */
    void execute(ScsiCommand command);

    /**
     * Establishes a unit attention condition (sense key UNIT ATTENTION), reported once on a later
     * command. Posting one that is already pending does nothing.
     *
     * @throws IllegalArgumentException when the sense key is not UNIT ATTENTION
     */
    void postUnitAttention(Sense sense);

    /** Drops a pending unit attention, if there is one (REPORT LUNS clears REPORTED LUNS DATA HAS CHANGED). */
    void clearUnitAttention(Sense sense);
}
