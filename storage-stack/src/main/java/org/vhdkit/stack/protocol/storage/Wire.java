package org.vhdkit.stack.protocol.storage;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.vhdkit.stack.protocol.ProtocolException;

/** The little-endian layouts and length checks the storage codecs share. Constants and static functions only. */
final class Wire {
    static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final String PROTOCOL = "storage protocol";

    private Wire() {
    }

    /** Refuses a message of {@code available} bytes from {@code offset} of {@code segment} shorter than {@code length}. */
    static void require(MemorySegment segment, long offset, long available, int length, String what)
            throws ProtocolException {
        if (offset < 0 || available < 0 || offset + available > segment.byteSize()) {
            throw new IllegalArgumentException(available + " bytes at offset " + offset + " of a segment of "
                    + segment.byteSize());
        }
        if (available < length) {
            throw new ProtocolException(PROTOCOL, what, -1, available + " bytes; it takes " + length);
        }
    }

    static int u8(MemorySegment s, long at) {
        return Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, at));
    }

    static int u16(MemorySegment s, long at) {
        return Short.toUnsignedInt(s.get(SHORT, at));
    }
}
