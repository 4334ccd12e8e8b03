package org.vhdkit.stack.vm;

import org.vhdkit.stack.partition.PortIoHandler;

/**
 * A VM's I/O port space: which device decodes each of the 65536 ports. An access goes to the device
 * mapped at its first port; a port no device decodes reads as all ones (0xFF, 0xFFFF, 0xFFFFFFFF,
 * as an empty ISA bus floats) and drops writes, and such accesses are counted.
 *
 * <p>Thread-safety: {@link #map} only while the VM is being assembled, on the starting thread,
 * before the worker thread exists (the thread start publishes the table); accesses only on the
 * worker thread; the counter is volatile and written only there.
 */
final class PortIoBus implements PortIoHandler {
    private final PortIoDevice[] devices = new PortIoDevice[0x10000];
    private volatile long unhandled;

    void map(int first, int count, PortIoDevice device) {
        if (first < 0 || count < 1 || first + count > 0x10000) {
            throw new IllegalArgumentException("ports 0x" + Integer.toHexString(first) + "+" + count
                    + " are outside the 16-bit port space");
        }
        for (int p = first; p < first + count; p++) {
            if (devices[p] != null && devices[p] != device) {
                throw new IllegalStateException("port 0x" + Integer.toHexString(p) + " is already decoded by "
                        + devices[p].name() + ", so " + device.name() + " cannot have it");
            }
        }
        for (int p = first; p < first + count; p++) {
            devices[p] = device;
        }
    }

    long unhandled() {
        return unhandled;
    }

    @Override
    public int read(int port, int size) {
        PortIoDevice d = devices[port];
        if (d == null) {
            unhandled++;
            return -1;
        }
        try {
            return d.read(port, size);
        } catch (RuntimeException e) {
            throw new DeviceFailure(d, "IN", port, size, e);
        }
    }

    @Override
    public void write(int port, int size, int value) {
        PortIoDevice d = devices[port];
        if (d == null) {
            unhandled++;
            return;
        }
        try {
            d.write(port, size, value);
        } catch (RuntimeException e) {
            throw new DeviceFailure(d, "OUT", port, size, e);
        }
    }

    /** A device threw while handling a port access: the VM must stop. */
    static final class DeviceFailure extends RuntimeException {
        private static final long serialVersionUID = 1L;

        DeviceFailure(PortIoDevice device, String op, int port, int size, RuntimeException cause) {
            super("device " + device.name() + " failed on " + op + " of " + size + " bytes at port 0x"
                    + Integer.toHexString(port) + ": " + cause, cause);
        }
    }
}
