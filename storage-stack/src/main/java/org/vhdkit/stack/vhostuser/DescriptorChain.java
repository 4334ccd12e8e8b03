package org.vhdkit.stack.vhostuser;

import java.lang.foreign.MemorySegment;
import org.vhdkit.stack.scsi.ScsiCommand;

/**
 * One descriptor chain taken from a split ring, as the byte ranges it names in the guest memory
 * window: first the device-readable part, then the device-writable part, each a list of
 * (window offset, length) ranges in order, a descriptor that crosses regions split into one range
 * per region. Filled by {@link SplitRing#take}; reused for every chain of a queue, so a request
 * allocates nothing.
 *
 * <p>Thread-safety: none; it belongs to its queue's worker.
 */
final class DescriptorChain {
    /** The most ranges one chain may name, readable and writable each. */
    static final int MAX_RANGES = 1024;

    private final long[] readable = new long[2 * MAX_RANGES];
    private final long[] writable = new long[2 * MAX_RANGES];
    /** The guest physical address of each writable range, for the dirty-page log. */
    private final long[] writableGuest = new long[MAX_RANGES];
    int readableCount;
    int writableCount;
    long readableLength;
    long writableLength;
    /** The head descriptor's index: the id the used ring gets. */
    int head;
    private MemorySegment window = MemorySegment.NULL;

    void reset(MemorySegment memory, int headIndex) {
        window = memory;
        head = headIndex;
        readableCount = 0;
        writableCount = 0;
        readableLength = 0;
        writableLength = 0;
    }

    /** The guest memory window the ranges are offsets of. */
    MemorySegment window() {
        return window;
    }

    /** Appends a range; false when the chain holds no more. */
    boolean add(boolean deviceWritable, long offset, long length, long guestAddress) {
        if (length == 0) {
            return true;
        }
        if (deviceWritable) {
            if (writableCount == MAX_RANGES) {
                return false;
            }
            writableGuest[writableCount] = guestAddress;
            writable[2 * writableCount] = offset;
            writable[2 * writableCount++ + 1] = length;
            writableLength += length;
        } else {
            if (readableCount == MAX_RANGES) {
                return false;
            }
            readable[2 * readableCount] = offset;
            readable[2 * readableCount++ + 1] = length;
            readableLength += length;
        }
        return true;
    }

    /** The window offset of range {@code i} of the writable (or readable) part. */
    long rangeOffset(boolean deviceWritable, int i) {
        return (deviceWritable ? writable : readable)[2 * i];
    }

    /** The length of range {@code i} of the writable (or readable) part. */
    long rangeLength(boolean deviceWritable, int i) {
        return (deviceWritable ? writable : readable)[2 * i + 1];
    }

    /** Marks every page of the writable part dirty in {@code log}: the device may have written any of it. */
    void markWritable(DirtyLog log) {
        for (int i = 0; i < writableCount; i++) {
            log.mark(writableGuest[i], writable[2 * i + 1]);
        }
    }

    /** Copies {@code length} bytes of the readable part from {@code from} into {@code dst} at 0 (the caller checked the length). */
    void read(long from, MemorySegment dst, long length) {
        move(readable, readableCount, from, dst, length, false);
    }

    /** Copies {@code length} bytes of {@code src} from 0 into the writable part at {@code from}. */
    void write(long from, MemorySegment src, long length) {
        move(writable, writableCount, from, src, length, true);
    }

    private void move(long[] ranges, int count, long from, MemorySegment other, long length, boolean toGuest) {
        long done = 0;
        long skip = from;
        for (int i = 0; i < count && done < length; i++) {
            long len = ranges[2 * i + 1];
            if (skip >= len) {
                skip -= len;
                continue;
            }
            long n = Math.min(len - skip, length - done);
            if (toGuest) {
                MemorySegment.copy(other, done, window, ranges[2 * i] + skip, n);
            } else {
                MemorySegment.copy(window, ranges[2 * i] + skip, other, done, n);
            }
            done += n;
            skip = 0;
        }
    }

    /**
     * Adds the readable (or writable) part after its first {@code skip} bytes to {@code command} as
     * data ranges; false when the command holds too few ranges.
     */
    boolean addData(ScsiCommand command, boolean deviceWritable, long skip) {
        long[] ranges = deviceWritable ? writable : readable;
        int count = deviceWritable ? writableCount : readableCount;
        int needed = 0;
        long left = skip;
        for (int i = 0; i < count; i++) {
            long len = ranges[2 * i + 1];
            if (left >= len) {
                left -= len;
            } else {
                needed++;
                left = 0;
            }
        }
        if (needed > command.maxRanges()) {
            return false;
        }
        left = skip;
        for (int i = 0; i < count; i++) {
            long len = ranges[2 * i + 1];
            if (left >= len) {
                left -= len;
                continue;
            }
            command.addRange(ranges[2 * i] + left, len - left);
            left = 0;
        }
        return true;
    }
}
