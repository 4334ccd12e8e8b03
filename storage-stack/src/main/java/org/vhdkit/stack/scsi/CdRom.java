package org.vhdkit.stack.scsi;

import static org.vhdkit.stack.protocol.scsi.ScsiOpcodes.*;

import java.io.IOException;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;
import org.vhdkit.stack.scsi.ScsiCommand.Direction;
import org.vhdkit.vhd.disk.VirtualDisk;

/**
 * A CD/DVD-ROM drive as an MMC logical unit of 2048-byte blocks, holding an ISO image (any
 * read-only {@link VirtualDisk}) or nothing: what an ATAPI drive on the emulated IDE path answers
 * its packets with. It answers as Hyper-V's drive does ("Msft    " "Virtual DVD-ROM ").
 *
 * <h2>Commands</h2>
 * TEST UNIT READY, REQUEST SENSE, INQUIRY (standard data only; peripheral type 5, removable), READ
 * CAPACITY(10), READ(10) and READ(12), READ TOC/PMA/ATIP (format 0, the TOC of one data track, and
 * format 1, the session information), GET CONFIGURATION (the profile list with DVD-ROM 0x0010 and
 * CD-ROM 0x0008, the current one by the image's size, and the core feature), GET EVENT STATUS
 * NOTIFICATION (polled, the media class), MODE SENSE(10) (the capabilities page 0x2A or all pages
 * 0x3F), START STOP UNIT (LoEj with Start clear ejects the medium unless removal is prevented) and
 * PREVENT ALLOW MEDIUM REMOVAL. Anything else: ILLEGAL REQUEST / INVALID COMMAND OPERATION CODE.
 *
 * <h2>Errors, in the order checked</h2>
 * <ol>
 *   <li>CDB length outside 1 to 16: INVALID FIELD IN CDB.
 *   <li>A pending unit attention, except for INQUIRY, REQUEST SENSE (which returns it), GET
 *       CONFIGURATION and GET EVENT STATUS NOTIFICATION, which MMC lets through: the attention, once.
 *   <li>An unknown opcode: INVALID COMMAND OPERATION CODE.
 *   <li>No medium, for TEST UNIT READY, READ CAPACITY, READ and READ TOC: NOT READY / MEDIUM NOT
 *       PRESENT.
 *   <li>Reserved or unsupported fields: INVALID FIELD IN CDB.
 *   <li>Blocks past the end of the medium: LOGICAL BLOCK ADDRESS OUT OF RANGE.
 *   <li>A data buffer going the wrong way or shorter than the transfer: INVALID FIELD IN CDB.
 *   <li>A failed host read: MEDIUM ERROR / UNRECOVERED READ ERROR.
 * </ol>
 *
 * <h2>Media</h2>
 * {@link #insert} puts a medium in (posting UNIT ATTENTION / NOT READY TO READY CHANGE, MEDIUM MAY
 * HAVE CHANGED, and a new-media event); {@link #eject} takes it out (dropping that attention if the
 * initiator has not seen it yet, and posting a media-removal event): an initiator that polls an
 * empty drive sees NOT READY / MEDIUM NOT PRESENT, and after an insert first the unit attention,
 * then the data. A guest's eject (START STOP UNIT) takes the medium out and hands it to the
 * {@code ejected} callback given at construction, which closes it. The host may eject even when the
 * guest prevented removal (an administrator's eject wins, as on Hyper-V).
 *
 * <p>Thread-safety: every method may be called from any thread; the medium, the pending sense, the
 * media event and the prevent flag are guarded by this object's monitor, and a command runs whole
 * under it (one initiator, so nothing is lost by it). Unit attentions are {@link UnitAttentions}.
 * The medium is the caller's to close; this never closes it.
 */
public final class CdRom implements LogicalUnit {
    /** The logical block size of CD and DVD media. */
    public static final int BLOCK_SIZE = 2048;
    /** Media larger than this (a full 80-minute CD) are presented as DVD-ROM. */
    public static final long CD_MAX_BYTES = 360_000L * BLOCK_SIZE;
    /** ILLEGAL REQUEST / MEDIUM REMOVAL PREVENTED (0x53/0x02). */
    public static final Sense MEDIUM_REMOVAL_PREVENTED = new Sense(Sense.Key.ILLEGAL_REQUEST, 0x53, 0x02);

    /** MMC profiles. */
    public static final int PROFILE_NONE = 0x0000;
    public static final int PROFILE_CD_ROM = 0x0008;
    public static final int PROFILE_DVD_ROM = 0x0010;

    private static final int EVENT_NONE = 0;
    private static final int EVENT_NEW_MEDIA = 2;
    private static final int EVENT_MEDIA_REMOVAL = 3;

    private final String name;
    private final Consumer<VirtualDisk> ejected;
    private final UnitAttentions unitAttentions = new UnitAttentions();
    private VirtualDisk medium; // guarded by this
    private Sense pendingSense; // guarded by this
    private int mediaEvent = EVENT_NONE; // guarded by this
    private boolean prevented; // guarded by this

    /**
     * An empty drive called {@code name}; a guest's eject hands the medium to {@code ejected} (on
     * the thread executing that command). Thread-safe.
     */
    public CdRom(String name, Consumer<VirtualDisk> ejected) {
        this.name = Objects.requireNonNull(name, "name");
        this.ejected = Objects.requireNonNull(ejected, "ejected");
    }

    @Override
    public String name() {
        return name;
    }

    /**
     * Puts {@code disk} in the drive, which must be empty, and tells the initiator (unit attention,
     * new-media event). Thread-safe.
     *
     * @throws IllegalStateException when the drive holds a medium (eject it first)
     * @throws IllegalArgumentException when the disk is writable (media here are read-only)
     */
    public synchronized void insert(VirtualDisk disk) {
        Objects.requireNonNull(disk, "disk");
        if (medium != null) {
            throw new IllegalStateException(name + " already holds " + medium.name());
        }
        if (!disk.isReadOnly()) {
            throw new IllegalArgumentException(disk.name() + " is writable; a DVD drive takes read-only media");
        }
        medium = disk;
        mediaEvent = EVENT_NEW_MEDIA;
        unitAttentions.post(Sense.MEDIUM_MAY_HAVE_CHANGED);
    }

    /** Takes the medium out (even if the guest prevented removal) and returns it; empty if there was none. Thread-safe. */
    public synchronized Optional<VirtualDisk> eject() {
        VirtualDisk old = medium;
        if (old == null) {
            return Optional.empty();
        }
        removeMedium();
        return Optional.of(old);
    }

    private void removeMedium() {
        medium = null;
        mediaEvent = EVENT_MEDIA_REMOVAL;
        prevented = false;
        unitAttentions.clear(Sense.MEDIUM_MAY_HAVE_CHANGED);
    }

    /** The medium, if there is one. Thread-safe. */
    public synchronized Optional<VirtualDisk> medium() {
        return Optional.ofNullable(medium);
    }

    /** The number of 2048-byte blocks of the medium, 0 when empty. Thread-safe. */
    public synchronized long blocks() {
        return medium == null ? 0 : medium.size() / BLOCK_SIZE;
    }

    /** Whether the guest prevents removal (PREVENT ALLOW MEDIUM REMOVAL). Thread-safe. */
    public synchronized boolean removalPrevented() {
        return prevented;
    }

    @Override
    public void postUnitAttention(Sense sense) {
        unitAttentions.post(sense);
    }

    @Override
    public void clearUnitAttention(Sense sense) {
        unitAttentions.clear(sense);
    }

    /** Thread-safe: see the class comment. */
    @Override
    public synchronized void execute(ScsiCommand c) {
        dispatch(c);
        Sense sense = c.senseOrNull();
        if (sense != null) {
            pendingSense = sense;
        }
    }

    private void dispatch(ScsiCommand c) {
        int length = c.cdbLength();
        if (length < 1 || length > ScsiCommand.MAX_CDB_LENGTH) {
            c.checkCondition(Sense.INVALID_FIELD_IN_CDB);
            return;
        }
        byte[] cdb = c.cdbBytes();
        int op = cdb[0] & 0xFF;
        if (op != REQUEST_SENSE) {
            boolean passes = op == INQUIRY || op == GET_CONFIGURATION || op == GET_EVENT_STATUS_NOTIFICATION;
            if (!passes && unitAttentions.any()) {
                Sense attention = unitAttentions.take();
                if (attention != null) {
                    c.checkCondition(attention);
                    return;
                }
            }
            pendingSense = null;
        }
        int need = switch (op) {
            case TEST_UNIT_READY, REQUEST_SENSE, INQUIRY, START_STOP_UNIT,
                 PREVENT_ALLOW_MEDIUM_REMOVAL -> 6;
            case READ_CAPACITY_10, READ_10, READ_TOC, GET_CONFIGURATION, GET_EVENT_STATUS_NOTIFICATION,
                 MODE_SENSE_10 -> 10;
            case READ_12 -> 12;
            default -> 0;
        };
        if (need == 0) {
            c.checkCondition(Sense.INVALID_COMMAND_OPERATION_CODE);
            return;
        }
        boolean needsMedium = op == TEST_UNIT_READY || op == READ_CAPACITY_10 || op == READ_10
                || op == READ_12 || op == READ_TOC;
        if (needsMedium && medium == null) {
            c.checkCondition(Sense.MEDIUM_NOT_PRESENT);
            return;
        }
        if (length < need || (cdb[need - 1] & Cdb.NACA) != 0) {
            c.checkCondition(Sense.INVALID_FIELD_IN_CDB);
            return;
        }
        switch (op) {
            case TEST_UNIT_READY -> c.good(0);
            case REQUEST_SENSE -> unitAttentions.requestSense(c, cdb, () -> {
                Sense last = pendingSense;
                pendingSense = null;
                return last;
            });
            case INQUIRY -> inquiry(c, cdb);
            case READ_CAPACITY_10 -> {
                byte[] data = new byte[8];
                Cdb.put32(data, 0, Math.max(0, blocks() - 1));
                Cdb.put32(data, 4, BLOCK_SIZE);
                c.completeDataIn(data, 8);
            }
            case READ_10 -> read(c, Cdb.u32(cdb, 2), Cdb.u16(cdb, 7), cdb[1]);
            case READ_12 -> read(c, Cdb.u32(cdb, 2), Cdb.u32(cdb, 6), cdb[1]);
            case READ_TOC -> readToc(c, cdb);
            case GET_CONFIGURATION -> getConfiguration(c, cdb);
            case GET_EVENT_STATUS_NOTIFICATION -> eventStatus(c, cdb);
            case MODE_SENSE_10 -> modeSense(c, cdb);
            case START_STOP_UNIT -> startStop(c, cdb);
            case PREVENT_ALLOW_MEDIUM_REMOVAL -> {
                if ((cdb[4] & ~0x03) != 0) {
                    c.checkCondition(Sense.INVALID_FIELD_IN_CDB);
                } else {
                    prevented = (cdb[4] & 0x01) != 0;
                    c.good(0);
                }
            }
            default -> c.checkCondition(Sense.INVALID_COMMAND_OPERATION_CODE);
        }
    }

    private void read(ScsiCommand c, long lba, long count, byte flags) {
        // Byte 1: DPO (4) and FUA (3) are harmless on a read-only medium; RARC, protection and the rest are not supported.
        if ((flags & ~0x18) != 0) {
            c.checkCondition(Sense.INVALID_FIELD_IN_CDB);
            return;
        }
        long blocks = blocks();
        if (lba > blocks || count > blocks - lba) {
            c.checkCondition(Sense.LBA_OUT_OF_RANGE);
            return;
        }
        long bytes = count * BLOCK_SIZE;
        if (bytes > 0 && (c.direction() != Direction.IN || c.dataLength() < bytes)) {
            c.checkCondition(Sense.INVALID_FIELD_IN_CDB);
            return;
        }
        try {
            if (bytes > 0) {
                c.copyFrom(medium, lba * BLOCK_SIZE, bytes);
            }
            c.good(bytes);
        } catch (IOException | RuntimeException e) {
            c.checkCondition(Sense.UNRECOVERED_READ_ERROR);
        }
    }

    private void inquiry(ScsiCommand c, byte[] cdb) {
        if (cdb[1] != 0 || cdb[2] != 0) {
            c.checkCondition(Sense.INVALID_FIELD_IN_CDB);
            return;
        }
        byte[] data = new byte[36];
        data[0] = 0x05; // peripheral qualifier 0, device type 5 (CD/DVD)
        data[1] = (byte) 0x80; // removable
        data[2] = 0x05; // SPC-3
        data[3] = 0x32; // HiSup, response data format 2
        data[4] = 31;
        Cdb.putAscii(data, 8, "Msft    ");
        Cdb.putAscii(data, 16, "Virtual DVD-ROM ");
        Cdb.putAscii(data, 32, "1.0 ");
        c.completeDataIn(data, Cdb.u16(cdb, 3));
    }

    /** READ TOC/PMA/ATIP, formats 0 (TOC) and 1 (session information); MSF or LBA addresses. */
    private void readToc(ScsiCommand c, byte[] cdb) {
        boolean msf = (cdb[1] & 0x02) != 0;
        int format = cdb[2] & 0x0F;
        if (format == 0 && (cdb[9] & 0xC0) != 0) {
            format = (cdb[9] & 0xC0) >>> 6; // the old-style format field in the control byte
        }
        int track = Cdb.u8(cdb, 6);
        long blocks = blocks();
        byte[] data;
        switch (format) {
            case 0 -> {
                if (track > 1 && track != 0xAA) {
                    c.checkCondition(Sense.INVALID_FIELD_IN_CDB);
                    return;
                }
                boolean withTrack1 = track <= 1;
                data = new byte[4 + 8 * (withTrack1 ? 2 : 1)];
                int at = 4;
                if (withTrack1) {
                    descriptor(data, at, 1, 0, msf);
                    at += 8;
                }
                descriptor(data, at, 0xAA, blocks, msf);
                data[2] = 1;
                data[3] = 1;
            }
            case 1 -> {
                data = new byte[12];
                data[2] = 1;
                data[3] = 1;
                descriptor(data, 4, 1, 0, msf);
            }
            default -> {
                c.checkCondition(Sense.INVALID_FIELD_IN_CDB);
                return;
            }
        }
        Cdb.put16(data, 0, data.length - 2);
        c.completeDataIn(data, Cdb.u16(cdb, 7));
    }

    private static void descriptor(byte[] data, int at, int track, long lba, boolean msf) {
        data[at + 1] = 0x14; // ADR 1, control 4: a data track
        data[at + 2] = (byte) track;
        if (msf) {
            long frames = lba + 150;
            data[at + 5] = (byte) (frames / (75 * 60));
            data[at + 6] = (byte) (frames / 75 % 60);
            data[at + 7] = (byte) (frames % 75);
        } else {
            Cdb.put32(data, at + 4, lba);
        }
    }

    /** The profile the drive presents: none when empty, else DVD-ROM or CD-ROM by the medium's size. */
    public synchronized int currentProfile() {
        if (medium == null) {
            return PROFILE_NONE;
        }
        return medium.size() > CD_MAX_BYTES ? PROFILE_DVD_ROM : PROFILE_CD_ROM;
    }

    private void getConfiguration(ScsiCommand c, byte[] cdb) {
        int rt = cdb[1] & 0x03;
        if ((cdb[1] & ~0x03) != 0 || rt == 3) {
            c.checkCondition(Sense.INVALID_FIELD_IN_CDB);
            return;
        }
        int start = Cdb.u16(cdb, 2);
        int profile = currentProfile();
        byte[] profileList = new byte[4 + 8];
        Cdb.put16(profileList, 0, 0x0000);
        profileList[2] = 0x03; // persistent, current
        profileList[3] = 8;
        Cdb.put16(profileList, 4, PROFILE_DVD_ROM);
        profileList[6] = (byte) (profile == PROFILE_DVD_ROM ? 1 : 0);
        Cdb.put16(profileList, 8, PROFILE_CD_ROM);
        profileList[10] = (byte) (profile == PROFILE_CD_ROM ? 1 : 0);
        byte[] core = new byte[4 + 8];
        Cdb.put16(core, 0, 0x0001);
        core[2] = 0x0B; // version 2, persistent, current
        core[3] = 8;
        Cdb.put32(core, 4, 2); // physical interface standard: ATAPI
        byte[][] features = {profileList, core};
        int[] codes = {0x0000, 0x0001};
        int total = 8;
        for (int i = 0; i < features.length; i++) {
            if (wanted(rt, start, codes[i])) {
                total += features[i].length;
            }
        }
        byte[] data = new byte[total];
        Cdb.put32(data, 0, total - 4);
        Cdb.put16(data, 6, profile);
        int at = 8;
        for (int i = 0; i < features.length; i++) {
            if (wanted(rt, start, codes[i])) {
                System.arraycopy(features[i], 0, data, at, features[i].length);
                at += features[i].length;
            }
        }
        c.completeDataIn(data, Cdb.u16(cdb, 7));
    }

    private static boolean wanted(int rt, int start, int code) {
        return rt == 2 ? code == start : code >= start;
    }

    /** GET EVENT STATUS NOTIFICATION: polled only; the media class; reporting an event clears it. */
    private void eventStatus(ScsiCommand c, byte[] cdb) {
        if ((cdb[1] & 0x01) == 0) {
            c.checkCondition(Sense.INVALID_FIELD_IN_CDB); // asynchronous notification is not supported
            return;
        }
        boolean media = (cdb[4] & 0x10) != 0;
        byte[] data;
        if (media) {
            data = new byte[8];
            Cdb.put16(data, 0, 6);
            data[2] = 0x04; // media class
            data[3] = 0x10; // supported: media
            data[4] = (byte) mediaEvent;
            data[5] = (byte) (medium != null ? 0x02 : 0x00); // media present; door closed
            mediaEvent = EVENT_NONE;
        } else {
            data = new byte[4];
            Cdb.put16(data, 0, 2);
            data[2] = (byte) 0x80; // no event available
            data[3] = 0x10;
        }
        c.completeDataIn(data, Cdb.u16(cdb, 7));
    }

    /** MODE SENSE(10): the CD/DVD capabilities page 0x2A, alone or as all pages. */
    private void modeSense(ScsiCommand c, byte[] cdb) {
        int pageControl = Cdb.u8(cdb, 2) >>> 6;
        int page = cdb[2] & 0x3F;
        if ((cdb[1] & ~0x08) != 0 || (page != 0x2A && page != 0x3F) || (cdb[3] != 0 && (cdb[3] & 0xFF) != 0xFF)) {
            c.checkCondition(Sense.INVALID_FIELD_IN_CDB);
            return;
        }
        if (pageControl == 3) {
            c.checkCondition(Sense.SAVING_PARAMETERS_NOT_SUPPORTED);
            return;
        }
        byte[] data = new byte[8 + 28];
        Cdb.put16(data, 0, data.length - 2);
        byte[] p = new byte[28];
        p[0] = 0x2A;
        p[1] = 26;
        if (pageControl != 1) {
            p[2] = 0x3B; // reads CD-R, CD-RW, method 2, DVD-ROM, DVD-R, DVD-RAM
            p[4] = 0x71; // audio play, composite, digital ports, multi-session
            p[5] = 0x00;
            p[6] = (byte) (0x29 | (prevented ? 0x02 : 0)); // tray, eject, lock supported; lock state
            Cdb.put16(p, 8, 706); // maximum read speed in kB/s (4x CD), obsolete but still read
            Cdb.put16(p, 12, 512); // buffer size in KiB
        }
        System.arraycopy(p, 0, data, 8, p.length);
        c.completeDataIn(data, Cdb.u16(cdb, 7));
    }

    private void startStop(ScsiCommand c, byte[] cdb) {
        int bits = cdb[4] & 0xFF;
        if ((bits & 0xF0) != 0) { // power conditions are not supported
            c.checkCondition(Sense.INVALID_FIELD_IN_CDB);
            return;
        }
        boolean loadEject = (bits & 0x02) != 0;
        boolean start = (bits & 0x01) != 0;
        if (loadEject && !start && medium != null) {
            if (prevented) {
                c.checkCondition(MEDIUM_REMOVAL_PREVENTED);
                return;
            }
            VirtualDisk old = medium;
            removeMedium();
            mediaEvent = EVENT_NONE; // the guest asked for it: nothing to tell it
            ejected.accept(old);
        }
        c.good(0);
    }

    @Override
    public String toString() {
        return "CdRom[" + name + ", " + (medium == null ? "empty" : medium.name()) + "]";
    }
}
