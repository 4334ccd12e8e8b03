package org.vhdkit.stack.partition;

/**
 * The code a child partition's virtual processors run: what a guest operating system or firmware
 * would be on real hardware, written in Java.
 *
 * <p>Every virtual processor of the partition enters the same program, as every CPU of a real
 * machine enters the same firmware; a program tells its processors apart with
 * {@link GuestContext#processor()}. The program reaches the machine only through its
 * {@link GuestContext}: its own guest memory, port I/O (each access an intercept handled by the
 * VM worker), signals, and the guest-side services the parent offers that VM.
 *
 * <h2>Returning, failing, stopping</h2>
 * A program that returns halts its processor (the VM keeps running, as a CPU that executed HLT
 * with interrupts off). A program that throws stops its whole VM: the VM turns Off and the
 * exception is logged as the reason; the parent and other VMs go on. When the VM is turned off
 * or saved, the next context call throws {@link ProcessorStopped}; a program must let it
 * propagate.
 *
 * <h2>Safe points and pausing</h2>
 * A processor can be paused, saved or stopped only at a <em>safe point</em>: any call on its
 * context (port I/O, a wait, {@link GuestContext#safePoint()}, a service lookup). Memory accesses
 * through {@link GuestContext#memory()} are not safe points. A program that computes for long
 * without touching its context should call {@code safePoint()} now and then; one that never does
 * cannot be paused or saved (the request times out and the VM stays Running), and if it is turned
 * off its thread is abandoned after a grace period (it cannot be killed in Java), its guest memory
 * released under it so that its next memory access fails.
 *
 * <h2>Save state and resume: the restart model</h2>
 * A Java thread's stack cannot be written to disk, so saved state holds guest memory and device
 * state only. When a VM starts from Saved, every processor enters the program again from the top
 * with {@link GuestContext#resumed()} true, over the restored memory and devices. A program that
 * must survive save and restore is therefore a restartable state machine: it keeps its progress in
 * guest memory (a counter, a phase number, a ring index) and, when resumed, carries on from what it
 * finds there. Whatever it held only in Java locals since its last write to memory is lost, as
 * are the results of calls that were in flight when the VM was paused (a port read whose value
 * had not yet been stored, for instance); the device side completed them, so a program that
 * re-issues them must be written to tolerate that.
 *
 * <p>Thread-safety: {@link #run} is called once per virtual processor, each on its own thread,
 * so a program shared by several processors must be safe for that.
 */
@FunctionalInterface
public interface GuestProgram {
    /**
     * Runs the program on one virtual processor until it returns (the processor halts), throws
     * (the VM stops) or the VM stops under it.
     */
    void run(GuestContext guest) throws Exception;
}
