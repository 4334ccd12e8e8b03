package org.vhdkit.stack.ide;

import java.io.IOException;
import java.lang.System.Logger.Level;
import org.vhdkit.vhd.disk.VirtualDisk;

/**
 * An ATA hard disk on an IDE channel, backed by any {@link VirtualDisk} (a VHD or a pass-through
 * disk), addressed by LBA (28- and 48-bit; CHS addressing is aborted).
 *
 * <h2>Commands</h2>
 * IDENTIFY DEVICE (0xEC); READ/WRITE SECTORS (0x20/0x21, 0x30/0x31) and EXT (0x24/0x34); READ/WRITE
 * MULTIPLE (0xC4/0xC5) and EXT (0x29/0x39) after SET MULTIPLE MODE (0xC6: 1 to 16 sectors, a power
 * of two; 0 turns it off); READ/WRITE DMA (0xC8/0xC9, 0xCA/0xCB) and EXT (0x25/0x35); READ VERIFY
 * (0x40/0x41, 0x42); FLUSH CACHE (0xE7) and EXT (0xEA); SET FEATURES (0xEF: 0x03 transfer mode,
 * 0x02/0x82 write cache, 0x66/0xCC defaults); CHECK POWER MODE (0xE5), IDLE/STANDBY (0xE0-0xE3),
 * RECALIBRATE (0x1x) and INITIALIZE DEVICE PARAMETERS (0x91) as no-ops. Everything else, among it
 * DEVICE RESET, IDENTIFY PACKET DEVICE and PACKET, is aborted: ERR in the status, ABRT in the error
 * register, an interrupt. A command whose LBA bit is clear, whose sectors reach past the end, or
 * that writes a read-only disk is aborted before anything moves. A failed host read ends the
 * command with ERR and UNC; a failed write or flush with ERR and ABRT.
 *
 * <p>Thread-safety: confined to the VM worker's thread.
 */
final class AtaDisk extends IdeDrive {
    private static final System.Logger LOG = System.getLogger(AtaDisk.class.getName());
    static final int SECTOR = VirtualDisk.SECTOR_SIZE;
    static final int MAX_MULTIPLE = 16;
    static final long LBA28_LIMIT = 0x0FFF_FFFFL;

    private final VirtualDisk disk;
    private final boolean readOnly;
    private final long sectors;
    private final byte[] identify = new byte[512];

    private int multiple;
    /** The selected DMA mode: -1 none, 0x20|n multiword n, 0x40|n Ultra DMA n. */
    private int dmaMode = 0x42;

    private long lba;
    private long remaining;
    private int blockSectors;
    private int current;
    private boolean writing;
    private boolean dmaWrite;

    AtaDisk(IdeChannel channel, VirtualDisk disk, boolean readOnly, String serial) {
        super(channel);
        this.disk = disk;
        this.readOnly = readOnly || disk.isReadOnly();
        this.sectors = disk.size() / SECTOR;
        buildIdentify(serial);
        reset();
    }

    VirtualDisk disk() {
        return disk;
    }

    private void buildIdentify(String serial) {
        long cylinders = Math.max(1, Math.min(16383, sectors / (16 * 63)));
        putWord(identify, 0, 0x0040); // fixed device
        putWord(identify, 1, (int) cylinders);
        putWord(identify, 3, 16);
        putWord(identify, 6, 63);
        putString(identify, 10, 10, serial);
        putString(identify, 23, 4, "1.1.0");
        putString(identify, 27, 20, "Virtual HD");
        putWord(identify, 47, 0x8000 | MAX_MULTIPLE);
        putWord(identify, 49, 0x0300); // LBA and DMA supported
        putWord(identify, 50, 0x4000);
        putWord(identify, 53, 0x0007); // words 54-58, 64-70 and 88 are valid
        putWord(identify, 54, (int) cylinders);
        putWord(identify, 55, 16);
        putWord(identify, 56, 63);
        long chs = cylinders * 16 * 63;
        putWord(identify, 57, (int) chs);
        putWord(identify, 58, (int) (chs >>> 16));
        long lba28 = Math.min(sectors, LBA28_LIMIT);
        putWord(identify, 60, (int) lba28);
        putWord(identify, 61, (int) (lba28 >>> 16));
        putWord(identify, 64, 0x0003); // PIO modes 3 and 4
        for (int w = 65; w <= 68; w++) {
            putWord(identify, w, 120);
        }
        putWord(identify, 80, 0x007E); // ATA-1 to ATA-6
        putWord(identify, 82, 0x4000);
        putWord(identify, 83, 0x4000 | 0x2000 | 0x1000 | 0x0400); // FLUSH CACHE EXT, FLUSH CACHE, 48-bit
        putWord(identify, 84, 0x4000);
        putWord(identify, 85, 0x4000);
        putWord(identify, 86, 0x2000 | 0x1000 | 0x0400);
        putWord(identify, 87, 0x4000);
        for (int w = 0; w < 4; w++) {
            putWord(identify, 100 + w, (int) (sectors >>> (16 * w)));
        }
        updateModes();
    }

    private void updateModes() {
        putWord(identify, 59, multiple == 0 ? 0 : 0x0100 | multiple);
        int mw = 0x0007 | ((dmaMode & 0x60) == 0x20 ? 0x100 << (dmaMode & 7) : 0);
        int ud = 0x003F | ((dmaMode & 0x60) == 0x40 ? 0x100 << (dmaMode & 7) : 0);
        putWord(identify, 63, mw);
        putWord(identify, 88, ud);
    }

    /** The IDENTIFY DEVICE data as it stands, for tests. */
    byte[] identifyData() {
        return identify.clone();
    }

    @Override
    void reset() {
        cancel();
        signature(0x00, 0x00);
        status = DRDY | DSC;
    }

    @Override
    void cancel() {
        remaining = 0;
        current = 0;
    }

    @Override
    void command(int command) {
        switch (command) {
            case 0xEC -> {
                System.arraycopy(identify, 0, channel.buffer, 0, identify.length);
                remaining = 1;
                current = 1;
                writing = false;
                blockSectors = 0; // no disk behind this block
                offerIn();
            }
            case 0x20, 0x21 -> startPio(false, false, 1);
            case 0x24 -> startPio(true, false, 1);
            case 0xC4 -> startPio(false, false, multiple);
            case 0x29 -> startPio(true, false, multiple);
            case 0x30, 0x31 -> startPio(false, true, 1);
            case 0x34 -> startPio(true, true, 1);
            case 0xC5 -> startPio(false, true, multiple);
            case 0x39 -> startPio(true, true, multiple);
            case 0xC8, 0xC9 -> startDma(false, false);
            case 0x25 -> startDma(true, false);
            case 0xCA, 0xCB -> startDma(false, true);
            case 0x35 -> startDma(true, true);
            case 0x40, 0x41 -> done(address(false));
            case 0x42 -> done(address(true));
            case 0xE7, 0xEA -> flush();
            case 0xEF -> setFeatures();
            case 0xC6 -> setMultiple();
            case 0xE5 -> {
                count = 0xFF; // active or idle
                done(true);
            }
            case 0xE0, 0xE1, 0xE2, 0xE3, 0x91, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B,
                 0x1C, 0x1D, 0x1E, 0x1F -> done(true);
            default -> abort();
        }
    }

    /** Ends a non-data command: GOOD with an interrupt, or aborted. */
    private void done(boolean ok) {
        if (!ok) {
            abort();
            return;
        }
        status = DRDY | DSC;
        channel.interrupt();
    }

    /** Reads the command's address into {@link #lba} and {@link #remaining}; false when malformed or out of range. */
    private boolean address(boolean ext) {
        if ((device & LBA) == 0) {
            return false; // CHS addressing is not supported
        }
        long n;
        if (ext) {
            lba = (long) hobHigh << 40 | (long) hobMid << 32 | (long) hobLow << 24 | lbaHigh << 16 | lbaMid << 8 | lbaLow;
            n = hobCount << 8 | count;
            n = n == 0 ? 65536 : n;
        } else {
            lba = (long) (device & 0x0F) << 24 | lbaHigh << 16 | lbaMid << 8 | lbaLow;
            n = count == 0 ? 256 : count;
        }
        if (lba > sectors || n > sectors - lba) {
            return false;
        }
        remaining = n;
        return true;
    }

    private void startPio(boolean ext, boolean write, int block) {
        if (block == 0 || !address(ext) || (write && readOnly)) {
            remaining = 0;
            abort();
            return;
        }
        writing = write;
        blockSectors = block;
        if (write) {
            offerOut();
        } else if (load()) {
            offerIn();
        }
    }

    /** Reads the next block from the disk into the buffer; false (the command ended) when the host failed. */
    private boolean load() {
        current = (int) Math.min(remaining, blockSectors);
        try {
            disk.read(lba * SECTOR, channel.bufferSegment, 0, (long) current * SECTOR);
            return true;
        } catch (IOException | RuntimeException e) {
            hostFailure("read", e);
            remaining = 0;
            channel.endTransfer();
            error = UNC | ABRT;
            status = DRDY | DSC | ERR;
            channel.interrupt();
            return false;
        }
    }

    private void offerIn() {
        channel.startTransfer(this, 0, current * SECTOR, true);
        status = DRDY | DSC | DRQ;
        channel.interrupt();
    }

    private void offerOut() {
        current = (int) Math.min(remaining, blockSectors);
        channel.startTransfer(this, 0, current * SECTOR, false);
        status = DRDY | DSC | DRQ;
    }

    @Override
    void blockDone() {
        if (writing) {
            try {
                disk.write(lba * SECTOR, channel.bufferSegment, 0, (long) current * SECTOR);
            } catch (IOException | RuntimeException e) {
                hostFailure("write", e);
                remaining = 0;
                abort();
                return;
            }
        }
        lba += current;
        remaining -= current;
        if (remaining <= 0) {
            remaining = 0;
            status = DRDY | DSC;
            if (writing) {
                channel.interrupt();
            }
        } else if (writing) {
            offerOut();
            channel.interrupt();
        } else if (load()) {
            offerIn();
        }
    }

    private void startDma(boolean ext, boolean write) {
        if (!address(ext) || (write && readOnly) || dmaMode < 0) {
            remaining = 0;
            abort();
            return;
        }
        dmaWrite = write;
        status = DRDY | DSC | BSY;
        channel.awaitDma(this);
    }

    @Override
    void dmaStarted() {
        if ((status & BSY) == 0 || remaining == 0) {
            return;
        }
        IdeChannel.DmaResult result = channel.dma(disk, lba * SECTOR, remaining * SECTOR, !dmaWrite);
        remaining = 0;
        switch (result) {
            case DONE -> {
                status = DRDY | DSC;
                channel.interrupt();
            }
            case REFUSED -> abort();
            case HOST_FAILED -> {
                error = dmaWrite ? ABRT : UNC | ABRT;
                status = DRDY | DSC | ERR;
                channel.interrupt();
            }
        }
    }

    private void flush() {
        try {
            if (!readOnly) {
                disk.flush();
            }
            done(true);
        } catch (IOException | RuntimeException e) {
            hostFailure("flush", e);
            abort();
        }
    }

    private void setFeatures() {
        switch (features) {
            case 0x03 -> {
                int mode = count;
                boolean ok;
                if (mode == 0x00 || mode == 0x01 || (mode >= 0x08 && mode <= 0x0C)) {
                    ok = true; // PIO modes: all work
                } else if ((mode >= 0x20 && mode <= 0x22) || (mode >= 0x40 && mode <= 0x45)) {
                    dmaMode = mode;
                    updateModes();
                    ok = true;
                } else {
                    ok = false;
                }
                done(ok);
            }
            case 0x02, 0x82, 0x66, 0xCC, 0xAA, 0x55 -> done(true);
            default -> abort();
        }
    }

    private void setMultiple() {
        int n = count;
        if (n > MAX_MULTIPLE || (n & (n - 1)) != 0) {
            abort();
            return;
        }
        multiple = n;
        updateModes();
        done(true);
    }

    private void hostFailure(String what, Exception e) {
        LOG.log(Level.WARNING, "IDE channel {0}: host {1} of {2} at sector {3} failed: {4}", channel.index, what,
                disk.name(), lba, e.toString());
    }

    @Override
    void release() {
        if (!readOnly) {
            try {
                disk.flush();
            } catch (IOException | RuntimeException e) {
                LOG.log(Level.WARNING, "flushing " + disk.name() + " failed: " + e);
            }
        }
        try {
            disk.close();
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.WARNING, "closing " + disk.name() + " failed: " + e);
        }
    }
}
