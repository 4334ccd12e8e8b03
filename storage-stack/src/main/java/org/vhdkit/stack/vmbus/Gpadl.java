package org.vhdkit.stack.vmbus;

import org.vhdkit.stack.memory.GuestMemory;
import org.vhdkit.stack.memory.GuestMemoryException;

/**
 * A guest physical address descriptor list: pages of guest memory the guest registered with the
 * parent under a handle, seen as one run of bytes. Every page number was checked against the
 * guest's memory when the GPADL was made; {@link #gpa} maps a byte offset within the GPADL to the
 * guest physical address holding it (the pages need not be contiguous).
 *
 * <p>Thread-safety: immutable but for {@link #inUse}, which is guarded by the owning
 * {@link VmbusServer}'s lock.
 */
final class Gpadl {
    /** The most pages one GPADL may name (64 MiB). */
    static final int MAX_PAGES = 16384;

    private final int handle;
    private final GuestMemory memory;
    private final long[] gpas;
    /** Whether an open channel's rings live here. Guarded by the server's lock. */
    boolean inUse;

    private Gpadl(int handle, GuestMemory memory, long[] gpas) {
        this.handle = handle;
        this.memory = memory;
        this.gpas = gpas;
    }

    /** Checks every page number against {@code memory} and builds the view. */
    static Gpadl create(int handle, GuestMemory memory, long[] pfns) throws VmbusException {
        if (pfns.length == 0 || pfns.length > MAX_PAGES) {
            throw new VmbusException(ChannelClosedReason.BAD_GPADL,
                    "a GPADL of " + pfns.length + " pages; the parent accepts 1 to " + MAX_PAGES);
        }
        long[] gpas = new long[pfns.length];
        for (int i = 0; i < pfns.length; i++) {
            try {
                gpas[i] = memory.pageAddress(pfns[i]);
            } catch (GuestMemoryException e) {
                throw new VmbusException(ChannelClosedReason.GPADL_OUTSIDE_MEMORY, String.format(
                        "GPADL page %d names frame 0x%x, outside the guest's %d pages",
                        i, pfns[i], memory.pages()));
            }
        }
        return new Gpadl(handle, memory, gpas);
    }

    int handle() {
        return handle;
    }

    int pages() {
        return gpas.length;
    }

    long bytes() {
        return (long) gpas.length * GuestMemory.PAGE_SIZE;
    }

    /** The guest physical address of byte {@code offset} of the GPADL. */
    long gpa(long offset) {
        if (offset < 0 || offset >= bytes()) {
            throw new IndexOutOfBoundsException("offset " + offset + " outside a GPADL of " + bytes() + " bytes");
        }
        return gpas[(int) (offset >>> GuestMemory.PAGE_SHIFT)] + (offset & (GuestMemory.PAGE_SIZE - 1));
    }

    /** The ring made of pages {@code [first, first + count)}: a control page, then data pages. */
    Ring ring(int first, int count) {
        if (first < 0 || count < 2 || first > gpas.length - count) {
            throw new IndexOutOfBoundsException("pages " + first + "+" + count + " of a " + gpas.length + "-page GPADL");
        }
        long[] data = new long[count - 1];
        System.arraycopy(gpas, first + 1, data, 0, count - 1);
        return new Ring(memory, gpas[first], data);
    }
}
