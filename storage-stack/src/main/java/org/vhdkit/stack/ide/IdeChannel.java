package org.vhdkit.stack.ide;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import org.vhdkit.stack.memory.GuestMemory;
import org.vhdkit.stack.memory.GuestMemoryException;
import org.vhdkit.stack.partition.GuestSignal;
import org.vhdkit.vhd.disk.VirtualDisk;

/**
 * One IDE channel: the command block (data, error/features, sector count, LBA low/mid/high,
 * device, status/command), the control block (alternate status / device control), its master and
 * slave, its PIO data buffer, its half of the bus-master DMA engine and its interrupt line (a
 * {@link GuestSignal}).
 *
 * <h2>Rules a guest cannot break</h2>
 * <ul>
 *   <li>While a drive on the channel holds BSY or DRQ, writes to the command block are ignored
 *       (only DEVICE RESET to an ATAPI drive, and SRST in the device control register, get through).
 *   <li>The data port moves bytes only while a PIO transfer is under way, and only inside the
 *       buffer; otherwise reads return all ones and writes are dropped.
 *   <li>DMA walks a PRD table of at most {@link #MAX_PRD_ENTRIES} entries; each entry and each
 *       buffer is checked against guest memory before anything moves, and the table must cover
 *       the transfer: otherwise the bus master reports an error, the command is aborted and
 *       nothing is written to the disk.
 * </ul>
 *
 * <p>Thread-safety: confined to the VM worker's thread (port I/O and worker tasks only).
 */
final class IdeChannel {
    /** The PIO buffer: one ATAPI DRQ block (up to 0xFFFE bytes) or 32 CD blocks; 16 ATA sectors for READ MULTIPLE. */
    static final int BUFFER = 64 * 1024;
    /** The longest PRD table walked: 64 KiB of entries, the region PIIX lets one table occupy. */
    static final int MAX_PRD_ENTRIES = 8192;

    static final int BM_START = 0x01;
    static final int BM_TO_MEMORY = 0x08;
    static final int BM_ACTIVE = 0x01;
    static final int BM_ERROR = 0x02;
    static final int BM_INTERRUPT = 0x04;

    static final int NIEN = 0x02;
    static final int SRST = 0x04;
    static final int HOB = 0x80;

    /** What a DMA transfer came to. */
    enum DmaResult { DONE, REFUSED, HOST_FAILED }

    final int index;
    private final GuestSignal irq;
    private final GuestMemory memory;
    private final MemorySegment guest;
    final IdeDrive[] drives = new IdeDrive[2];
    final byte[] buffer = new byte[BUFFER];
    final MemorySegment bufferSegment = MemorySegment.ofArray(buffer);

    private int unit;
    private int control;
    private IdeDrive transferDrive;
    private boolean transferIn;
    private int position;
    private int end;

    private int bmCommand;
    private int bmStatus;
    private int prdAddress;
    private IdeDrive dmaWaiting;

    private long interrupts;

    IdeChannel(int index, GuestSignal irq, GuestMemory memory) throws GuestMemoryException {
        this.index = index;
        this.irq = irq;
        this.memory = memory;
        this.guest = memory.slice(0, memory.size());
    }

    boolean empty() {
        return drives[0] == null && drives[1] == null;
    }

    long interrupts() {
        return interrupts;
    }

    // ---- the command block ----

    int readRegister(int reg) {
        if (empty()) {
            return 0xFF; // nothing drives the bus
        }
        IdeDrive d = drives[unit];
        if (reg == 0) {
            return readData(1);
        }
        if (d == null) {
            return reg == 6 ? 0xA0 | unit << 4 : 0; // the master answers for an absent slave with zeros
        }
        return reg == 7 ? d.status : d.register(reg, (control & HOB) != 0);
    }

    void writeRegister(int reg, int value) {
        if (empty()) {
            return;
        }
        if (reg == 0) {
            writeData(1, value);
            return;
        }
        IdeDrive d = drives[unit];
        boolean busy = (drives[0] != null && drives[0].busy()) || (drives[1] != null && drives[1].busy());
        if (reg == 7) {
            if (d == null) {
                return;
            }
            if (busy) {
                if (value == AtapiDrive.DEVICE_RESET && d instanceof AtapiDrive) {
                    d.command(value);
                }
                return;
            }
            d.error = 0;
            d.command(value);
            return;
        }
        if (busy) {
            return;
        }
        control &= ~HOB;
        for (IdeDrive each : drives) {
            if (each != null) {
                each.latch(reg, value);
            }
        }
        if (reg == 6) {
            unit = (value >>> 4) & 1;
        }
    }

    // ---- the control block ----

    int alternateStatus() {
        if (empty()) {
            return 0xFF;
        }
        IdeDrive d = drives[unit];
        return d == null ? 0 : d.status;
    }

    void writeControl(int value) {
        boolean wasReset = (control & SRST) != 0;
        control = value & (NIEN | SRST | HOB);
        boolean reset = (control & SRST) != 0;
        if (reset && !wasReset) {
            endTransfer();
            dmaWaiting = null;
            for (IdeDrive d : drives) {
                if (d != null) {
                    d.cancel();
                    d.status = IdeDrive.BSY;
                }
            }
        } else if (!reset && wasReset) {
            unit = 0;
            for (IdeDrive d : drives) {
                if (d != null) {
                    d.reset();
                }
            }
        }
    }

    // ---- PIO ----

    /** Starts a PIO transfer of {@code buffer[from, to)} for {@code drive}: data-in when {@code in}. */
    void startTransfer(IdeDrive drive, int from, int to, boolean in) {
        transferDrive = drive;
        transferIn = in;
        position = from;
        end = to;
    }

    /** Ends any PIO transfer and forgets a DMA command waiting for the bus master. */
    void endTransfer() {
        transferDrive = null;
        dmaWaiting = null;
    }

    int readData(int size) {
        if (transferDrive == null || !transferIn) {
            return size == 4 ? -1 : (1 << (8 * size)) - 1;
        }
        int v = 0;
        for (int i = 0; i < size && position < end; i++) {
            v |= (buffer[position++] & 0xFF) << (8 * i);
        }
        if (position >= end) {
            IdeDrive d = transferDrive;
            transferDrive = null;
            d.blockDone();
        }
        return v;
    }

    void writeData(int size, int value) {
        if (transferDrive == null || transferIn) {
            return;
        }
        for (int i = 0; i < size && position < end; i++) {
            buffer[position++] = (byte) (value >>> (8 * i));
        }
        if (position >= end) {
            IdeDrive d = transferDrive;
            transferDrive = null;
            d.blockDone();
        }
    }

    // ---- interrupts ----

    /** The drive asserts its interrupt: raised to the guest unless nIEN masks it. */
    void interrupt() {
        if ((control & NIEN) == 0) {
            bmStatus |= BM_INTERRUPT;
            interrupts++;
            irq.raise();
        }
    }

    // ---- bus-master DMA ----

    int readBusMaster(int offset) {
        return switch (offset) {
            case 0 -> bmCommand;
            case 2 -> bmStatus | dmaCapable();
            case 4, 5, 6, 7 -> (prdAddress >>> (8 * (offset - 4))) & 0xFF;
            default -> 0;
        };
    }

    private int dmaCapable() {
        return (drives[0] instanceof AtaDisk ? 0x20 : 0) | (drives[1] instanceof AtaDisk ? 0x40 : 0);
    }

    void writeBusMaster(int offset, int value) {
        switch (offset) {
            case 0 -> {
                boolean wasStarted = (bmCommand & BM_START) != 0;
                bmCommand = value & (BM_START | BM_TO_MEMORY);
                boolean started = (bmCommand & BM_START) != 0;
                if (started && !wasStarted) {
                    bmStatus |= BM_ACTIVE;
                    IdeDrive d = dmaWaiting;
                    if (d != null) {
                        dmaWaiting = null;
                        d.dmaStarted();
                    }
                } else if (!started) {
                    bmStatus &= ~BM_ACTIVE;
                }
            }
            case 2 -> bmStatus &= ~(value & (BM_ERROR | BM_INTERRUPT));
            case 4, 5, 6, 7 -> {
                int shift = 8 * (offset - 4);
                prdAddress = (prdAddress & ~(0xFF << shift)) | ((value & 0xFF) << shift);
            }
            default -> {
            }
        }
    }

    /** {@code drive} has a DMA command and waits for the bus master; starts at once if it runs. */
    void awaitDma(IdeDrive drive) {
        if ((bmCommand & BM_START) != 0) {
            drive.dmaStarted();
        } else {
            dmaWaiting = drive;
        }
    }

    /**
     * Moves {@code bytes} between {@code disk} at {@code diskOffset} and the buffers of the PRD table:
     * into guest memory when {@code toMemory}. Validates the whole table first; on a refusal nothing
     * moves and the bus master's error bit is set. The bus master is no longer active afterwards.
     */
    DmaResult dma(VirtualDisk disk, long diskOffset, long bytes, boolean toMemory) {
        DmaResult result;
        if (toMemory != ((bmCommand & BM_TO_MEMORY) != 0) || walk(disk, diskOffset, bytes, toMemory, false) < 0) {
            result = DmaResult.REFUSED;
        } else {
            long moved = walk(disk, diskOffset, bytes, toMemory, true);
            result = moved == -2 ? DmaResult.HOST_FAILED : moved < 0 ? DmaResult.REFUSED : DmaResult.DONE;
        }
        bmStatus &= ~BM_ACTIVE;
        if (result == DmaResult.REFUSED) {
            bmStatus |= BM_ERROR;
        }
        return result;
    }

    /** One pass over the PRD table: checks it (and with {@code move}, moves the data); -1 refused, -2 host failure. */
    private long walk(VirtualDisk disk, long diskOffset, long bytes, boolean toMemory, boolean move) {
        long entry = Integer.toUnsignedLong(prdAddress & ~3);
        long done = 0;
        try {
            for (int i = 0; done < bytes; i++) {
                if (i == MAX_PRD_ENTRIES) {
                    return -1;
                }
                memory.check(entry + 8L * i, 8);
                long address = Integer.toUnsignedLong(memory.getInt(entry + 8L * i)) & ~1L;
                int count = memory.getShort(entry + 8L * i + 4) & 0xFFFF;
                boolean last = (memory.getShort(entry + 8L * i + 6) & 0x8000) != 0;
                long length = Math.min(count == 0 ? 0x10000 : count & ~1, bytes - done);
                memory.check(address, length);
                if (move && length > 0) {
                    if (toMemory) {
                        disk.read(diskOffset + done, guest, address, length);
                    } else {
                        disk.write(diskOffset + done, guest, address, length);
                    }
                }
                done += length;
                if (last && done < bytes) {
                    return -1; // the table ends before the transfer does
                }
            }
            return done;
        } catch (GuestMemoryException e) {
            return -1;
        } catch (IOException | RuntimeException e) {
            return move ? -2 : -1;
        }
    }
}
