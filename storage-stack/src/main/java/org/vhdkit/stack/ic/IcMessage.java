package org.vhdkit.stack.ic;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.charset.CharsetEncoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The integration-service message layout, modelled on Hyper-V's (Linux {@code hyperv.h}: the
 * {@code vmbuspipe_hdr}, {@code icmsg_hdr}, {@code icmsg_negotiate} and {@code shutdown_msg_data}).
 * Every message is one VMBus in-band packet; the parent sends requests, the guest answers each with
 * an in-band packet carrying the same header, its flags turned to a response and a status set. All
 * fields little-endian:
 *
 * <pre>
 * offset size  field
 *  0      4    pipe flags: 0
 *  4      4    pipe size: bytes after the pipe header (20 + payload size)
 *  8      2    framework version major (3)       } the "icverframe"
 * 10      2    framework version minor (0)       }
 * 12      2    message type: 0 negotiate, 3 shutdown
 * 14      2    message version major             } the "icvermsg"; in a negotiate message the
 * 16      2    message version minor             } framework's (3.0)
 * 18      2    payload size in bytes
 * 20      4    status: 0 S_OK (accepted), 0x80004005 E_FAIL (refused, or no common version)
 * 24      1    transaction id (the parent's counter, echoed by the answer)
 * 25      1    flags: 1 TRANSACTION | 2 REQUEST (parent) or 1 TRANSACTION | 4 RESPONSE (guest)
 * 26      2    reserved: 0
 * 28      ...  payload
 *
 * negotiate payload (the parent lists what it supports, best first; the guest answers with one each):
 * 28      2    framework version count
 * 30      2    message version count
 * 32      4    reserved: 0
 * 36      4*n  versions, each {u16 major, u16 minor}: the framework versions, then the message versions
 *
 * shutdown payload (the parent's request; the guest's answer carries none, or the same layout with
 * its reason for refusing in the message):
 * 28      4    reason code (0: the host asked)
 * 32      4    timeout in seconds the host waits for the answer and the power off
 * 36      4    flags: 1 force, 2 restart (the parent sends neither; a guest may ignore them)
 * 40   2048    message: UTF-8, NUL-padded
 * </pre>
 *
 * VMBus pads a packet to 8 bytes, so the pipe size, not the packet, says where a message ends.
 *
 * <p>Thread-safety: constants and static functions only.
 */
public final class IcMessage {
    public static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public static final int PIPE_HEADER = 8;
    public static final int HEADER = 28;

    public static final int PIPE_FLAGS = 0;
    public static final int PIPE_SIZE = 4;
    public static final int FRAME_MAJOR = 8;
    public static final int FRAME_MINOR = 10;
    public static final int TYPE = 12;
    public static final int MESSAGE_MAJOR = 14;
    public static final int MESSAGE_MINOR = 16;
    public static final int PAYLOAD_SIZE = 18;
    public static final int STATUS = 20;
    public static final int TRANSACTION = 24;
    public static final int FLAGS = 25;
    public static final int RESERVED = 26;

    public static final int TYPE_NEGOTIATE = 0;
    public static final int TYPE_SHUTDOWN = 3;

    public static final int FLAG_TRANSACTION = 1;
    public static final int FLAG_REQUEST = 2;
    public static final int FLAG_RESPONSE = 4;

    public static final int S_OK = 0;
    public static final int E_FAIL = 0x80004005;

    /** A version as the wire holds it: major in the high 16 bits. */
    public static final int FRAMEWORK_3_0 = version(3, 0);
    public static final int SHUTDOWN_3_0 = version(3, 0);
    public static final int SHUTDOWN_1_0 = version(1, 0);
    /** The framework versions both sides support, best first. */
    public static final int[] FRAMEWORK_VERSIONS = {FRAMEWORK_3_0};
    /** The shutdown message versions both sides support, best first. */
    public static final int[] SHUTDOWN_VERSIONS = {SHUTDOWN_3_0, SHUTDOWN_1_0};

    public static final int NEGOTIATE_FRAME_COUNT = HEADER;
    public static final int NEGOTIATE_MESSAGE_COUNT = HEADER + 2;
    public static final int NEGOTIATE_VERSIONS = HEADER + 8;
    /** The most versions a negotiate message may list (each side). */
    public static final int MAX_VERSIONS = 16;

    public static final int SHUTDOWN_REASON = HEADER;
    public static final int SHUTDOWN_TIMEOUT = HEADER + 4;
    public static final int SHUTDOWN_FLAGS = HEADER + 8;
    public static final int SHUTDOWN_MESSAGE = HEADER + 12;
    public static final int MESSAGE_BYTES = 2048;
    public static final int SHUTDOWN_PAYLOAD = 12 + MESSAGE_BYTES;
    public static final int SHUTDOWN_FLAG_FORCE = 1;
    public static final int SHUTDOWN_FLAG_RESTART = 2;

    /** The longest message either side sends (a shutdown request), rounded up to 8. */
    public static final int MAX_MESSAGE = (HEADER + SHUTDOWN_PAYLOAD + 7) & ~7;

    private IcMessage() {
    }

    public static int version(int major, int minor) {
        return major << 16 | minor;
    }

    public static String describe(int version) {
        return (version >>> 16) + "." + (version & 0xFFFF);
    }

    /** Writes the pipe and message headers for a payload of {@code payloadSize} bytes; returns the message length. */
    public static int header(MemorySegment m, int frame, int type, int messageVersion, int payloadSize, int status,
            int transaction, int flags) {
        m.set(INT, PIPE_FLAGS, 0);
        m.set(INT, PIPE_SIZE, HEADER - PIPE_HEADER + payloadSize);
        m.set(SHORT, FRAME_MAJOR, (short) (frame >>> 16));
        m.set(SHORT, FRAME_MINOR, (short) frame);
        m.set(SHORT, TYPE, (short) type);
        m.set(SHORT, MESSAGE_MAJOR, (short) (messageVersion >>> 16));
        m.set(SHORT, MESSAGE_MINOR, (short) messageVersion);
        m.set(SHORT, PAYLOAD_SIZE, (short) payloadSize);
        m.set(INT, STATUS, status);
        m.set(ValueLayout.JAVA_BYTE, TRANSACTION, (byte) transaction);
        m.set(ValueLayout.JAVA_BYTE, FLAGS, (byte) flags);
        m.set(SHORT, RESERVED, (short) 0);
        return HEADER + payloadSize;
    }

    /** Writes a negotiate payload listing {@code frames} then {@code messages}; returns the payload size. */
    public static int negotiate(MemorySegment m, int[] frames, int[] messages) {
        m.set(SHORT, NEGOTIATE_FRAME_COUNT, (short) frames.length);
        m.set(SHORT, NEGOTIATE_MESSAGE_COUNT, (short) messages.length);
        m.set(INT, HEADER + 4, 0);
        int at = NEGOTIATE_VERSIONS;
        for (int[] list : new int[][] {frames, messages}) {
            for (int v : list) {
                m.set(SHORT, at, (short) (v >>> 16));
                m.set(SHORT, at + 2, (short) v);
                at += 4;
            }
        }
        return at - HEADER;
    }

    /** Writes a shutdown payload; {@code text} is cut to fit at a character boundary. Returns the payload size. */
    public static int shutdown(MemorySegment m, int reason, int timeoutSeconds, int flags, String text) {
        m.set(INT, SHUTDOWN_REASON, reason);
        m.set(INT, SHUTDOWN_TIMEOUT, timeoutSeconds);
        m.set(INT, SHUTDOWN_FLAGS, flags);
        byte[] bytes = encode(text);
        m.asSlice(SHUTDOWN_MESSAGE, MESSAGE_BYTES).fill((byte) 0);
        MemorySegment.copy(MemorySegment.ofArray(bytes), 0, m, SHUTDOWN_MESSAGE, bytes.length);
        return SHUTDOWN_PAYLOAD;
    }

    /** {@code text} as UTF-8, at most {@link #MESSAGE_BYTES} - 1 bytes (so a NUL always ends it), cut between characters. */
    public static byte[] encode(String text) {
        CharsetEncoder encoder = StandardCharsets.UTF_8.newEncoder()
                .onMalformedInput(CodingErrorAction.REPLACE).onUnmappableCharacter(CodingErrorAction.REPLACE);
        ByteBuffer out = ByteBuffer.allocate(MESSAGE_BYTES - 1);
        encoder.encode(CharBuffer.wrap(text == null ? "" : text), out, true); // stops between characters when full
        return Arrays.copyOf(out.array(), out.position());
    }

    /**
     * The message text of {@code bytes}: up to the first NUL, malformed UTF-8 replaced, control
     * characters shown as '?', at most {@code maxChars} characters (untrusted text for logs and
     * exception messages).
     */
    public static String decode(byte[] bytes, int maxChars) {
        int end = 0;
        while (end < bytes.length && bytes[end] != 0) {
            end++;
        }
        String s = new String(bytes, 0, end, StandardCharsets.UTF_8);
        StringBuilder b = new StringBuilder(Math.min(s.length(), maxChars));
        for (int i = 0; i < s.length() && b.length() < maxChars; i++) {
            char c = s.charAt(i);
            b.append(Character.isISOControl(c) ? '?' : c);
        }
        if (b.length() == maxChars && s.length() > maxChars) {
            b.append("...");
        }
        return b.toString();
    }
}
