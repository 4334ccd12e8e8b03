package org.vhdkit.stack.protocol.vhostuser;

import java.lang.foreign.MemorySegment;
import org.vhdkit.stack.protocol.ProtocolException;

/**
 * The payload of SET_LOG_BASE: {@code u64 mmap_size, u64 mmap_offset}; the dirty-page log's file
 * descriptor comes with the message. The log is a bitmap with one bit per 4 KiB page of guest
 * physical memory (bit {@code page % 8} of byte {@code page / 8}) from {@code mmap_offset} of the
 * file, {@code mmap_size} bytes long. Thread-safety: immutable.
 */
public record LogBase(long size, long offset) {
    /** The payload's length. */
    public static final int LENGTH = 16;
    /** The guest memory each bit of the log stands for. */
    public static final long PAGE = 4096;

    /** Reads the payload of {@code header}'s message, refusing a size of 0 or one that wraps with the offset. */
    public static LogBase decode(MessageHeader header, MemorySegment payload) throws ProtocolException {
        header.requireSize(LENGTH);
        LogBase b = new LogBase(payload.get(MessageHeader.U64, 0), payload.get(MessageHeader.U64, 8));
        if (b.size <= 0 || b.offset < 0 || b.offset + b.size < 0) {
            throw new ProtocolException(VhostUser.PROTOCOL, header.name() + " mmap_size and mmap_offset",
                    MessageHeader.LENGTH, "0x" + Long.toHexString(b.size) + " bytes at 0x" + Long.toHexString(b.offset));
        }
        return b;
    }

    /** Writes the payload; returns its length. */
    public int encode(MemorySegment dst) {
        dst.set(MessageHeader.U64, 0, size);
        dst.set(MessageHeader.U64, 8, offset);
        return LENGTH;
    }
}
