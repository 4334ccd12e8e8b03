package org.vhdkit.stack.scsi;

import static org.vhdkit.stack.protocol.scsi.ScsiOpcodes.*;

import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The logical units behind one SCSI target (a synthetic SCSI controller puts every disk on one
 * target, at LUN = its slot, 0 to 63 on Hyper-V): routes each command to the unit at its LUN, and
 * answers what belongs to the target rather than to any unit.
 *
 * <h2>What the target answers</h2>
 * <ul>
 *   <li>REPORT LUNS (opcode 0xA0), addressed to any LUN, attached or not: the attached LUNs,
 *       ascending, in single-level peripheral device addressing (byte 1 = LUN). SELECT REPORT 0, 1
 *       (well-known LUNs only: none) and 2 are accepted; others are INVALID FIELD IN CDB. It clears
 *       REPORTED LUNS DATA HAS CHANGED on the unit it was addressed to. It is answered here because
 *       only the target knows the inventory; a unit asked directly does not know it.
 *   <li>Commands to a LUN with no unit (or outside 0 to {@code lunCount - 1}), per SPC: INQUIRY
 *       returns standard data with peripheral qualifier 3 (0x7F: no unit can be here), REQUEST
 *       SENSE returns LOGICAL UNIT NOT SUPPORTED as its data, everything else is CHECK CONDITION
 *       ILLEGAL REQUEST / LOGICAL UNIT NOT SUPPORTED (0x25/0x00). A transport that reports missing
 *       LUNs in its own status (the SRB status INVALID LUN of the storage protocol) asks
 *       {@link #isAttached} first.
 * </ul>
 *
 * <h2>Hot add and remove</h2>
 * {@link #hotAdd} and {@link #hotRemove} post REPORTED LUNS DATA HAS CHANGED (0x3F/0x0E) to every
 * other attached unit, which reports it once on its next command; a guest rescans on it. With no
 * other unit attached nobody can carry it: the transport must also tell the guest its own way (the
 * storage protocol's enumerate-bus message). {@link #attach} and {@link #detach} change the
 * inventory quietly, for configuring a target before a guest sees it.
 *
 * <p>Thread-safety: {@link #execute} from any number of threads at once, lock-free (the units are an
 * {@link AtomicReferenceArray}); attaching and detaching hold the target's monitor, so the check
 * for a free slot and the announcement are one step. A unit detached while commands run on it
 * finishes them; the caller closes its disk only after they complete.
 */
public final class ScsiTarget {
    /** The most LUNs single-level peripheral device addressing can name. */
    public static final int MAX_LUNS = 256;

    private static final byte[] NO_UNIT_INQUIRY = noUnitInquiry();

    private final String name;
    private final AtomicReferenceArray<LogicalUnit> units;

    /**
     * An empty target named {@code name} (for messages) with LUNs 0 to {@code lunCount - 1}.
     *
     * @throws IllegalArgumentException unless {@code 1 <= lunCount <= 256}
     */
    public ScsiTarget(String name, int lunCount) {
        this.name = Objects.requireNonNull(name, "name");
        if (lunCount < 1 || lunCount > MAX_LUNS) {
            throw new IllegalArgumentException("a target has 1 to " + MAX_LUNS + " LUNs, not " + lunCount);
        }
        this.units = new AtomicReferenceArray<>(lunCount);
    }

    /** The target's name. Thread-safe. */
    public String name() {
        return name;
    }

    /** The number of LUNs. Thread-safe. */
    public int lunCount() {
        return units.length();
    }

    /**
     * Puts {@code unit} at {@code lun} without telling the other units. Thread-safe (holds the
     * target's monitor).
     *
     * @throws IllegalArgumentException when the LUN is outside the target
     * @throws IllegalStateException when a unit is there already (the VM configuration refuses a
     *     taken slot before it gets here)
     */
    public synchronized void attach(int lun, LogicalUnit unit) {
        Objects.requireNonNull(unit, "unit");
        checkLun(lun);
        if (!units.compareAndSet(lun, null, unit)) {
            throw new IllegalStateException(name + ": LUN " + lun + " already holds " + units.get(lun).name());
        }
    }

    /** {@link #attach}, then REPORTED LUNS DATA HAS CHANGED to every other unit. Thread-safe, as attach. */
    public synchronized void hotAdd(int lun, LogicalUnit unit) {
        attach(lun, unit);
        announce(lun);
    }

    /**
     * Takes the unit away from {@code lun} without telling the other units; returns it, or empty
     * when there was none. Thread-safe (holds the target's monitor); commands already running on
     * the unit finish.
     *
     * @throws IllegalArgumentException when the LUN is outside the target
     */
    public synchronized Optional<LogicalUnit> detach(int lun) {
        checkLun(lun);
        return Optional.ofNullable(units.getAndSet(lun, null));
    }

    /**
     * {@link #detach}, then (when there was a unit) REPORTED LUNS DATA HAS CHANGED to every other
     * unit. Thread-safe, as detach.
     */
    public synchronized Optional<LogicalUnit> hotRemove(int lun) {
        Optional<LogicalUnit> removed = detach(lun);
        if (removed.isPresent()) {
            announce(lun);
        }
        return removed;
    }

    private void announce(int changedLun) {
        for (int i = 0; i < units.length(); i++) {
            LogicalUnit other = units.get(i);
            if (other != null && i != changedLun) {
                other.postUnitAttention(Sense.REPORTED_LUNS_DATA_CHANGED);
            }
        }
    }

    private void checkLun(int lun) {
        if (lun < 0 || lun >= units.length()) {
            throw new IllegalArgumentException(name + ": LUN " + lun + " is outside 0 to " + (units.length() - 1));
        }
    }

    /** Whether a unit is at {@code lun}; false for any LUN outside the target. Thread-safe. */
    public boolean isAttached(int lun) {
        return lun >= 0 && lun < units.length() && units.get(lun) != null;
    }

    /** The unit at {@code lun}, if any; empty for any LUN outside the target. Thread-safe. */
    public Optional<LogicalUnit> unit(int lun) {
        return lun >= 0 && lun < units.length() ? Optional.ofNullable(units.get(lun)) : Optional.empty();
    }

    /** The attached LUNs, ascending. Thread-safe (a snapshot). */
    public int[] luns() {
        int[] luns = new int[units.length()];
        int n = 0;
        for (int i = 0; i < units.length(); i++) {
            if (units.get(i) != null) {
                luns[n++] = i;
            }
        }
        return Arrays.copyOf(luns, n);
    }

    /**
     * Executes {@code command} as addressed to {@code lun} (any value: it comes from the guest) and
     * completes it. Thread-safe; allocates nothing of its own on the way to a unit.
     */
    public void execute(int lun, ScsiCommand command) {
        LogicalUnit unit = lun >= 0 && lun < units.length() ? units.get(lun) : null;
        int length = command.cdbLength();
        if (length >= 1 && command.cdbByte(0) == REPORT_LUNS) {
            reportLuns(unit, command);
        } else if (unit != null) {
            unit.execute(command);
        } else {
            noUnit(command);
        }
    }

    private void reportLuns(LogicalUnit addressed, ScsiCommand c) {
        byte[] cdb = c.cdbBytes();
        int length = c.cdbLength();
        int select = Cdb.u8(cdb, 2);
        if (length < 12 || length > ScsiCommand.MAX_CDB_LENGTH || (cdb[11] & Cdb.NACA) != 0 || select > 2) {
            c.checkCondition(Sense.INVALID_FIELD_IN_CDB);
            return;
        }
        int[] luns = select == 1 ? new int[0] : luns();
        byte[] data = new byte[8 + 8 * luns.length];
        Cdb.put32(data, 0, 8L * luns.length);
        for (int i = 0; i < luns.length; i++) {
            data[8 + 8 * i + 1] = (byte) luns[i];
        }
        if (c.completeDataIn(data, Cdb.u32(cdb, 6)) && addressed != null) {
            addressed.clearUnitAttention(Sense.REPORTED_LUNS_DATA_CHANGED);
        }
    }

    private static void noUnit(ScsiCommand c) {
        int length = c.cdbLength();
        int op = length >= 1 ? c.cdbByte(0) : -1;
        if (length >= 6 && length <= ScsiCommand.MAX_CDB_LENGTH && op == INQUIRY && c.cdbByte(1) == 0
                && c.cdbByte(2) == 0) {
            c.completeDataIn(NO_UNIT_INQUIRY, (c.cdbByte(3) << 8) | c.cdbByte(4));
        } else if (length >= 6 && length <= ScsiCommand.MAX_CDB_LENGTH && op == REQUEST_SENSE
                && c.cdbByte(1) == 0) {
            c.completeDataIn(Sense.LOGICAL_UNIT_NOT_SUPPORTED.toFixed(), c.cdbByte(4));
        } else {
            c.checkCondition(Sense.LOGICAL_UNIT_NOT_SUPPORTED);
        }
    }

    /** Standard INQUIRY data for a LUN with no unit: peripheral qualifier 3, device type 0x1F. */
    private static byte[] noUnitInquiry() {
        byte[] b = new byte[36];
        b[0] = 0x7F;
        b[2] = 0x05;
        b[3] = 0x02;
        b[4] = 31;
        return b;
    }

    @Override
    public String toString() {
        return "ScsiTarget[" + name + ", LUNs " + Arrays.toString(luns()) + "]";
    }
}
