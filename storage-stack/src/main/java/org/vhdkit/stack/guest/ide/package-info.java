/**
 * The guest side of the emulated IDE path: {@link org.vhdkit.stack.guest.ide.IdeDriver} (ATA PIO and
 * DMA, ATAPI packets) and {@link org.vhdkit.stack.guest.ide.IdeWorkload} (the built-in pattern
 * workload on an IDE disk), for guest programs. Everything here runs on a guest processor and
 * reaches the machine only through its {@link org.vhdkit.stack.partition.GuestContext}.
 *
 * <p>Guest: runs inside a guest.
 */
package org.vhdkit.stack.guest.ide;
