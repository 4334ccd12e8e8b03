package org.vhdkit.stack.vm;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;

/** A toy device for the tests: an index port (0x70) and a data port (0x71) over 128 bytes, as a PC's CMOS. */
final class Cmos implements PortIoDevice {
    static final int INDEX = 0x70;
    static final int DATA = 0x71;

    private final byte[] ram = new byte[128];
    private int index;
    volatile boolean released;
    volatile Thread lastThread;

    @Override
    public String name() {
        return "cmos";
    }

    @Override
    public int read(int port, int size) {
        lastThread = Thread.currentThread();
        return port == INDEX ? index : ram[index] & 0xFF;
    }

    @Override
    public void write(int port, int size, int value) {
        lastThread = Thread.currentThread();
        if (port == INDEX) {
            index = value & 0x7F;
        } else {
            ram[index] = (byte) value;
        }
    }

    @Override
    public void saveState(DataOutput out) throws IOException {
        out.writeByte(index);
        out.write(ram);
    }

    @Override
    public void restoreState(DataInput in) throws IOException {
        int i = in.readUnsignedByte();
        if (i > 0x7F) {
            throw new VmException("cmos: index " + i + " is out of range");
        }
        index = i;
        in.readFully(ram);
    }

    @Override
    public void release() {
        released = true;
    }

    static DeviceProvider provider(java.util.List<Cmos> made) {
        return worker -> {
            Cmos cmos = new Cmos();
            made.add(cmos);
            worker.mapPorts(INDEX, 2, cmos);
        };
    }
}
