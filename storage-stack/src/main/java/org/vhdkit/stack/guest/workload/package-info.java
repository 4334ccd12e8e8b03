/**
 * The built-in guest workload ({@link org.vhdkit.stack.guest.workload.Workload}, the entry point): a guest
 * program that writes a verifiable pattern across a disk through the guest's storage driver, reads it
 * back, runs a random read/write mix, and reports IOPS, throughput and the VMBus signals each request
 * cost.
 *
 * <p>Guest: runs inside a guest, as the program of its processors.
 */
package org.vhdkit.stack.guest.workload;
