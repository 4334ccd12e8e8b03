package org.vhdkit.stack.protocol.storage;

import static org.vhdkit.stack.protocol.storage.Wire.SHORT;

import java.lang.foreign.MemorySegment;
import org.vhdkit.stack.protocol.ProtocolException;

/**
 * The union of QUERY_PROTOCOL_VERSION, request and answer: {u16 major << 8 | minor, u16 revision}.
 * The guest proposes a version; the parent echoes it with STATUS_SUCCESS or REVISION_MISMATCH.
 *
 * <p>Immutable; safe to share between threads.
 *
 * @param version  major << 8 | minor, any u16 (the parent judges it, the codec does not)
 * @param revision the revision, 0 from this project's guest
 */
public record ProtocolVersion(int version, int revision) {
    /** The union's length in bytes. */
    public static final int LENGTH = 4;

    private static final int VERSION = 0;
    private static final int REVISION = 2;

    public ProtocolVersion {
        if (version < 0 || version > 0xFFFF || revision < 0 || revision > 0xFFFF) {
            throw new IllegalArgumentException("version 0x" + Integer.toHexString(version) + " revision " + revision
                    + ": both are u16");
        }
    }

    /**
     * The union in the {@code available} bytes at {@code offset} of {@code segment}. Thread-safe.
     *
     * @throws ProtocolException when fewer than {@link #LENGTH} bytes are available
     */
    public static ProtocolVersion decode(MemorySegment segment, long offset, long available) throws ProtocolException {
        Wire.require(segment, offset, available, LENGTH, "QUERY_PROTOCOL_VERSION union");
        return new ProtocolVersion(Wire.u16(segment, offset + VERSION), Wire.u16(segment, offset + REVISION));
    }

    /** Writes the union's {@link #LENGTH} bytes at {@code offset} of {@code segment}. Thread-safe. */
    public void encode(MemorySegment segment, long offset) {
        segment.set(SHORT, offset + VERSION, (short) version);
        segment.set(SHORT, offset + REVISION, (short) revision);
    }

    /** "5.1" for 0x0501. Thread-safe. */
    @Override
    public String toString() {
        return StorageProtocol.describeVersion(version) + (revision == 0 ? "" : " revision " + revision);
    }
}
