package org.vhdkit.stack.protocol.ic;

import static org.vhdkit.stack.protocol.ic.IcMessage.*;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.vhdkit.stack.protocol.ProtocolException;

/**
 * The pipe and message headers every integration-service message starts with (28 bytes, see
 * {@link IcMessage}): the framework version, the message type and version, the payload size, the
 * status, the transaction and the request/response flags. The pipe header's two words are not
 * fields of the record: {@link #encode} writes them (flags 0, size 20 + payload size) and
 * {@link #decode} checks them when asked to.
 *
 * <p>Immutable; safe to share between threads.
 *
 * @param frameworkVersion the framework version, {@link IcMessage#version major << 16 | minor}
 * @param type             {@link IcMessage#TYPE_NEGOTIATE}, {@link IcMessage#TYPE_SHUTDOWN} or what a peer sent
 * @param messageVersion   the message version (in a negotiate message, the framework's)
 * @param payloadSize      the payload's size in bytes (u16)
 * @param status           {@link IcMessage#S_OK}, {@link IcMessage#E_FAIL} or what a peer sent
 * @param transaction      the transaction (u8), echoed by the answer
 * @param flags            {@link IcMessage#REQUEST} or {@link IcMessage#RESPONSE} (u8)
 */
public record IcHeader(int frameworkVersion, int type, int messageVersion, int payloadSize, int status,
        int transaction, int flags) {
    /** The headers' length in bytes: where the payload starts. */
    public static final int LENGTH = HEADER;

    public IcHeader {
        if (type < 0 || type > 0xFFFF || payloadSize < 0 || payloadSize > 0xFFFF) {
            throw new IllegalArgumentException("type " + type + " and payload size " + payloadSize + " are u16");
        }
        if (transaction < 0 || transaction > 0xFF || flags < 0 || flags > 0xFF) {
            throw new IllegalArgumentException("transaction " + transaction + " and flags " + flags + " are u8");
        }
    }

    /**
     * The headers of the message in the first {@code available} bytes of {@code segment}. Refuses a
     * message shorter than its headers or than the payload size it gives; with {@code checkPipe}
     * also pipe flags other than 0 and a pipe size other than 20 + the payload size. Thread-safe.
     *
     * @throws ProtocolException when the bytes are not such a message; the message names the field
     */
    public static IcHeader decode(MemorySegment segment, long available, boolean checkPipe) throws ProtocolException {
        if (available < 0 || available > segment.byteSize()) {
            throw new IllegalArgumentException(available + " bytes of a segment of " + segment.byteSize());
        }
        if (available < HEADER) {
            throw new ProtocolException(PROTOCOL, "header", -1,
                    "a message of " + available + " bytes, shorter than its " + HEADER + "-byte header");
        }
        int pipeFlags = segment.get(INT, PIPE_FLAGS);
        int pipeSize = segment.get(INT, PIPE_SIZE);
        int payloadSize = Short.toUnsignedInt(segment.get(SHORT, PAYLOAD_SIZE));
        if (checkPipe && (pipeFlags != 0 || pipeSize != HEADER - PIPE_HEADER + payloadSize
                || HEADER + payloadSize > available)) {
            throw new ProtocolException(PROTOCOL, "pipe header", PIPE_FLAGS, String.format(
                    "pipe flags 0x%x and size %d for a %d-byte payload in %d bytes", pipeFlags, pipeSize, payloadSize,
                    available));
        }
        if (HEADER + payloadSize > available) {
            throw new ProtocolException(PROTOCOL, "payload size", PAYLOAD_SIZE, String.format(
                    "a %d-byte payload in a %d-byte message (pipe flags 0x%x, size %d)", payloadSize, available,
                    pipeFlags, pipeSize));
        }
        return new IcHeader(version(u16(segment, FRAME_MAJOR), u16(segment, FRAME_MINOR)), u16(segment, TYPE),
                version(u16(segment, MESSAGE_MAJOR), u16(segment, MESSAGE_MINOR)), payloadSize,
                segment.get(INT, STATUS), Byte.toUnsignedInt(segment.get(ValueLayout.JAVA_BYTE, TRANSACTION)),
                Byte.toUnsignedInt(segment.get(ValueLayout.JAVA_BYTE, FLAGS)));
    }

    private static int u16(MemorySegment s, long at) {
        return Short.toUnsignedInt(s.get(SHORT, at));
    }

    /** Writes the {@link #LENGTH} bytes of the headers at the start of {@code segment}; returns the message's length. Thread-safe. */
    public int encode(MemorySegment segment) {
        segment.set(INT, PIPE_FLAGS, 0);
        segment.set(INT, PIPE_SIZE, HEADER - PIPE_HEADER + payloadSize);
        segment.set(SHORT, FRAME_MAJOR, (short) (frameworkVersion >>> 16));
        segment.set(SHORT, FRAME_MINOR, (short) frameworkVersion);
        segment.set(SHORT, TYPE, (short) type);
        segment.set(SHORT, MESSAGE_MAJOR, (short) (messageVersion >>> 16));
        segment.set(SHORT, MESSAGE_MINOR, (short) messageVersion);
        segment.set(SHORT, PAYLOAD_SIZE, (short) payloadSize);
        segment.set(INT, STATUS, status);
        segment.set(ValueLayout.JAVA_BYTE, TRANSACTION, (byte) transaction);
        segment.set(ValueLayout.JAVA_BYTE, FLAGS, (byte) flags);
        segment.set(SHORT, RESERVED, (short) 0);
        return HEADER + payloadSize;
    }
}
