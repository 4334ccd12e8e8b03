package org.vhdkit.stack.memory;

/**
 * A guest named memory it does not have: an address or range outside its guest physical memory,
 * or a page number past its end. Everything a guest hands the parent is checked this way before it
 * is touched; the handler refuses the request (closes the channel, aborts the command) rather than
 * letting the access happen.
 *
 * <p>Deliberately not an {@link java.io.IOException}: it is a verdict on what a guest asked for,
 * and the parent's device models do disk I/O in the same blocks that touch guest memory. A
 * {@code catch (IOException e)} there (which reports a medium error to the guest, or fails the
 * VM's disk) must never take a hostile guest's address for a failing disk, and vice versa.
 *
 * <p>Immutable; safe to share between threads.
 */
public final class GuestMemoryException extends Exception {
    private static final long serialVersionUID = 1L;

    private final long address;
    private final long length;

    GuestMemoryException(String partition, long address, long length, long size) {
        super(String.format("%s: guest physical range 0x%x+0x%x lies outside its %d bytes of memory",
                partition, address, length, size));
        this.address = address;
        this.length = length;
    }

    /** The first guest physical address asked for. */
    public long address() {
        return address;
    }

    /** The length asked for. */
    public long length() {
        return length;
    }
}
