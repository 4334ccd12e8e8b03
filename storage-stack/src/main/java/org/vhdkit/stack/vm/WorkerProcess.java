package org.vhdkit.stack.vm;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * A running VM's worker process outside the JVM (qemu-system-x86_64 for a real guest, see
 * {@link GuestEngine}), as {@link VirtualMachine} drives it: the VM's states stay the VM's, the
 * process only carries them out. Made by a {@link WorkerLauncher} when the VM starts and closed when
 * it stops; its storage is served by the host process, so closing it flushes and closes the disks.
 *
 * <p>Thread-safety: every method may be called from any thread; the VM calls one lifecycle method at
 * a time (its operations are serialized), {@link #close} also while another is under way (a VM
 * turned off while its guest does not answer).
 */
public interface WorkerProcess extends AutoCloseable {
    /** Stops the guest's processors where they are. */
    void pause() throws IOException;

    /** Lets the guest's processors run on (after a pause, or the first time after a start). */
    void resume() throws IOException;

    /** Presses the guest's ACPI power button; the guest decides what to do. */
    void powerButton() throws IOException;

    /**
     * Writes the paused guest's memory and device state to {@code file} (a new file), waiting up to
     * {@code timeout}; the process may end afterwards (it is then closed by the VM), unless it
     * {@linkplain #snapshotsLive snapshots live}: then it stays paused, and {@link #resume} runs on.
     */
    void saveTo(Path file, Duration timeout) throws IOException;

    /**
     * Whether this process can be snapshotted while it lives ({@link #switchDisks}): a
     * {@link #saveTo} leaves it paused but alive, and {@link #resume} lets the guest go on from
     * there. False unless the process says so. Thread-safe.
     */
    default boolean snapshotsLive() {
        return false;
    }

    /**
     * Moves VHD disks the process is served onto other files, invisibly to the guest, which the
     * caller has paused: the disks' requests are held (those under way finish first), every disk
     * served is flushed, the disks at the slots of {@code next} are closed, {@code between} runs (it
     * makes the new files, each showing what its old one showed: a differencing disk on it), then
     * each slot is served from its new file, with the same size and identity, and requests go on.
     * If anything fails, the old files are opened and served again and the failure is thrown; the
     * new files are closed then. Only when {@link #snapshotsLive}; the VM calls it during its live
     * snapshot. Thread-safe.
     *
     * @throws UnsupportedOperationException when the process does not offer it
     */
    default void switchDisks(Map<Slot, Path> next, FileStep between) throws IOException {
        throw new UnsupportedOperationException("this worker process cannot switch its disks while it runs");
    }

    /** A step done in the middle of {@link #switchDisks}, while the old files are closed. */
    @FunctionalInterface
    interface FileStep {
        void run() throws IOException;
    }

    /**
     * Ends the process at once if it still runs (pulling the plug), then flushes and closes every disk
     * it was served. Idempotent.
     */
    @Override
    void close();

    /**
     * Why the process ended on its own; the VM then turns Off with this reason. Also hears the guest's
     * processors stop and go on, whoever made them (qemu's STOP and RESUME events).
     */
    @FunctionalInterface
    interface ExitListener {
        /** {@code process} ended by itself (the guest powered off, qemu died); called once, on any thread. */
        void exited(WorkerProcess process, String reason);

        /**
         * The guest's processors of {@code process} went on ({@code running}) or stopped, by the VM's
         * own {@link WorkerProcess#pause}/{@link WorkerProcess#resume} or by the process itself (a
         * guest or qemu pausing, a {@code stop} on its monitor). Called in the order it happened, from
         * one thread, before the answer to the command that caused it; it must not wait for the
         * process. Does nothing unless overridden.
         */
        default void ranOrStopped(WorkerProcess process, boolean running) {
        }
    }
}
