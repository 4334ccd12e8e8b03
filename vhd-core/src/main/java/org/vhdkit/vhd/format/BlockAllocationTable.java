package org.vhdkit.vhd.format;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;

/**
 * The Block Allocation Table of a dynamic or differencing disk, held in memory: for each block the
 * sector offset of its bitmap in the file, or {@link #UNALLOCATED}.
 *
 * <p>On disk it is one big-endian u32 per block, padded with 0xFF to a whole sector (Windows pads
 * it to 4 KiB). In memory it costs four bytes a block: 4 MiB for the largest disk, 2040 GiB in
 * 2 MiB blocks.
 *
 * <p>Thread-safety: safe for any number of threads. {@link #set} publishes an entry with release
 * semantics and {@link #sector} reads with acquire semantics, so a reader that sees a new entry
 * also sees every write the allocating thread made before setting it (the block's bitmap and data).
 */
public final class BlockAllocationTable {
    /** The entry of a block that is not allocated. */
    public static final int UNALLOCATED = 0xFFFFFFFF;

    private static final VarHandle ENTRY = MethodHandles.arrayElementVarHandle(int[].class);

    private final int[] entries;

    /** A table of {@code count} blocks, none allocated. */
    public BlockAllocationTable(int count) {
        if (count < 0) {
            throw new IllegalArgumentException("negative block count " + count);
        }
        entries = new int[count];
        Arrays.fill(entries, UNALLOCATED);
    }

    private BlockAllocationTable(int[] entries) {
        this.entries = entries;
    }

    /** Decodes {@code count} big-endian entries from {@code bytes}. */
    public static BlockAllocationTable decode(byte[] bytes, int count) {
        if (bytes.length < (long) count * 4) {
            throw new IllegalArgumentException(bytes.length + " bytes cannot hold " + count + " entries");
        }
        int[] entries = new int[count];
        for (int i = 0; i < count; i++) {
            int at = i * 4;
            entries[i] = (bytes[at] & 0xFF) << 24 | (bytes[at + 1] & 0xFF) << 16
                    | (bytes[at + 2] & 0xFF) << 8 | bytes[at + 3] & 0xFF;
        }
        return new BlockAllocationTable(entries);
    }

    /** The number of blocks. */
    public int size() {
        return entries.length;
    }

    /** The raw entry of {@code block} as stored ({@link #UNALLOCATED} or a sector offset). */
    public int entry(int block) {
        return (int) ENTRY.getAcquire(entries, block);
    }

    /** The sector offset of the bitmap of {@code block}, or -1 when the block is not allocated. */
    public long sector(int block) {
        int entry = (int) ENTRY.getAcquire(entries, block);
        return entry == UNALLOCATED ? -1 : Integer.toUnsignedLong(entry);
    }

    /** Whether {@code block} is allocated. */
    public boolean isAllocated(int block) {
        return (int) ENTRY.getAcquire(entries, block) != UNALLOCATED;
    }

    /** Points {@code block} at the bitmap at {@code sector}, or frees it with -1. */
    public void set(int block, long sector) {
        if (sector < -1 || sector >= UNALLOCATED_SECTOR) {
            throw new IllegalArgumentException("sector " + sector + " cannot be stored in a BAT entry");
        }
        ENTRY.setRelease(entries, block, sector == -1 ? UNALLOCATED : (int) sector);
    }

    private static final long UNALLOCATED_SECTOR = 0xFFFFFFFFL;

    /** How many blocks are allocated. */
    public int allocatedCount() {
        int count = 0;
        for (int i = 0; i < entries.length; i++) {
            if (entry(i) != UNALLOCATED) {
                count++;
            }
        }
        return count;
    }

    /** The table as stored: big-endian entries, then 0xFF up to {@code length} bytes. */
    public byte[] encode(int length) {
        if (length < (long) entries.length * 4) {
            throw new IllegalArgumentException(length + " bytes cannot hold " + entries.length + " entries");
        }
        byte[] bytes = new byte[length];
        Arrays.fill(bytes, (byte) 0xFF);
        for (int i = 0; i < entries.length; i++) {
            encodeEntry(entry(i), bytes, i * 4);
        }
        return bytes;
    }

    /** The four stored bytes of {@code block}'s entry. */
    public byte[] encodeEntry(int block) {
        byte[] bytes = new byte[4];
        encodeEntry(entry(block), bytes, 0);
        return bytes;
    }

    private static void encodeEntry(int entry, byte[] bytes, int at) {
        bytes[at] = (byte) (entry >>> 24);
        bytes[at + 1] = (byte) (entry >>> 16);
        bytes[at + 2] = (byte) (entry >>> 8);
        bytes[at + 3] = (byte) entry;
    }
}
