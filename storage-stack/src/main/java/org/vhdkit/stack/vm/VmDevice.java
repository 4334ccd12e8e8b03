package org.vhdkit.stack.vm;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;

/**
 * A device of one VM, owned by its {@link VmWorker}: an emulated controller, a synthetic device's
 * provider, anything with state that must follow the VM through save and restore and resources that
 * must be let go when it stops. Made by a {@link DeviceProvider} each time the VM starts.
 *
 * <h2>Save and restore</h2>
 * When the VM is saved, its processors are first paused; then {@link #saveState} is called on the
 * worker thread (so no intercept is being handled) and the device writes whatever it needs to carry
 * on. When the VM starts from Saved, the provider makes the device afresh for the same configuration
 * and {@link #restoreState} is called on the worker thread with exactly the bytes it wrote, before
 * any processor runs. A device with its own threads (a VSP polling a ring) must quiesce them in
 * {@code saveState}: finish or hold what is in flight so that the bytes and guest memory agree.
 *
 * <p>Thread-safety: {@link #saveState}, {@link #restoreState} and port I/O run on the worker
 * thread; {@link #release} runs on the thread stopping the VM, after the processors and the worker
 * have stopped. Anything else a device does on other threads it guards itself.
 */
public interface VmDevice {
    /**
     * The device's name, unique in its VM and the same on every start for the same configuration
     * ("ide", "scsi0"): its saved state is found by it.
     */
    String name();

    /** Writes the device's state. The default writes nothing. */
    default void saveState(DataOutput out) throws IOException {
    }

    /**
     * Restores the state {@link #saveState} wrote: {@code in} holds exactly those bytes, and all of
     * them must be read. Saved state is a file a user could edit: refuse what makes no sense with a
     * {@link VmException}. The default reads nothing.
     */
    default void restoreState(DataInput in) throws IOException {
    }

    /**
     * Lets go of what the device holds (stops its threads, closes its disks) when the VM is turned
     * off, saved or fails to start; after this the guest memory is released, so nothing may touch it
     * afterwards. Must not throw; called once.
     */
    default void release() {
    }
}
