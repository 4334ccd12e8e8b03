package org.vhdkit.stack.protocol.ic;

import static org.vhdkit.stack.protocol.ic.IcMessage.*;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import org.vhdkit.stack.protocol.ProtocolException;

/**
 * The payload of a negotiate message: {u16 framework version count, u16 message version count, u32
 * reserved}, then the versions, each {u16 major, u16 minor}, the framework's first. The parent lists
 * what it supports, best first; the guest answers with one of each it chose (or none, with E_FAIL).
 *
 * <p>Immutable; safe to share between threads (the accessors return copies).
 *
 * @param frameworkVersions the framework versions, each {@link IcMessage#version major << 16 | minor}
 * @param messageVersions   the message versions
 */
public record Negotiate(int[] frameworkVersions, int[] messageVersions) {
    /** The fixed part of the payload, before the versions. */
    public static final int FIXED_LENGTH = 8;

    public Negotiate {
        frameworkVersions = frameworkVersions.clone();
        messageVersions = messageVersions.clone();
        if (frameworkVersions.length > MAX_VERSIONS || messageVersions.length > MAX_VERSIONS) {
            throw new IllegalArgumentException("at most " + MAX_VERSIONS + " versions each");
        }
    }

    @Override
    public int[] frameworkVersions() {
        return frameworkVersions.clone();
    }

    @Override
    public int[] messageVersions() {
        return messageVersions.clone();
    }

    /** The payload's size in bytes. Thread-safe. */
    public int size() {
        return FIXED_LENGTH + 4 * (frameworkVersions.length + messageVersions.length);
    }

    /**
     * The negotiate payload of {@code payloadSize} bytes after the headers in {@code segment}.
     * Refuses a payload shorter than its fixed part, more than {@link IcMessage#MAX_VERSIONS}
     * versions of either kind, and counts whose versions do not fit the payload. Thread-safe.
     *
     * @throws ProtocolException when the bytes are not such a payload
     */
    public static Negotiate decode(MemorySegment segment, int payloadSize) throws ProtocolException {
        if (payloadSize < FIXED_LENGTH || HEADER + payloadSize > segment.byteSize()) {
            throw new ProtocolException(PROTOCOL, "negotiate payload", HEADER,
                    "a negotiation of " + payloadSize + " bytes");
        }
        int frames = Short.toUnsignedInt(segment.get(SHORT, NEGOTIATE_FRAME_COUNT));
        int messages = Short.toUnsignedInt(segment.get(SHORT, NEGOTIATE_MESSAGE_COUNT));
        if (frames > MAX_VERSIONS || messages > MAX_VERSIONS || FIXED_LENGTH + 4 * (frames + messages) > payloadSize) {
            throw new ProtocolException(PROTOCOL, "negotiate version counts", NEGOTIATE_FRAME_COUNT,
                    "a negotiation of " + frames + " and " + messages + " versions in " + payloadSize + " bytes");
        }
        int[] all = new int[frames + messages];
        for (int i = 0; i < all.length; i++) {
            int at = NEGOTIATE_VERSIONS + 4 * i;
            all[i] = version(Short.toUnsignedInt(segment.get(SHORT, at)), Short.toUnsignedInt(segment.get(SHORT, at + 2)));
        }
        return new Negotiate(Arrays.copyOf(all, frames), Arrays.copyOfRange(all, frames, all.length));
    }

    /** Writes the payload after the headers in {@code segment}; returns its size. Thread-safe. */
    public int encode(MemorySegment segment) {
        segment.set(SHORT, NEGOTIATE_FRAME_COUNT, (short) frameworkVersions.length);
        segment.set(SHORT, NEGOTIATE_MESSAGE_COUNT, (short) messageVersions.length);
        segment.set(INT, HEADER + 4, 0);
        int at = NEGOTIATE_VERSIONS;
        for (int[] list : new int[][] {frameworkVersions, messageVersions}) {
            for (int v : list) {
                segment.set(SHORT, at, (short) (v >>> 16));
                segment.set(SHORT, at + 2, (short) v);
                at += 4;
            }
        }
        return at - HEADER;
    }

    /** The best of {@code supported} that {@code offered} lists; 0 if none. Thread-safe. */
    public static int choose(int[] supported, int[] offered) {
        for (int v : supported) {
            for (int o : offered) {
                if (o == v) {
                    return v;
                }
            }
        }
        return 0;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Negotiate n && Arrays.equals(frameworkVersions, n.frameworkVersions)
                && Arrays.equals(messageVersions, n.messageVersions);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(frameworkVersions) + Arrays.hashCode(messageVersions);
    }

    @Override
    public String toString() {
        return "Negotiate[frameworks " + Arrays.toString(Arrays.stream(frameworkVersions).mapToObj(IcMessage::describe)
                .toArray()) + ", messages " + Arrays.toString(Arrays.stream(messageVersions)
                .mapToObj(IcMessage::describe).toArray()) + "]";
    }
}
