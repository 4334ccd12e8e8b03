package org.vhdkit.stack.guest;

import java.util.Objects;
import org.vhdkit.stack.guest.storvsc.StorvscException;
import org.vhdkit.stack.memory.GuestMemory;
import org.vhdkit.stack.memory.GuestMemoryException;

/**
 * A guest's page allocator, as small as a driver needs: the guest program reserves a run of its
 * own physical memory for its drivers and hands it over here; ring pages and scratch pages are
 * taken from it in order, zeroed, and never given back (a driver keeps its rings for as long as the
 * guest runs). There is no general allocator in the partition: guest memory is the guest's to lay
 * out, and this is the part of the layout the storage driver owns.
 *
 * <p>After a save and resume the program builds a new allocator over the same region: the old
 * rings there belong to channels the parent no longer has, so their pages are free again.
 *
 * <p>Thread-safety: {@link #allocate} is synchronized on this allocator; any guest thread may call it.
 */
public final class GuestPages {
    private final GuestMemory memory;
    private final long base;
    private final long end;
    private long next; // guarded by this

    /**
     * An allocator over {@code [base, base + length)} of {@code memory}: page-aligned, inside the
     * memory.
     *
     * @throws IllegalArgumentException when the region is not page-aligned or not inside the memory
     */
    public GuestPages(GuestMemory memory, long base, long length) {
        this.memory = Objects.requireNonNull(memory, "memory");
        if (base < 0 || length <= 0 || (base & (GuestMemory.PAGE_SIZE - 1)) != 0
                || (length & (GuestMemory.PAGE_SIZE - 1)) != 0 || base > memory.size() - length) {
            throw new IllegalArgumentException("a page region of guest memory, not " + length + " bytes at 0x"
                    + Long.toHexString(base) + " of " + memory.size());
        }
        this.base = base;
        this.end = base + length;
        this.next = base;
    }

    /** The guest memory the pages are in. */
    public GuestMemory memory() {
        return memory;
    }

    /** Pages still free. */
    public synchronized long freePages() {
        return (end - next) >>> GuestMemory.PAGE_SHIFT;
    }

    /**
     * {@code count} zeroed, physically contiguous pages; returns the guest physical address of the
     * first.
     *
     * @throws StorvscException when the region has fewer pages left
     */
    public synchronized long allocate(int count) throws StorvscException {
        if (count < 1) {
            throw new IllegalArgumentException("allocate at least one page, not " + count);
        }
        long bytes = (long) count << GuestMemory.PAGE_SHIFT;
        if (end - next < bytes) {
            throw new StorvscException("the driver's " + ((end - base) >>> GuestMemory.PAGE_SHIFT)
                    + "-page region at 0x" + Long.toHexString(base) + " has " + ((end - next) >>> GuestMemory.PAGE_SHIFT)
                    + " pages left, not " + count);
        }
        long gpa = next;
        next += bytes;
        try {
            for (long at = gpa; at < gpa + bytes; at += 8) {
                memory.setLong(at, 0);
            }
        } catch (GuestMemoryException e) {
            throw new AssertionError("a checked region is outside guest memory", e);
        }
        return gpa;
    }

    /** The page frame numbers of {@code count} pages from {@code gpa}. */
    public static long[] frames(long gpa, int count) {
        long[] pfns = new long[count];
        for (int i = 0; i < count; i++) {
            pfns[i] = (gpa >>> GuestMemory.PAGE_SHIFT) + i;
        }
        return pfns;
    }
}
