package org.vhdkit.stack.protocol.ic;

import static org.vhdkit.stack.protocol.ic.IcMessage.*;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetEncoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;
import org.vhdkit.stack.protocol.ProtocolException;

/**
 * The payload of a shutdown message: {u32 reason code, u32 time-out in seconds, u32 flags}, then a
 * 2048-byte NUL-padded UTF-8 message. The parent's request carries it; the guest's answer carries
 * none or the same layout with its reason for refusing in the message.
 *
 * <p>Immutable; safe to share between threads.
 *
 * @param reason         the reason code (0: the host asked)
 * @param timeoutSeconds how long the host waits for the answer and the power off
 * @param flags          {@link IcMessage#SHUTDOWN_FLAG_FORCE}, {@link IcMessage#SHUTDOWN_FLAG_RESTART}
 * @param message        the text; encoded cut to fit at a character boundary, decoded made safe to show
 */
public record ShutdownMessage(int reason, int timeoutSeconds, int flags, String message) {
    /** The payload's size in bytes. */
    public static final int LENGTH = SHUTDOWN_PAYLOAD;

    public ShutdownMessage {
        message = message == null ? "" : message;
    }

    /**
     * The shutdown payload after the headers in {@code segment}, of {@code payloadSize} bytes (at
     * least {@link #LENGTH}); the text up to its first NUL, made safe to show and cut to
     * {@code maxChars} characters (see {@link #text}). Thread-safe.
     *
     * @throws ProtocolException when the payload is shorter than {@link #LENGTH}
     */
    public static ShutdownMessage decode(MemorySegment segment, int payloadSize, int maxChars)
            throws ProtocolException {
        if (payloadSize < LENGTH || HEADER + LENGTH > segment.byteSize()) {
            throw new ProtocolException(PROTOCOL, "shutdown payload", HEADER,
                    payloadSize + " bytes; it takes " + LENGTH);
        }
        byte[] text = new byte[MESSAGE_BYTES];
        MemorySegment.copy(segment, SHUTDOWN_MESSAGE, MemorySegment.ofArray(text), 0, text.length);
        return new ShutdownMessage(segment.get(INT, SHUTDOWN_REASON), segment.get(INT, SHUTDOWN_TIMEOUT),
                segment.get(INT, SHUTDOWN_FLAGS), text(text, maxChars));
    }

    /** Writes the payload after the headers in {@code segment}; returns its size, {@link #LENGTH}. Thread-safe. */
    public int encode(MemorySegment segment) {
        segment.set(INT, SHUTDOWN_REASON, reason);
        segment.set(INT, SHUTDOWN_TIMEOUT, timeoutSeconds);
        segment.set(INT, SHUTDOWN_FLAGS, flags);
        byte[] bytes = textBytes(message);
        segment.asSlice(SHUTDOWN_MESSAGE, MESSAGE_BYTES).fill((byte) 0);
        MemorySegment.copy(MemorySegment.ofArray(bytes), 0, segment, SHUTDOWN_MESSAGE, bytes.length);
        return LENGTH;
    }

    /**
     * {@code text} as UTF-8, at most {@link IcMessage#MESSAGE_BYTES} - 1 bytes (so a NUL always ends
     * it), cut between characters. Thread-safe.
     */
    public static byte[] textBytes(String text) {
        CharsetEncoder encoder = StandardCharsets.UTF_8.newEncoder()
                .onMalformedInput(CodingErrorAction.REPLACE).onUnmappableCharacter(CodingErrorAction.REPLACE);
        ByteBuffer out = ByteBuffer.allocate(MESSAGE_BYTES - 1);
        encoder.encode(CharBuffer.wrap(text == null ? "" : text), out, true); // stops between characters when full
        return Arrays.copyOf(out.array(), out.position());
    }

    /**
     * The message text of {@code bytes}: up to the first NUL, malformed UTF-8 replaced, control
     * characters shown as '?', at most {@code maxChars} characters (untrusted text for logs and
     * exception messages). Thread-safe.
     */
    public static String text(byte[] bytes, int maxChars) {
        Objects.requireNonNull(bytes, "bytes");
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
