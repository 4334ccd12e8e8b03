package org.vhdkit.stack.storage;

import org.vhdkit.stack.vmbus.VmbusServer;
import org.vhdkit.stack.vm.VmDevice;

/**
 * The VM's VMBus server as a device of its worker ("vmbus"): made by the first provider that needs
 * it, released after the devices that offer channels on it (devices are released in the reverse
 * order they were added), which closes every channel still open and waits for its consumer.
 *
 * <p>Thread-safety: immutable; {@link #release} runs once on the stopping thread.
 */
final class Bus implements VmDevice {
    static final String NAME = "vmbus";

    private final VmbusServer server;

    Bus(VmbusServer server) {
        this.server = server;
    }

    VmbusServer server() {
        return server;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void release() {
        server.close();
    }
}
