package org.vhdkit.stack.guest.ide;

import java.time.Duration;
import org.vhdkit.stack.ide.IdeInterrupts;
import org.vhdkit.stack.memory.GuestMemory;
import org.vhdkit.stack.memory.GuestMemoryException;
import org.vhdkit.stack.partition.GuestContext;
import org.vhdkit.stack.partition.GuestSignal;
import org.vhdkit.stack.protocol.scsi.ScsiOpcodes;

/**
 * A guest's driver for one ATA or ATAPI device on the emulated IDE controller: what a legacy guest
 * runs. Every register access is port I/O through the {@link GuestContext}, so each is an intercept
 * the VM counts (the driver counts nothing itself). Commands end with the channel's interrupt
 * ({@link IdeInterrupts}), which the driver waits for with {@link GuestContext#await}.
 *
 * <ul>
 *   <li>ATA: {@link #identify()}, {@link #read} and {@link #write} by PIO (one sector per DRQ block,
 *       or {@link Mode#PIO_MULTIPLE} after {@link #setMultiple}) or by bus-master DMA (a PRD table
 *       it builds in its scratch page), the 28-bit commands when the range fits and the 48-bit ones
 *       otherwise, and {@link #flush()}.
 *   <li>ATAPI: {@link #packet} sends a 12-byte packet and reads its data-in by PIO;
 *       {@link #readCd} reads 2048-byte blocks; {@link #requestSense} fetches the sense of a failure.
 * </ul>
 * Data moves between the device and guest memory at the addresses given: by the processor through
 * the data port for PIO (a DRQ block of ATA data by one REP INSD / REP OUTSD, which costs an intercept
 * per page rather than one per 32 bits; ATAPI data and IDENTIFY by single accesses), by the
 * controller for DMA.
 *
 * <p>Thread-safety: a driver belongs to the processor whose context it was given; use it only there.
 */
public final class IdeDriver {
    /** ATA sector size. */
    public static final int SECTOR = 512;
    /** CD/DVD block size. */
    public static final int CD_BLOCK = 2048;
    /** Where the bus-master registers are (see the controller's documentation). */
    public static final int BUS_MASTER_BASE = 0xC000;
    private static final int[] COMMAND_BLOCK = {0x1F0, 0x170};
    private static final int[] CONTROL_BLOCK = {0x3F6, 0x376};
    private static final int BSY = 0x80;
    private static final int DRQ = 0x08;
    private static final int ERR = 0x01;
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static final int SPINS = 100_000;

    /** How {@link #read} and {@link #write} move the data. */
    public enum Mode {
        /** PIO, one sector per interrupt. */
        PIO,
        /** PIO, {@link #setMultiple} sectors per interrupt (READ/WRITE MULTIPLE). */
        PIO_MULTIPLE,
        /** Bus-master DMA from a PRD table. */
        DMA
    }

    /**
     * What IDENTIFY (PACKET) DEVICE said.
     *
     * @param packet      an ATAPI device
     * @param sectors     the addressable sectors (words 100-103 with 48-bit addressing, else 60-61)
     * @param lba48       48-bit addressing supported (word 83 bit 10)
     * @param flushExt    FLUSH CACHE EXT supported (word 83 bit 13)
     * @param dma         DMA supported (word 49 bit 8)
     * @param maxMultiple the most sectors per DRQ block of READ/WRITE MULTIPLE (word 47)
     * @param model       the model string (words 27-46)
     * @param serial      the serial number (words 10-19)
     * @param words       all 256 words
     */
    public record Identity(boolean packet, long sectors, boolean lba48, boolean flushExt, boolean dma, int maxMultiple,
            String model, String serial, int[] words) {
    }

    private final GuestContext ctx;
    private final GuestMemory memory;
    private final int unit;
    private final int base;
    private final int control;
    private final int busMaster;
    private final GuestSignal irq;
    private final long scratch;
    private boolean lba48 = true;
    private int multiple;

    private IdeDriver(GuestContext ctx, int channel, int unit, long scratch) {
        this.ctx = ctx;
        this.memory = ctx.memory();
        this.unit = unit;
        this.base = COMMAND_BLOCK[channel];
        this.control = CONTROL_BLOCK[channel];
        this.busMaster = BUS_MASTER_BASE + 8 * channel;
        this.irq = ctx.service(IdeInterrupts.class).orElseThrow(() -> new IllegalStateException(
                "this VM offers no IDE interrupts: it has no emulated IDE controller")).of(channel);
        this.scratch = scratch;
    }

    /**
     * A driver for device {@code unit} (0 master, 1 slave) of channel {@code channel} (0 primary, 1
     * secondary). {@code scratch} is a guest page (4 KiB, page-aligned) the driver may use for its PRD
     * tables and sense data. Enables interrupts on the channel (nIEN clear).
     */
    public static IdeDriver open(GuestContext ctx, int channel, int unit, long scratch) throws IdeException {
        if (channel < 0 || channel > 1 || unit < 0 || unit > 1) {
            throw new IllegalArgumentException("IDE channel " + channel + " device " + unit + " does not exist");
        }
        if ((scratch & 0xFFF) != 0) {
            throw new IllegalArgumentException("the scratch page must be page-aligned");
        }
        IdeDriver d = new IdeDriver(ctx, channel, unit, scratch);
        d.ctx.out8(d.control, 0x00);
        d.ctx.out8(d.base + 6, 0xA0 | unit << 4);
        int status = d.ctx.in8(d.control);
        if (status == 0xFF || status == 0x00 && d.ctx.in8(d.base + 4) == 0 && d.ctx.in8(d.base + 5) == 0) {
            throw new IdeException("no device at IDE channel " + channel + " device " + unit, status, 0);
        }
        return d;
    }

    /** The scratch page. */
    public long scratch() {
        return scratch;
    }

    // ---- ATA ----

    /**
     * IDENTIFY DEVICE, or for an ATAPI device (which aborts it with the 0x14/0xEB signature) IDENTIFY
     * PACKET DEVICE. Remembers whether 48-bit commands may be used.
     */
    public Identity identify() throws IdeException {
        int[] words = new int[256];
        boolean packet = false;
        select();
        command(0xEC);
        int status = awaitInterrupt();
        if ((status & ERR) != 0) {
            int error = ctx.in8(base + 1);
            if (ctx.in8(base + 4) == 0x14 && ctx.in8(base + 5) == 0xEB) {
                packet = true;
                select();
                command(0xA1);
                status = awaitInterrupt();
            }
            if ((status & ERR) != 0) {
                throw new IdeException("IDENTIFY failed", status, packet ? ctx.in8(base + 1) : error);
            }
        }
        if ((status & DRQ) == 0) {
            throw new IdeException("IDENTIFY returned no data", status, ctx.in8(base + 1));
        }
        for (int i = 0; i < 256; i += 2) {
            int v = ctx.in32(base);
            words[i] = v & 0xFFFF;
            words[i + 1] = v >>> 16;
        }
        boolean big = (words[83] & 0x0400) != 0;
        long sectors = big ? (long) words[100] | (long) words[101] << 16 | (long) words[102] << 32
                | (long) words[103] << 48 : (long) words[60] | (long) words[61] << 16;
        lba48 = big;
        return new Identity(packet, packet ? 0 : sectors, big, (words[83] & 0x2000) != 0, (words[49] & 0x0100) != 0,
                words[47] & 0xFF, string(words, 27, 20), string(words, 10, 10), words);
    }

    private static String string(int[] words, int first, int count) {
        StringBuilder s = new StringBuilder();
        for (int i = first; i < first + count; i++) {
            s.append((char) (words[i] >>> 8)).append((char) (words[i] & 0xFF));
        }
        return s.toString().strip();
    }

    /** SET MULTIPLE MODE: {@code sectors} per DRQ block for {@link Mode#PIO_MULTIPLE}. */
    public void setMultiple(int sectors) throws IdeException {
        taskFile(0, sectors, 0, false);
        command(0xC6);
        check("SET MULTIPLE MODE", awaitInterrupt());
        multiple = sectors;
    }

    /** SET FEATURES with subcommand {@code feature} and sector count {@code value}. */
    public void setFeatures(int feature, int value) throws IdeException {
        taskFile(feature, value, 0, false);
        command(0xEF);
        check("SET FEATURES", awaitInterrupt());
    }

    /** Reads {@code sectors} (1 to 65536) from {@code lba} into guest memory at {@code gpa}. */
    public void read(long lba, int sectors, long gpa, Mode mode) throws IdeException {
        transfer(lba, sectors, gpa, mode, false);
    }

    /** Writes {@code sectors} (1 to 65536) at {@code lba} from guest memory at {@code gpa}. */
    public void write(long lba, int sectors, long gpa, Mode mode) throws IdeException {
        transfer(lba, sectors, gpa, mode, true);
    }

    private void transfer(long lba, int sectors, long gpa, Mode mode, boolean write) throws IdeException {
        boolean ext = lba + sectors > 0x0FFF_FFFFL || sectors > 256;
        if (ext && !lba48) {
            throw new IllegalArgumentException("the device has no 48-bit addressing for " + sectors + " sectors at " + lba);
        }
        if (sectors < 1 || sectors > (ext ? 65536 : 256)) {
            throw new IllegalArgumentException(sectors + " sectors in one command");
        }
        if (mode == Mode.DMA) {
            dma(lba, sectors, gpa, write, ext);
            return;
        }
        int block = mode == Mode.PIO_MULTIPLE ? multiple : 1;
        if (block == 0) {
            throw new IllegalStateException("SET MULTIPLE MODE first");
        }
        taskFile(0, sectors, lba, ext);
        int command = switch (mode) {
            case PIO -> write ? (ext ? 0x34 : 0x30) : (ext ? 0x24 : 0x20);
            default -> write ? (ext ? 0x39 : 0xC5) : (ext ? 0x29 : 0xC4);
        };
        command(command);
        long at = gpa;
        int left = sectors;
        int status;
        if (write) {
            status = awaitDrq();
        } else {
            status = awaitInterrupt();
        }
        while (left > 0) {
            if ((status & ERR) != 0 || (status & DRQ) == 0) {
                throw new IdeException((write ? "write" : "read") + " of " + sectors + " sectors at " + lba + " failed with "
                        + left + " left", status, ctx.in8(base + 1));
            }
            int n = Math.min(left, block);
            try { // REP OUTSD / REP INSD of the DRQ block, as a legacy driver moves it
                if (write) {
                    ctx.outString(base, 4, at, n * SECTOR / 4);
                } else {
                    ctx.inString(base, 4, at, n * SECTOR / 4);
                }
            } catch (GuestMemoryException e) {
                throw new IllegalArgumentException("the buffer is outside guest memory", e);
            }
            at += (long) n * SECTOR;
            left -= n;
            if (write || left > 0) {
                status = awaitInterrupt();
            } else {
                status = ctx.in8(control);
            }
        }
        check(write ? "write" : "read", status);
    }

    private void dma(long lba, int sectors, long gpa, boolean write, boolean ext) throws IdeException {
        long bytes = (long) sectors * SECTOR;
        int entries = (int) ((bytes + 0xFFFF) >>> 16);
        if (entries * 8 > 4096) {
            throw new IllegalArgumentException("a PRD table of " + entries + " entries does not fit the scratch page");
        }
        try {
            for (int i = 0; i < entries; i++) {
                long length = Math.min(0x10000, bytes - 0x10000L * i);
                memory.setInt(scratch + 8L * i, (int) (gpa + 0x10000L * i));
                memory.setShort(scratch + 8L * i + 4, (short) (length == 0x10000 ? 0 : length));
                memory.setShort(scratch + 8L * i + 6, (short) (i == entries - 1 ? 0x8000 : 0));
            }
        } catch (GuestMemoryException e) {
            throw new IllegalArgumentException("the scratch page is outside guest memory", e);
        }
        int direction = write ? 0 : 0x08;
        ctx.out32(busMaster + 4, (int) scratch);
        ctx.out8(busMaster + 2, 0x06); // clear error and interrupt
        taskFile(0, sectors, lba, ext);
        command(write ? (ext ? 0x35 : 0xCA) : (ext ? 0x25 : 0xC8));
        ctx.out8(busMaster, direction | 0x01);
        int status = awaitInterrupt();
        int bm = ctx.in8(busMaster + 2);
        ctx.out8(busMaster, direction);
        ctx.out8(busMaster + 2, 0x06);
        if ((bm & 0x02) != 0) {
            throw new IdeException("DMA " + (write ? "write" : "read") + " at " + lba + ": the bus master reported an"
                    + " error", status, ctx.in8(base + 1));
        }
        check("DMA " + (write ? "write" : "read") + " at " + lba, status);
    }

    /** FLUSH CACHE (EXT when the device has 48-bit addressing). */
    public void flush() throws IdeException {
        select();
        command(lba48 ? 0xEA : 0xE7);
        check("FLUSH CACHE", awaitInterrupt());
    }

    /** Writes a raw command with the given task file and returns the status after its interrupt (for tests of odd commands). */
    public int rawCommand(int command, int features, int count, long lba, boolean ext) throws IdeException {
        taskFile(features, count, lba, ext);
        command(command);
        return awaitInterrupt();
    }

    // ---- ATAPI ----

    /**
     * Sends {@code cdb} (padded to 12 bytes) with byte count limit {@code limit} and reads its data-in
     * into guest memory at {@code gpa}, at most {@code maxBytes} of it (the rest is read and dropped).
     * Returns how many bytes the device sent.
     *
     * @throws IdeException when the device ended the command with ERR: {@link IdeException#senseKey()}
     */
    public long packet(byte[] cdb, long gpa, long maxBytes, int limit) throws IdeException {
        if (cdb.length > 12) {
            throw new IllegalArgumentException("an ATAPI packet is 12 bytes");
        }
        select();
        ctx.out8(base + 1, 0);
        ctx.out8(base + 4, limit & 0xFF);
        ctx.out8(base + 5, (limit >>> 8) & 0xFF);
        command(0xA0);
        int status = awaitDrq();
        if ((status & ERR) != 0) {
            throw new IdeException("PACKET refused", status, ctx.in8(base + 1));
        }
        for (int i = 0; i < 12; i += 2) {
            int lo = i < cdb.length ? cdb[i] & 0xFF : 0;
            int hi = i + 1 < cdb.length ? cdb[i + 1] & 0xFF : 0;
            ctx.out16(base, lo | hi << 8);
        }
        long done = 0;
        while (true) {
            status = awaitInterrupt();
            if ((status & ERR) != 0) {
                throw new IdeException(String.format("packet 0x%02X failed", cdb[0] & 0xFF), status, ctx.in8(base + 1));
            }
            if ((status & DRQ) == 0) {
                return done;
            }
            int n = ctx.in8(base + 4) | ctx.in8(base + 5) << 8;
            try {
                for (int i = 0; i < n; ) {
                    if (n - i >= 4) {
                        int v = ctx.in32(base);
                        if (done + 4 <= maxBytes) {
                            memory.setInt(gpa + done, v);
                        }
                        i += 4;
                        done += 4;
                    } else {
                        int v = ctx.in16(base);
                        if (done + 2 <= maxBytes) {
                            memory.setShort(gpa + done, (short) v);
                        }
                        i += 2;
                        done += 2;
                    }
                }
            } catch (GuestMemoryException e) {
                throw new IllegalArgumentException("the buffer is outside guest memory", e);
            }
        }
    }

    /** READ(10) of {@code blocks} 2048-byte blocks from {@code lba} into guest memory at {@code gpa}. */
    public void readCd(long lba, int blocks, long gpa) throws IdeException {
        byte[] cdb = {ScsiOpcodes.READ_10, 0, (byte) (lba >>> 24), (byte) (lba >>> 16), (byte) (lba >>> 8),
                (byte) lba, 0, (byte) (blocks >>> 8), (byte) blocks, 0, 0, 0};
        long n = packet(cdb, gpa, (long) blocks * CD_BLOCK, 0xFFFE);
        if (n != (long) blocks * CD_BLOCK) {
            throw new IdeException("READ(10) of " + blocks + " blocks returned " + n + " bytes", ctx.in8(control), 0);
        }
    }

    /** TEST UNIT READY: returns normally when the drive is ready; otherwise throws with the sense key. */
    public void testUnitReady() throws IdeException {
        packet(new byte[] {ScsiOpcodes.TEST_UNIT_READY}, scratch, 0, 0xFFFE);
    }

    /** REQUEST SENSE: the 18 bytes of fixed-format sense data. */
    public byte[] requestSense() throws IdeException {
        long n = packet(new byte[] {ScsiOpcodes.REQUEST_SENSE, 0, 0, 0, 18, 0}, scratch, 18, 0xFFFE);
        byte[] sense = new byte[18];
        try {
            memory.read(scratch, sense);
        } catch (GuestMemoryException e) {
            throw new IllegalArgumentException(e);
        }
        if (n < 14) {
            throw new IdeException("REQUEST SENSE returned " + n + " bytes", ctx.in8(control), 0);
        }
        return sense;
    }

    // ---- the registers ----

    private void select() throws IdeException {
        awaitNotBusy();
        ctx.out8(base + 6, 0xA0 | LBA_BIT | unit << 4);
    }

    private static final int LBA_BIT = 0x40;

    private void taskFile(int features, int count, long lba, boolean ext) throws IdeException {
        awaitNotBusy();
        ctx.out8(base + 6, 0xA0 | LBA_BIT | unit << 4 | (ext ? 0 : (int) (lba >>> 24) & 0x0F));
        if (ext) {
            ctx.out8(base + 1, features >>> 8);
            ctx.out8(base + 2, count >>> 8);
            ctx.out8(base + 3, (int) (lba >>> 24));
            ctx.out8(base + 4, (int) (lba >>> 32));
            ctx.out8(base + 5, (int) (lba >>> 40));
        }
        ctx.out8(base + 1, features);
        ctx.out8(base + 2, count);
        ctx.out8(base + 3, (int) lba);
        ctx.out8(base + 4, (int) (lba >>> 8));
        ctx.out8(base + 5, (int) (lba >>> 16));
    }

    private void command(int command) {
        ctx.poll(irq); // drop a stale interrupt
        ctx.out8(base + 7, command);
    }

    /** Waits for the channel's interrupt and reads the status register (which acknowledges it). */
    private int awaitInterrupt() throws IdeException {
        if (!ctx.await(irq, TIMEOUT)) {
            int status = ctx.in8(control);
            throw new IdeException("no interrupt from the drive", status, ctx.in8(base + 1));
        }
        return ctx.in8(base + 7);
    }

    /** Polls the alternate status until BSY is clear and DRQ or ERR set (no interrupt announces it). */
    private int awaitDrq() throws IdeException {
        for (int i = 0; i < SPINS; i++) {
            int status = ctx.in8(control);
            if ((status & BSY) == 0 && (status & (DRQ | ERR)) != 0) {
                return status;
            }
            ctx.safePoint();
        }
        int status = ctx.in8(control);
        throw new IdeException("the drive never asked for data", status, ctx.in8(base + 1));
    }

    private void awaitNotBusy() throws IdeException {
        for (int i = 0; i < SPINS; i++) {
            int status = ctx.in8(control);
            if ((status & (BSY | DRQ)) == 0) {
                return;
            }
            ctx.safePoint();
        }
        int status = ctx.in8(control);
        throw new IdeException("the drive stays busy", status, ctx.in8(base + 1));
    }

    private void check(String what, int status) throws IdeException {
        if ((status & (ERR | BSY | DRQ)) != 0) {
            throw new IdeException(what + " failed", status, ctx.in8(base + 1));
        }
    }

    /** A soft reset of the channel (SRST), leaving interrupts enabled. */
    public void softReset() {
        ctx.out8(control, 0x04);
        ctx.out8(control, 0x00);
        ctx.poll(irq);
    }
}
