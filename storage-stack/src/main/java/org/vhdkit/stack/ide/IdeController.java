package org.vhdkit.stack.ide;

import org.vhdkit.stack.vm.PortIoDevice;

/**
 * The PIIX-style IDE controller of one VM ("ide"): two channels and the bus-master DMA registers.
 *
 * <pre>
 *   primary   0x1F0-0x1F7 command block, 0x3F6 alternate status / device control
 *   secondary 0x170-0x177 command block, 0x376 alternate status / device control
 *   bus master {@link EmulatedIde#BUS_MASTER_BASE} + 0 (primary) / + 8 (secondary):
 *              +0 command (bit 0 start, bit 3 direction: 1 = into memory), +2 status (bit 0 active,
 *              bit 1 error, bit 2 interrupt; 1 and 2 cleared by writing 1), +4 PRD table address (u32)
 * </pre>
 * The data port takes 1, 2 or 4 bytes an access (32-bit PIO); any other register is a byte, and a
 * wider access reads or writes the following ports too, as an ISA decoder would.
 *
 * <p>Thread-safety: port I/O only on the VM worker's thread; {@link #release} after it stopped.
 */
final class IdeController implements PortIoDevice {
    static final String NAME = "ide";
    static final int[] COMMAND_BLOCK = {0x1F0, 0x170};
    static final int[] CONTROL_BLOCK = {0x3F6, 0x376};

    final IdeChannel[] channels;
    /** The ISO file in each DVD drive, by channel and unit; null when empty or not a DVD drive. Worker thread only. */
    final java.nio.file.Path[][] media = new java.nio.file.Path[2][2];

    IdeController(IdeChannel primary, IdeChannel secondary) {
        this.channels = new IdeChannel[] {primary, secondary};
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public int read(int port, int size) {
        for (int c = 0; c < 2; c++) {
            if (port == COMMAND_BLOCK[c]) {
                return channels[c].readData(size);
            }
        }
        int v = 0;
        for (int i = 0; i < size; i++) {
            v |= readByte(port + i) << (8 * i);
        }
        return v;
    }

    private int readByte(int port) {
        for (int c = 0; c < 2; c++) {
            int reg = port - COMMAND_BLOCK[c];
            if (reg >= 0 && reg < 8) {
                return channels[c].readRegister(reg) & 0xFF;
            }
            if (port == CONTROL_BLOCK[c]) {
                return channels[c].alternateStatus() & 0xFF;
            }
        }
        int bm = port - EmulatedIde.BUS_MASTER_BASE;
        if (bm >= 0 && bm < 16) {
            return channels[bm >>> 3].readBusMaster(bm & 7) & 0xFF;
        }
        return 0xFF;
    }

    @Override
    public void write(int port, int size, int value) {
        for (int c = 0; c < 2; c++) {
            if (port == COMMAND_BLOCK[c]) {
                channels[c].writeData(size, value);
                return;
            }
        }
        for (int i = 0; i < size; i++) {
            writeByte(port + i, (value >>> (8 * i)) & 0xFF);
        }
    }

    private void writeByte(int port, int value) {
        for (int c = 0; c < 2; c++) {
            int reg = port - COMMAND_BLOCK[c];
            if (reg >= 0 && reg < 8) {
                channels[c].writeRegister(reg, value);
                return;
            }
            if (port == CONTROL_BLOCK[c]) {
                channels[c].writeControl(value);
                return;
            }
        }
        int bm = port - EmulatedIde.BUS_MASTER_BASE;
        if (bm >= 0 && bm < 16) {
            channels[bm >>> 3].writeBusMaster(bm & 7, value);
        }
    }

    /** The drive at {@code channel}/{@code unit}, or null. Worker thread only. */
    IdeDrive drive(int channel, int unit) {
        return channels[channel].drives[unit];
    }

    /** Flushes and closes every disk and medium. Must not throw; after the worker stopped. */
    @Override
    public void release() {
        for (IdeChannel ch : channels) {
            for (IdeDrive d : ch.drives) {
                if (d != null) {
                    d.release();
                }
            }
        }
    }
}
