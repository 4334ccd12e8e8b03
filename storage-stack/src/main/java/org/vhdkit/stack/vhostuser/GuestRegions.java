package org.vhdkit.stack.vhostuser;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.vhdkit.stack.protocol.vhostuser.MemoryTable;

/**
 * A guest's memory as the front-end handed it over (SET_MEM_TABLE): each region's descriptor mapped
 * shared, read-write, into one reserved stretch of address space, the {@link #window}, with an
 * inaccessible guard page after each region. Every guest physical address (a descriptor's) and
 * every front-end user address (a ring's) is translated here and bounds-checked against the
 * regions; nothing outside them is ever addressed, so the guard pages and the gaps are never
 * touched.
 *
 * <p>The window is one segment so that a {@link org.vhdkit.stack.scsi.ScsiCommand} can hold a
 * request's data ranges (in several regions) as offsets into it. Its bounds cover the gaps too: the
 * callers check with {@link #fromGuest} or {@link #fromUser} first.
 *
 * <p>Thread-safety: immutable after {@link #map}; {@link #close} (unmapping) only once no thread
 * uses it any more (the front-end stops every queue first).
 */
final class GuestRegions implements AutoCloseable {
    private final long base;
    private final long total;
    private final MemorySegment window;
    private final long[] guest;
    private final long[] user;
    private final long[] size;
    private final long[] offset;

    private GuestRegions(long base, long total, MemorySegment window, long[] guest, long[] user, long[] size,
                         long[] offset) {
        this.base = base;
        this.total = total;
        this.window = window;
        this.guest = guest;
        this.user = user;
        this.size = size;
        this.offset = offset;
    }

    /**
     * Maps each region of {@code table} from its descriptor in {@code fds} (the same order). The
     * descriptors stay the caller's to close (the mappings keep the memory).
     */
    @SuppressWarnings("restricted") // the window is given the size of the reservation it views
    static GuestRegions map(MemoryTable table, int[] fds) throws IOException {
        List<MemoryTable.Region> regions = table.regions();
        int n = regions.size();
        long[] slack = new long[n];
        long[] mapLength = new long[n];
        long total = 0;
        for (int i = 0; i < n; i++) {
            MemoryTable.Region r = regions.get(i);
            long file = LinuxCalls.fileSize(fds[i]);
            if (r.mmapOffset() + r.size() > file) {
                // Touching a mapping beyond the end of its file would kill the process with SIGBUS.
                throw new IOException("memory region " + i + " (0x" + Long.toHexString(r.size()) + " bytes at offset 0x"
                        + Long.toHexString(r.mmapOffset()) + ") runs past the end of its file (0x"
                        + Long.toHexString(file) + " bytes)");
            }
            slack[i] = r.mmapOffset() & (LinuxCalls.PAGE - 1);
            mapLength[i] = roundUp(slack[i] + r.size());
            total = Math.addExact(total, mapLength[i] + LinuxCalls.PAGE);
        }
        long base = LinuxCalls.reserve(total);
        long[] guest = new long[n];
        long[] user = new long[n];
        long[] size = new long[n];
        long[] offset = new long[n];
        long cursor = 0;
        try {
            for (int i = 0; i < n; i++) {
                MemoryTable.Region r = regions.get(i);
                LinuxCalls.mapFixed(base + cursor, mapLength[i], fds[i], r.mmapOffset() - slack[i]);
                guest[i] = r.guestAddress();
                user[i] = r.userAddress();
                size[i] = r.size();
                offset[i] = cursor + slack[i];
                cursor += mapLength[i] + LinuxCalls.PAGE;
            }
        } catch (IOException e) {
            LinuxCalls.unmap(base, total);
            throw e;
        }
        return new GuestRegions(base, total, MemorySegment.ofAddress(base).reinterpret(total), guest, user, size,
                offset);
    }

    private static long roundUp(long n) {
        return Math.addExact(n, LinuxCalls.PAGE - 1) & -LinuxCalls.PAGE;
    }

    /** The segment all translated offsets index. */
    MemorySegment window() {
        return window;
    }

    /**
     * The window offset of guest physical {@code [address, address + length)} when one region holds
     * all of it (the address itself must be inside a region, even for length 0), else -1.
     */
    long fromGuest(long address, long length) {
        int r = regionOf(address);
        return r >= 0 && length >= 0 && length <= guest[r] + size[r] - address ? offset[r] + (address - guest[r]) : -1;
    }

    /** As {@link #fromGuest}, for an address in the front-end's address space (a ring's). */
    long fromUser(long address, long length) {
        for (int r = 0; r < user.length; r++) {
            long into = address - user[r];
            if (Long.compareUnsigned(into, size[r]) < 0 && length >= 0 && length <= size[r] - into) {
                return offset[r] + into;
            }
        }
        return -1;
    }

    /** The region holding guest physical {@code address}, or -1. */
    int regionOf(long address) {
        for (int r = 0; r < guest.length; r++) {
            if (address - guest[r] >= 0 && address - guest[r] < size[r] && address >= guest[r]) {
                return r;
            }
        }
        return -1;
    }

    /** The bytes of region {@code r} from guest physical {@code address} (inside it) to its end. */
    long remaining(int r, long address) {
        return guest[r] + size[r] - address;
    }

    /** The window offset of guest physical {@code address} inside region {@code r}. */
    long offsetIn(int r, long address) {
        return offset[r] + (address - guest[r]);
    }

    /** Unmaps every region. Once. */
    @Override
    public void close() {
        LinuxCalls.unmap(base, total);
    }
}
