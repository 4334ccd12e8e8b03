package org.vhdkit.stack.protocol.vhostuser;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.vhdkit.stack.protocol.ProtocolException;

/**
 * The payload of SET_MEM_TABLE: {@code u32 nregions, u32 padding}, then per region
 * {@code u64 guest_phys_addr, u64 memory_size, u64 userspace_addr, u64 mmap_offset}; one file
 * descriptor per region comes with the message. Thread-safety: immutable.
 */
public record MemoryTable(List<Region> regions) {
    /** The most regions the message carries. */
    public static final int MAX_REGIONS = VhostUser.MAX_FDS;
    static final int REGION_LENGTH = 32;

    /**
     * One region of guest memory: {@code size} bytes at guest physical address {@code guestAddress},
     * at {@code userAddress} in the front-end's address space (what ring addresses are given in),
     * held at {@code mmapOffset} of the region's file.
     */
    public record Region(long guestAddress, long size, long userAddress, long mmapOffset) {
    }

    public MemoryTable {
        regions = List.copyOf(regions);
    }

    /**
     * Reads the payload of {@code header}'s message from {@code payload}, checking each region:
     * non-empty, not wrapping around in either address space, not overlapping another in guest
     * physical addresses, and one descriptor each ({@code fdCount} came with the message).
     *
     * @throws ProtocolException naming the region and field
     */
    public static MemoryTable decode(MessageHeader header, MemorySegment payload, int fdCount)
            throws ProtocolException {
        header.requireSize(8);
        int n = payload.get(MessageHeader.U32, 0);
        if (n < 1 || n > MAX_REGIONS) {
            throw refused(0, "nregions", Integer.toUnsignedString(n) + "; 1 to " + MAX_REGIONS);
        }
        header.requireSize(8 + n * REGION_LENGTH);
        if (fdCount != n) {
            throw refused(0, "nregions", n + " regions came with " + fdCount + " file descriptors");
        }
        List<Region> regions = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            long at = 8L + (long) i * REGION_LENGTH;
            Region r = new Region(payload.get(MessageHeader.U64, at), payload.get(MessageHeader.U64, at + 8),
                    payload.get(MessageHeader.U64, at + 16), payload.get(MessageHeader.U64, at + 24));
            String field = "region " + i;
            if (r.size() <= 0) {
                throw refused(at + 8, field + " memory_size", Long.toUnsignedString(r.size()) + " bytes");
            }
            if (r.guestAddress() + r.size() - 1 < r.guestAddress() || r.guestAddress() < 0
                    || r.guestAddress() + r.size() < 0) {
                throw refused(at, field + " guest_phys_addr", "0x" + Long.toHexString(r.guestAddress())
                        + " + 0x" + Long.toHexString(r.size()) + " wraps around");
            }
            if (Long.compareUnsigned(r.userAddress() + r.size() - 1, r.userAddress()) < 0) {
                throw refused(at + 16, field + " userspace_addr", "0x" + Long.toHexString(r.userAddress())
                        + " + 0x" + Long.toHexString(r.size()) + " wraps around");
            }
            if (r.mmapOffset() < 0 || r.mmapOffset() + r.size() < 0) {
                throw refused(at + 24, field + " mmap_offset", "0x" + Long.toHexString(r.mmapOffset()));
            }
            for (Region o : regions) {
                if (r.guestAddress() < o.guestAddress() + o.size() && o.guestAddress() < r.guestAddress() + r.size()) {
                    throw refused(at, field + " guest_phys_addr", "0x" + Long.toHexString(r.guestAddress())
                            + " overlaps the region at 0x" + Long.toHexString(o.guestAddress()));
                }
            }
            regions.add(r);
        }
        return new MemoryTable(regions);
    }

    /** Writes the payload into {@code dst} (for a front-end); returns its length. */
    public int encode(MemorySegment dst) {
        dst.set(MessageHeader.U32, 0, regions.size());
        dst.set(MessageHeader.U32, 4, 0);
        for (int i = 0; i < regions.size(); i++) {
            long at = 8L + (long) i * REGION_LENGTH;
            Region r = regions.get(i);
            dst.set(MessageHeader.U64, at, r.guestAddress());
            dst.set(MessageHeader.U64, at + 8, r.size());
            dst.set(MessageHeader.U64, at + 16, r.userAddress());
            dst.set(MessageHeader.U64, at + 24, r.mmapOffset());
        }
        return 8 + regions.size() * REGION_LENGTH;
    }

    private static ProtocolException refused(long offset, String field, String problem) {
        return new ProtocolException(VhostUser.PROTOCOL, "SET_MEM_TABLE " + field, MessageHeader.LENGTH + offset,
                problem);
    }
}
