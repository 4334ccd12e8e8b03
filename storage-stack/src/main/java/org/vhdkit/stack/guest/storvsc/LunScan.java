package org.vhdkit.stack.guest.storvsc;

import static org.vhdkit.stack.protocol.scsi.ScsiOpcodes.INQUIRY;
import static org.vhdkit.stack.protocol.scsi.ScsiOpcodes.MODE_SENSE_6;
import static org.vhdkit.stack.protocol.scsi.ScsiOpcodes.REPORT_LUNS;
import static org.vhdkit.stack.protocol.scsi.ScsiOpcodes.SERVICE_ACTION_IN_16;

import org.vhdkit.stack.memory.GuestMemory;
import org.vhdkit.stack.memory.GuestMemoryException;

/**
 * LUN discovery on one synthetic SCSI controller: REPORT LUNS, then for each LUN reported INQUIRY
 * (a direct-access block device?), READ CAPACITY(16) and MODE SENSE(6) (write protected?). Each
 * command runs on the controller's internal slot with its data in the controller's scratch page;
 * the scan marks the controller's disks found or gone.
 *
 * <p>Thread-safety: not thread-safe; confined, as its controller, to the virtual processor that
 * opened it.
 */
final class LunScan {
    private final StorvscController controller;
    private final GuestMemory memory;
    private final long scratch;

    /** A scan for {@code controller}, reading answers from its scratch page at {@code scratch}. */
    LunScan(StorvscController controller, GuestMemory memory, long scratch) {
        this.controller = controller;
        this.memory = memory;
        this.scratch = scratch;
    }

    /** Scans the bus once and updates {@code disks} (by LUN) to what it found. */
    void scan(StorvscDisk[] disks) throws StorvscException {
        boolean[] reported = reportLuns(disks);
        for (int lun = 0; lun < disks.length; lun++) {
            StorvscDisk d = disks[lun];
            if (!reported[lun] || !inquiryIsDisk(disks, lun)) {
                if (d != null) {
                    d.gone();
                }
                continue;
            }
            StorvscDisk probe = d != null ? d : new StorvscDisk(controller, lun);
            long[] capacity = readCapacity(probe);
            if (capacity == null) {
                probe.gone();
                continue;
            }
            boolean protectedFromWrites = writeProtected(probe);
            probe.found(capacity[0], (int) capacity[1], protectedFromWrites);
            disks[lun] = probe;
        }
    }

    private static StorvscDisk diskOrProbe(StorvscController controller, StorvscDisk[] disks, int lun) {
        return disks[lun] != null ? disks[lun] : new StorvscDisk(controller, lun);
    }

    private boolean[] reportLuns(StorvscDisk[] disks) throws StorvscException {
        int bytes = 8 + 8 * disks.length;
        byte[] cdb = new byte[12];
        cdb[0] = (byte) REPORT_LUNS;
        cdb[6] = (byte) (bytes >>> 24);
        cdb[7] = (byte) (bytes >>> 16);
        cdb[8] = (byte) (bytes >>> 8);
        cdb[9] = (byte) bytes;
        boolean[] found = new boolean[disks.length];
        RequestSlot answer = controller.internal(diskOrProbe(controller, disks, 0), cdb, bytes, scratch);
        if (answer.result != IoStatus.OK) {
            throw new StorvscException("storage channel " + controller.offer().channelId() + ": REPORT LUNS failed");
        }
        try {
            long listLength = Integer.toUnsignedLong(Integer.reverseBytes(memory.getInt(scratch)));
            long entries = Math.min(listLength / 8, (answer.transferred - 8) / 8);
            for (int i = 0; i < entries; i++) {
                int lun = memory.getByte(scratch + 8 + 8L * i + 1) & 0xFF;
                int addressing = memory.getByte(scratch + 8 + 8L * i) & 0xFF;
                if (addressing == 0 && lun < found.length) {
                    found[lun] = true;
                }
            }
        } catch (GuestMemoryException e) {
            throw new AssertionError("the driver's scratch page is outside guest memory", e);
        }
        return found;
    }

    private boolean inquiryIsDisk(StorvscDisk[] disks, int lun) throws StorvscException {
        byte[] cdb = {(byte) INQUIRY, 0, 0, 0, 36, 0};
        RequestSlot answer = controller.internal(diskOrProbe(controller, disks, lun), cdb, 36, scratch);
        if (answer.result != IoStatus.OK || answer.transferred < 1) {
            return false;
        }
        try {
            return (memory.getByte(scratch) & 0xFF) == 0x00; // qualifier 0, direct-access block device
        } catch (GuestMemoryException e) {
            throw new AssertionError(e);
        }
    }

    /** {blocks, block size}, or null when the LUN does not answer. */
    private long[] readCapacity(StorvscDisk disk) throws StorvscException {
        byte[] cdb = new byte[16];
        cdb[0] = (byte) SERVICE_ACTION_IN_16;
        cdb[1] = 0x10;
        cdb[13] = 32;
        if (controller.internal(disk, cdb, 32, scratch).result != IoStatus.OK) {
            return null;
        }
        try {
            long last = Long.reverseBytes(memory.getLong(scratch));
            long blockSize = Integer.toUnsignedLong(Integer.reverseBytes(memory.getInt(scratch + 8)));
            return new long[] {last + 1, blockSize};
        } catch (GuestMemoryException e) {
            throw new AssertionError(e);
        }
    }

    private boolean writeProtected(StorvscDisk disk) throws StorvscException {
        byte[] cdb = {(byte) MODE_SENSE_6, 0, 0x3F, 0, 4, 0};
        RequestSlot answer = controller.internal(disk, cdb, 4, scratch);
        if (answer.result != IoStatus.OK || answer.transferred < 3) {
            return false;
        }
        try {
            return (memory.getByte(scratch + 2) & 0x80) != 0;
        } catch (GuestMemoryException e) {
            throw new AssertionError(e);
        }
    }
}
