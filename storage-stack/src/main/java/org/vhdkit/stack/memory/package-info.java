/**
 * Host: a partition's guest physical memory. {@link org.vhdkit.stack.memory.GuestMemory} (the entry
 * point) is one off-heap segment per child partition, with page-granular, bounds-checked access;
 * every address a guest hands the parent is checked here, and a bad one is a
 * {@link org.vhdkit.stack.memory.GuestMemoryException} (a verdict on guest input, not an I/O
 * failure). Guest programs see the same memory as their own through {@code GuestContext.memory()}.
 */
package org.vhdkit.stack.memory;
